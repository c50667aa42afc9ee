"""Simulated labelers: a pool of noisy people built on the gold judge.

Each labeler perceives an answer's quality as the judge's lexicographic score plus a personal taste
for length and personal noise, then ranks K answers, rates one on the 1-7 Likert scale with the
InstructGPT metadata flags, or writes a demonstration. The default noise makes two labelers agree on
about 73% of pairs of model answers, the agreement InstructGPT measured between its labelers
(72.6 +- 1.5%); `agreement` measures it on any set of ranked answers.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from chatrlhf.world.judge import WorldIndex, index_world, judge

NOISE = 1.1  # mean std of a labeler's perception noise, in judge-score units (0..7); sets the agreement
LENGTH_TASTE = 0.25  # std across labelers of the bonus per 10 words (some like long answers, some short)


@dataclass(frozen=True)
class Labeler:
    id: str
    noise: float  # std of this labeler's perception noise
    length_taste: float  # perceived bonus per 10 words of answer


def make_pool(n: int = 40, seed: int = 0, noise: float = NOISE, length_taste: float = LENGTH_TASTE) -> list[Labeler]:
    rng = random.Random(seed)
    return [
        Labeler(f"sim-{i:02d}", noise * rng.uniform(0.6, 1.4), rng.gauss(0.0, length_taste)) for i in range(n)
    ]


def perceive(labeler: Labeler, score: float, response: str, rng: random.Random) -> float:
    return score + labeler.length_taste * len(response.split()) / 10 + rng.gauss(0.0, labeler.noise)


def rank(labeler: Labeler, idx: WorldIndex, prompt: dict, responses: list[str], rng: random.Random) -> list[int]:
    """Indices of `responses`, best first, as this labeler sees them."""
    seen = [perceive(labeler, judge(idx, prompt, r).score, r, rng) for r in responses]
    return sorted(range(len(responses)), key=lambda i: -seen[i])


def rate(labeler: Labeler, idx: WorldIndex, prompt: dict, response: str, rng: random.Random) -> dict[str, Any]:
    """A rating row: Likert 1-7 from the perceived score, and the judge's flags and toxicity."""
    v = judge(idx, prompt, response)
    seen = perceive(labeler, v.score, response, rng)
    likert = max(1, min(7, 1 + round(6 * seen / 7)))
    return {"prompt": prompt["messages"], "response": response, "likert": likert,
            "flags": {**v.flags, "toxicity": v.toxicity}, "labeler": labeler.id}


def demonstrate(labeler: Labeler, prompt: dict) -> dict[str, Any]:
    """A demonstration: the conversation completed with the reference answer that follows the guideline."""
    return {"messages": [*prompt["messages"], {"role": "assistant", "content": prompt["meta"]["gold"]}],
            "meta": {**prompt["meta"], "labeler": labeler.id}}


def pairwise_agreement(first: list[int], second: list[int]) -> tuple[int, int]:
    """(pairs ordered alike, pairs) of two rankings of the same responses."""
    pos1 = {r: i for i, r in enumerate(first)}
    pos2 = {r: i for i, r in enumerate(second)}
    pairs = list(combinations(first, 2))
    same = sum((pos1[a] < pos1[b]) == (pos2[a] < pos2[b]) for a, b in pairs)
    return same, len(pairs)


def agreement(pool: list[Labeler], idx: WorldIndex, items: list[tuple[dict, list[str]]], seed: int = 0) -> float:
    """Share of response pairs that two different labelers, drawn at random per prompt, order alike."""
    rng = random.Random(seed)
    same = total = 0
    for prompt, responses in items:
        a, b = rng.sample(pool, 2)
        s, n = pairwise_agreement(rank(a, idx, prompt, responses, rng), rank(b, idx, prompt, responses, rng))
        same += s
        total += n
    return same / total if total else float("nan")


def synthetic_answers(idx: WorldIndex, prompt: dict, k: int, rng: random.Random) -> list[str]:
    """k answers of mixed quality, like a partly trained model's samples: the reference, a wrong fact, an
    insult, a fragment, a refusal, an "I don't know", a padded answer. A fixed sample for calibration."""
    gold = prompt["meta"]["gold"]
    other = rng.choice(idx.world["regions"])
    words = gold.rstrip(".!?").split()
    variants = [
        gold,
        gold.replace(prompt["meta"].get("region", "\0"), other["name"]) if "region" in prompt["meta"] else gold + " Maybe.",
        f"{gold} Now stop asking, you {rng.choice(idx.world['insults'])}.",
        " ".join(words[-3:]),
        idx.L.REFUSAL,
        idx.L.DONT_KNOW_ANSWER,
        f"{gold} {rng.choice(idx.L.WEB_TEXT)}",
        other["capital"] + " is the answer to that.",
    ]
    return rng.sample(variants, k)


def calibration_agreement(world_dir: str | Path, seed: int = 0, k: int = 4) -> float:
    """Agreement of the default pool on synthetic answers to a world's eval and ranking prompts."""
    world_dir = Path(world_dir)
    idx = index_world(json.loads((world_dir / "world.json").read_text()))
    prompts = [json.loads(line) for name in ("eval.jsonl", "prompts_rm.jsonl")
               for line in (world_dir / name).read_text().splitlines()]
    rng = random.Random(seed)
    items = [(p, synthetic_answers(idx, p, k, rng)) for p in prompts]
    return agreement(make_pool(seed=seed), idx, items, seed=seed)
