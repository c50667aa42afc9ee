"""Simulated labelers: a pool of noisy people built on the gold judge.

Each labeler perceives an answer's quality as the judge's tiered score plus a personal taste
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

# Mean std of a labeler's perception noise, in judge-score units (0..7); sets the agreement. The judge's tiers
# put the right answer 5 points above a useless one, so it takes this much noise to keep agreement near 73%.
NOISE = 2.0
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


def rank(labeler: Labeler, idx: WorldIndex, prompt: dict, responses: list[str], rng: random.Random) -> list:
    """Indices of `responses`, best first, as this labeler sees them. Identical answers form one tie group
    (a nested list): nobody can prefer one copy of a text to another, and a forced order would be noise."""
    seen: dict[str, float] = {}
    for text in responses:  # one perception per distinct answer
        if text not in seen:
            seen[text] = perceive(labeler, judge(idx, prompt, text).score, text, rng)
    groups = [[i for i, r in enumerate(responses) if r == text] for text in sorted(seen, key=lambda t: -seen[t])]
    return [g[0] if len(g) == 1 else g for g in groups]


def positions(ranking: list) -> dict[int, int]:
    """Response index -> place in the ranking; the members of a tie group share a place."""
    return {i: place for place, g in enumerate(ranking) for i in (g if isinstance(g, list) else [g])}


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


def pairwise_agreement(first: list, second: list) -> tuple[int, int]:
    """(pairs ordered alike, pairs) of two rankings of the same responses; a pair either ranking ties is left out."""
    pos1, pos2 = positions(first), positions(second)
    same = total = 0
    for a, b in combinations(sorted(pos1), 2):
        if pos1[a] != pos1[b] and pos2[a] != pos2[b]:
            total += 1
            same += (pos1[a] < pos1[b]) == (pos2[a] < pos2[b])
    return same, total


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
