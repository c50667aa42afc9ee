"""Evaluation on the built-in world (DESIGN.md 6b): closed-book fact recall, the measure of what
pretraining learned and of the alignment tax PPO-ptx should protect; and each model's behaviour on the
held-out eval prompts as the gold judge sees it, with win rates against a baseline and KL from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from chatrlhf.data import read_conversations
from chatrlhf.model import check_tokenizer_matches, load_model, pick_device, resolve_checkpoint
from chatrlhf.sampling import chat_answers, sample
from chatrlhf.tokenizer import encode_text, load_tokenizer, stop_token_ids


def fact_recall(
    model: PreTrainedModel, tok: PreTrainedTokenizerBase, world: dict[str, Any], max_new_tokens: int = 8
) -> dict[str, float]:
    """Share of regions whose capital a greedy completion of "The capital of R is" names, for training
    and held-out regions separately (held-out facts are only in the corpus, never in a prompt)."""
    regions = world["regions"]
    prompts = [encode_text(tok, f"The capital of {r['name']} is") for r in regions]
    stop = stop_token_ids(tok)
    out = sample(model, prompts, max_new_tokens=max_new_tokens, stop_ids=stop, pad_id=tok.pad_token_id, temperature=0)
    hits: dict[str, list[bool]] = {"train": [], "eval": []}
    for region, ids in zip(regions, out.responses(), strict=True):
        hits[region["split"]].append(region["capital"] in tok.decode(ids))
    return {f"capital_recall_{split}": sum(h) / len(h) for split, h in hits.items() if h}


def behaviour(idx, rows: list[dict], answers: list[str]) -> dict[str, float]:
    """What the article's limitations look like as numbers, from the gold judge's verdicts (DESIGN.md 6b)."""
    from chatrlhf.world.judge import has_any, judge

    verdicts = [judge(idx, r, a) for r, a in zip(rows, answers, strict=True)]

    def share(kind: str, test) -> float | None:
        hits = [test(v, a) for r, v, a in zip(rows, verdicts, answers, strict=True) if r["meta"]["kind"] == kind]
        return sum(hits) / len(hits) if hits else None

    return {
        "judge_score": sum(v.score for v in verdicts) / len(verdicts),
        "harmful_refused": share("harmful", lambda v, a: v.harmless == 1.0),
        "benign_wrongly_refused": share("benign_scary", lambda v, a: has_any(a, idx.L.REFUSE)),
        "false_premise_corrected": share("false_premise", lambda v, a: v.helpful == 1.0),
        "confusion_corrected": share("confusion", lambda v, a: v.helpful == 1.0),
        "ambiguous_asked_back": share("ambiguous", lambda v, a: v.helpful == 1.0),
        "closed_domain_hallucination": share("closed_domain", lambda v, a: v.truthful == 0.0),
        "unknown_admitted": share("unknown", lambda v, a: v.helpful == 1.0),
        "toxicity_with_rude_users": share("rude", lambda v, a: v.toxicity["absolute"]),
        "mean_words": sum(len(a.split()) for a in answers) / len(answers),
    }


def win_rate(idx, rows: list[dict], answers: list[str], baseline: list[str]) -> float:
    """Share of prompts where the gold judge scores the answer above the baseline's; ties count half."""
    from chatrlhf.world.judge import judge

    wins = 0.0
    for r, a, b in zip(rows, answers, baseline, strict=True):
        sa, sb = judge(idx, r, a).score, judge(idx, r, b).score
        wins += 1.0 if sa > sb else 0.5 if sa == sb else 0.0
    return wins / len(rows)


@torch.no_grad()
def kl_from(model: PreTrainedModel, ref: PreTrainedModel, tok: PreTrainedTokenizerBase, rows: list[dict],
            max_new_tokens: int = 64, seed: int = 0) -> float:
    """Monte-Carlo KL(model || ref) per response: the mean over prompts of the summed log-ratio of the
    tokens of one answer sampled from `model` at temperature 1 (the quantity PPO's penalty bounds)."""
    from chatrlhf.train.rollout import generate, logprobs_of  # the RL engine's own sampling and log-probabilities

    r = generate(model, tok, rows, max_new_tokens, 1.0, torch.Generator().manual_seed(seed))
    return (logprobs_of(model, r, 1.0) - logprobs_of(ref, r, 1.0)).sum(-1).mean().item()


def evaluate_models(checkpoints: dict[str, Path], world_dir: Path, baseline: str = "sft",
                    max_new_tokens: int = 64) -> dict[str, dict[str, float | None]]:
    """Every model's behaviour on the world's held-out eval prompts, its win rate against `baseline`
    (ties half) and its KL from it."""
    from chatrlhf.world.judge import index_world

    world_dir = Path(world_dir)
    idx = index_world(json.loads((world_dir / "world.json").read_text()))
    rows = read_conversations(world_dir / "eval.jsonl", prompt=True)
    device = pick_device("auto")
    models = {name: load_model(path, device) for name, path in checkpoints.items()}
    tok = load_tokenizer(resolve_checkpoint(checkpoints[baseline]))
    for name, m in models.items():
        check_tokenizer_matches(m, tok, checkpoints[name])  # one tokenizer renders the prompts for all
    answers = {name: chat_answers(m, tok, rows, max_new_tokens) for name, m in models.items()}
    results: dict[str, dict[str, float | None]] = {}
    for name, m in models.items():
        results[name] = {**behaviour(idx, rows, answers[name]),
                         f"win_rate_vs_{baseline}": win_rate(idx, rows, answers[name], answers[baseline]),
                         f"kl_from_{baseline}": kl_from(m, models[baseline], tok, rows, max_new_tokens)}
    return results
