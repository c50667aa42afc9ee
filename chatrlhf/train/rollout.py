"""The rollout engine every on-policy method shares: sample, score, per-token log-probabilities and KL.

One rollout is a batch of prompts with one sampled response each, laid out as a single (B, P + T)
tensor: the prompt left-padded to width P, the response right-padded to width T. Position ids count
real tokens only, so each row computes what it would alone. `logprobs[:, t]` is the log-probability of
response token t, read from the logits at position P - 1 + t, with the sampling temperature applied
exactly as the sampler applied it (docs/design.md section 6: a mismatch here shows up as a negative KL).
PPO, and later RLOO, GRPO and REINFORCE, differ only in what they make of a scored rollout.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from chatrlhf import sampling
from chatrlhf.config import UserError
from chatrlhf.model import RewardModel, check_tokenizer_matches, load_reward_model
from chatrlhf.sampling import joined, response_logprobs, sample
from chatrlhf.tokenizer import END, encode_chat, special_id


@dataclass
class Rollout:
    rows: list[dict]  # the prompt rows, as read
    texts: list[str]  # decoded responses, special tokens dropped
    ids: torch.Tensor  # (B, P + T) prompt (left-padded) then response (right-padded)
    attention_mask: torch.Tensor  # (B, P + T) 1 on real tokens
    position_ids: torch.Tensor  # (B, P + T) counts real tokens only
    mask: torch.Tensor  # (B, T) float, 1 on response tokens up to and including the end of turn
    finished: torch.Tensor  # (B,) True where the response ended with <|end|> within the limit
    prompt_width: int  # P

    @property
    def lengths(self) -> torch.Tensor:
        return self.mask.sum(-1)


def generate(policy, tok, rows: list[dict], max_new_tokens: int, temperature: float,
             generator: torch.Generator | None) -> Rollout:
    """One response per prompt row, sampled from the full distribution (no top-k or top-p)."""
    prompts = [encode_chat(tok, r["messages"], add_generation_prompt=True)[0] for r in rows]
    # Only <|end|> ends a turn: it is where the reward model was trained to score. An <|endoftext|> is one more
    # token of a response that has not ended (chat and plain completions also stop there; RL does not).
    s = sample(policy, prompts, max_new_tokens=max_new_tokens, stop_ids=[special_id(tok, END)], pad_id=tok.pad_token_id,
               temperature=temperature, generator=generator)
    ids, attention_mask, position_ids = joined(s)
    texts = [tok.decode(r, skip_special_tokens=True).strip() for r in s.responses()]
    return Rollout(rows, texts, ids, attention_mask, position_ids, s.mask.float(), s.finished, s.prompt_ids.size(1))


def response_logits(model, r: Rollout, temperature: float) -> torch.Tensor:
    """Logits (B, T, V) that predicted each response token, divided by the sampling temperature."""
    return sampling.response_logits(model, r.ids, r.attention_mask, r.position_ids, r.prompt_width, temperature)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of each next-token distribution (B, T)."""
    logp = F.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1)


def response_tokens(r: Rollout) -> torch.Tensor:
    return r.ids[:, r.prompt_width :]


def logprobs_of(model, r: Rollout, temperature: float, batch_size: int = 64) -> torch.Tensor:
    """Log-probabilities (B, T) of the rollout's response tokens under `model`, without gradients."""
    return response_logprobs(model, r.ids, r.attention_mask, r.position_ids, r.prompt_width, temperature,
                             batch_size) * r.mask


@torch.no_grad()
def values_of(value_model: RewardModel, r: Rollout, batch_size: int = 64) -> torch.Tensor:
    """Value estimates (B, T): V at the state before each response token is chosen."""
    out = [response_values(value_model, select(r, slice(i, i + batch_size))) for i in range(0, len(r.rows), batch_size)]
    return torch.cat(out) * r.mask


def response_values(value_model: RewardModel, r: Rollout) -> torch.Tensor:
    v = value_model.token_values(r.ids, r.attention_mask, r.position_ids)
    return v[:, r.prompt_width - 1 : -1].float()


def select(r: Rollout, which: slice | torch.Tensor) -> Rollout:
    """The rows `which` of a rollout (a slice or an index tensor)."""
    pick = which if isinstance(which, slice) else which.tolist()
    rows = r.rows[pick] if isinstance(pick, slice) else [r.rows[i] for i in pick]
    texts = r.texts[pick] if isinstance(pick, slice) else [r.texts[i] for i in pick]
    return Rollout(rows, texts, r.ids[which], r.attention_mask[which], r.position_ids[which], r.mask[which],
                   r.finished[which], r.prompt_width)


# ---- rewards: the learned RM, the world's gold judge, or any Python callable ------------------------------

RewardFn = Callable[[Rollout], torch.Tensor]


def sequences_for_rm(r: Rollout) -> list[list[int]]:
    """Each row's real tokens, prompt then response through its end of turn: what the RM was trained on."""
    return [row[m.bool()].tolist() for row, m in zip(r.ids, r.attention_mask, strict=True)]


def reward_scale(info: dict, normalize: bool) -> float:
    """What RL divides a reward model's scores by: the std of the demonstrations' scores saved with it (their
    mean is already 0, so nothing is subtracted); 1 without normalisation."""
    return float(info.get("score_std") or 1.0) if normalize else 1.0


def rm_reward(path: str | Path, tok, device, normalize: bool = True) -> tuple[RewardFn, RewardModel]:
    """Scores from a reward model trained by `chatrlhf reward`, read at the closing end-of-turn token and
    divided by `reward_scale`."""
    from chatrlhf.model import pad_right

    rm, info = load_reward_model(path)
    check_tokenizer_matches(rm.backbone, tok, path)
    rm.to(device).eval()
    scale = reward_scale(info, normalize)

    @torch.no_grad()
    def score(r: Rollout) -> torch.Tensor:
        seqs = sequences_for_rm(r)
        out = [rm(*pad_right(seqs[i : i + 64], tok.pad_token_id, device)) for i in range(0, len(seqs), 64)]
        return torch.cat(out).float().cpu() / scale

    return score, rm


def judge_reward(world: str | Path, center: float = 4.0) -> RewardFn:
    """The built-in world's gold judge as the reward (its 0..7 score minus `center`): RL with a perfect
    reward model, or (center 0) the gold score logged beside the learned one."""
    from chatrlhf.world.judge import index_world, judge

    idx = index_world(json.loads(Path(world).read_text()))

    def score(r: Rollout) -> torch.Tensor:
        return torch.tensor([judge(idx, row, text).score - center for row, text in zip(r.rows, r.texts, strict=True)])

    return score


def callable_reward(spec: str) -> RewardFn:
    """`module:function`, called as function(messages, response) -> float for each response."""
    module, _, name = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise UserError(f"--reward {spec}: cannot import {name} from {module}: {e}") from None

    def score(r: Rollout) -> torch.Tensor:
        return torch.tensor([float(fn(row["messages"], text)) for row, text in zip(r.rows, r.texts, strict=True)])

    return score


def with_no_eos_penalty(scores: torch.Tensor, finished: torch.Tensor, penalty: float) -> torch.Tensor:
    """A response cut off at the length limit gets a fixed score whatever the reward says (Huang et al.)."""
    return torch.where(finished, scores, torch.full_like(scores, penalty))


def kl_penalised_rewards(
    scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards (B, T) of InstructGPT eq. 2: -beta * (log pi - log pi_SFT) at every response token,
    plus the sequence score at the last real token. Returns (rewards, per-token KL)."""
    kl = (logprobs - ref_logprobs) * mask
    rewards = -beta * kl
    last = (mask.sum(-1).long() - 1).clamp(min=0)
    rewards[torch.arange(len(scores)), last] += scores
    return rewards * mask, kl
