"""`chatrlhf label simulate`: reward-model data as InstructGPT made it, with simulated people.

Sample K answers per prompt from a checkpoint with the shared sampler, and have a labeler from the pool
rank them (world/labelers.py). Given several checkpoints (SFT and a PPO policy), each gives K / n of the
answers and one labeler ranks them side by side, as InstructGPT ranked outputs of several models together:
that is how a refusal of a harmless request meets, and loses to, a right answer in one ranking. With
`rounds` > 1, each prompt is sampled and ranked that many times, each time by a labeler drawn anew, which
multiplies the comparisons a small prompt set gives. A share of the rankings (`overlap`) is ranked by a
second labeler too, so the labelers' agreement on these very samples is measured and printed, as is each
labeler's agreement with the gold judge. Output rows are the ranking format of docs/design.md section 4.
"""

from __future__ import annotations

import json
import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from chatrlhf.config import UserError
from chatrlhf.data import read_conversations
from chatrlhf.model import check_tokenizer_matches, load_model, pick_device, resolve_checkpoint
from chatrlhf.sampling import sample
from chatrlhf.tokenizer import encode_chat, load_tokenizer, stop_token_ids
from chatrlhf.world.judge import index_world, judge
from chatrlhf.world.labelers import make_pool, pairwise_agreement, positions, rank

log = logging.getLogger("chatrlhf.label")


@dataclass
class SimulateConfig:
    k: int = 4  # answers ranked per prompt (InstructGPT: 4 to 9)
    rounds: int = 1  # times each prompt is sampled and ranked anew (rankings are the cheap data: more comparisons)
    labelers: int = 40  # size of the labeler pool
    overlap: float = 0.2  # share of prompts ranked by a second labeler to measure agreement
    temperature: float = 1.0  # sampling temperature (the full distribution: no top-k/top-p)
    max_new_tokens: int = 64  # answer length limit
    batch_size: int = 64  # sequences sampled at once
    seed: int = 0  # seeds sampling, labeler choice and labeler noise


def simulate_rankings(
    model: str | Path | list[str | Path], prompts: str | Path, out: str | Path, cfg: SimulateConfig,
    world: str | Path | None = None,
) -> dict[str, float]:
    """Write rankings of K sampled answers per prompt to `out`; returns agreement figures.

    `model` is one checkpoint or a list of them; with n of them, each samples K / n of every prompt's answers.
    """
    models = list(model) if isinstance(model, (list, tuple)) else [model]
    if cfg.k < 2:
        raise UserError(f"--k: expected at least 2 answers to rank, got {cfg.k}")
    if cfg.k % len(models):
        raise UserError(f"--k: {cfg.k} answers cannot be shared evenly among {len(models)} models")
    if cfg.rounds < 1:
        raise UserError(f"--rounds: expected at least 1, got {cfg.rounds}")
    world_path = Path(world) if world else Path(prompts).parent / "world.json"
    if not world_path.is_file():
        raise UserError(f"{world_path}: no world.json; pass --world (simulated labelers judge with the world's facts)")
    idx = index_world(json.loads(world_path.read_text()))
    rows = read_conversations(prompts, prompt=True)
    for i, row in enumerate(rows):
        if "kind" not in row["meta"] or "gold" not in row["meta"]:
            raise UserError(f"{prompts}:{i + 1}: not a world prompt (meta.kind and meta.gold are needed to judge)")

    rng = random.Random(cfg.seed)
    pool = make_pool(cfg.labelers, cfg.seed)
    rows = [row for _ in range(cfg.rounds) for row in rows]

    # 1. Sample K answers per prompt and round (K / n from each model), many prompts per batch.
    answers: list[list[str]] = [[] for _ in rows]
    for m in models:
        for i, more in enumerate(sample_answers(m, rows, cfg.k // len(models), cfg)):
            answers[i] += more

    # 2. Each prompt ranked by one labeler; an overlap set by a second one as well.
    same = pairs = judge_same = judge_pairs = 0
    tmp = Path(out).with_name(Path(out).name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for row, responses in zip(rows, answers, strict=True):
            first, second = rng.sample(pool, 2)
            ranking = rank(first, idx, row, responses, rng)
            f.write(json.dumps({"prompt": row["messages"], "responses": responses, "ranking": ranking,
                                "labeler": first.id, "meta": row["meta"]}, ensure_ascii=False) + "\n")
            if rng.random() < cfg.overlap:
                s_, n_ = pairwise_agreement(ranking, rank(second, idx, row, responses, rng))
                same, pairs = same + s_, pairs + n_
            # Against the judge: pairs whose gold scores differ, ordered as the judge orders them.
            scores = [judge(idx, row, r).score for r in responses]
            pos = positions(ranking)
            for a in range(len(responses)):
                for b in range(a + 1, len(responses)):
                    if scores[a] != scores[b] and pos[a] != pos[b]:
                        judge_pairs += 1
                        judge_same += (pos[a] < pos[b]) == (scores[a] > scores[b])
    os.replace(tmp, out)
    figures = {
        "prompts": len(rows) // cfg.rounds,
        "rankings": len(rows),
        "labeler_agreement": same / pairs if pairs else float("nan"),
        "labeler_vs_judge": judge_same / judge_pairs if judge_pairs else float("nan"),
        "judge_decided_pairs": judge_pairs,
    }
    log.info("%d prompts x %d rounds x %d answers (from %d models) ranked -> %s", len(rows) // cfg.rounds, cfg.rounds,
             cfg.k, len(models), out)
    log.info("labeler-labeler agreement %.1f%% on %d overlapping pairs (InstructGPT: 72.6 +- 1.5%%)",
             100 * figures["labeler_agreement"], pairs)
    log.info("labeler-judge agreement %.1f%% on %d pairs the judge tells apart", 100 * figures["labeler_vs_judge"],
             judge_pairs)
    return figures


def sample_answers(model: str | Path, rows: list[dict], k: int, cfg: SimulateConfig) -> list[list[str]]:
    """K sampled answers of one checkpoint to each prompt row."""
    ckpt = resolve_checkpoint(model)
    tok = load_tokenizer(ckpt)
    lm = load_model(ckpt, pick_device("auto"))
    check_tokenizer_matches(lm, tok, ckpt)
    generator = torch.Generator(lm.device).manual_seed(cfg.seed)
    stop = stop_token_ids(tok)
    encoded = [encode_chat(tok, r["messages"], add_generation_prompt=True)[0] for r in rows]
    flat = [(i, ids) for i, ids in enumerate(encoded) for _ in range(k)]
    answers: list[list[str]] = [[] for _ in rows]
    for start in tqdm(range(0, len(flat), cfg.batch_size), desc=f"sampling {Path(model).name}", disable=None):
        chunk = flat[start : start + cfg.batch_size]
        s = sample(lm, [ids for _, ids in chunk], max_new_tokens=cfg.max_new_tokens, stop_ids=stop,
                   pad_id=tok.pad_token_id, temperature=cfg.temperature, generator=generator)
        for (i, _), resp in zip(chunk, s.responses(), strict=True):
            answers[i].append(tok.decode(resp, skip_special_tokens=True).strip())
    return answers
