"""Reward functions for tests, loaded by `chatrlhf ppo --reward tests.rewards:NAME`."""


def letter_e(messages: list[dict], response: str) -> float:
    """Ten times the share of characters that are the letter e: dense, and easy for a tiny policy to raise."""
    return 10 * response.count("e") / max(1, len(response))
