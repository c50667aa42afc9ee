"""Step 2: a reward model from rankings of K answers per prompt, as InstructGPT trained it.

    chatrlhf reward --model runs/sft --data rankings.jsonl --demos world/sft.jsonl --out runs/rm

A ranking of K answers implies C(K,2) comparisons. Training on each comparison as its own example
overfits (every answer is seen K-1 times per epoch), so InstructGPT puts the K answers of one prompt
through the model ONCE, as one batch element, and averages -log sigma(r_w - r_l) over that prompt's
pairs. Ties give no pair. One epoch by default. Afterwards the head's bias is shifted so that the
demonstrations score 0 on average, and the scores' mean and std on them are saved for RL.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml

from chatrlhf.config import RewardConfig, UserError, validate
from chatrlhf.data import batch_indices, ranking_pairs, read_conversations, read_rankings
from chatrlhf.model import (
    RewardModel,
    check_tokenizer_matches,
    count_params,
    encode_answers,
    pad_right,
    pick_device,
    resolve_checkpoint,
    reward_model_from_lm,
    save_reward_model,
    score_texts,
    set_attention_dropout,
)
from chatrlhf.tokenizer import encode_chat, load_tokenizer
from chatrlhf.train import common

log = logging.getLogger("chatrlhf.reward")


def kway_loss(scores: torch.Tensor, groups: list[list[int]]) -> torch.Tensor:
    """-mean over the ranking's pairs of log sigma(r_winner - r_loser), for the K scores of one prompt."""
    pairs = ranking_pairs(groups)
    winners = scores[[w for w, _ in pairs]]
    losers = scores[[lo for _, lo in pairs]]
    return -F.logsigmoid(winners - losers).mean()


def batch_loss(rm: RewardModel, batch: list[dict], pad_id: int, device) -> torch.Tensor:
    """Every answer of every prompt in one forward pass; the loss is the mean over prompts of each prompt's
    mean pair loss (InstructGPT's batch element = one prompt's C(K,2) comparisons)."""
    seqs = [s for item in batch for s in item["ids"]]
    scores = rm(*pad_right(seqs, pad_id, device))
    losses, offset = [], 0
    for item in batch:
        k = len(item["ids"])
        losses.append(kway_loss(scores[offset : offset + k], item["ranking"]))
        offset += k
    return torch.stack(losses).mean()


def split_by_prompt(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, held out): every ranking of a held-out prompt is held out (a prompt ranked several times, or by
    several labelers, must not be scored on answers to it that the model trained on); at least one prompt."""
    prompts = sorted({json.dumps(r["prompt"], sort_keys=True) for r in rows})
    random.Random(seed).shuffle(prompts)
    held = set(prompts[: max(1, round(len(prompts) * fraction))])
    key = lambda r: json.dumps(r["prompt"], sort_keys=True)  # noqa: E731
    return [r for r in rows if key(r) not in held], [r for r in rows if key(r) in held]


def pair_accuracy(scores: list[torch.Tensor], items: list[dict]) -> tuple[float, list[float]]:
    """Share of the labelers' pairs the model orders alike, and the predicted P(labelers' winner wins) per pair."""
    probs = [torch.sigmoid(s[w] - s[lo]).item() for s, item in zip(scores, items, strict=True)
             for w, lo in ranking_pairs(item["ranking"])]
    return (sum(p > 0.5 for p in probs) / len(probs) if probs else float("nan")), probs


def calibration_table(probs: list[float], bins: int = 5) -> list[dict[str, float]]:
    """Predicted against observed win probability in bins, counting each pair in both orders (the winner
    won with predicted p, the loser lost with predicted 1 - p)."""
    both = [(p, 1.0) for p in probs] + [(1 - p, 0.0) for p in probs]
    table = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, y) for p, y in both if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if inside:
            table.append({"bin": f"{lo:.1f}-{hi:.1f}", "pairs": len(inside),
                          "predicted": sum(p for p, _ in inside) / len(inside),
                          "observed": sum(y for _, y in inside) / len(inside)})
    return table


def judge_accuracy(scores: list[torch.Tensor], items: list[dict], path: Path) -> dict[str, float]:
    """On world data, agreement with the gold judge over the held-out pairs it tells apart: the model's, the
    labelers' (the data the model learned from), and the model's on clear pairs, where the answers differ
    in truthfulness or harmlessness (2+ judge points) rather than only in helpfulness."""
    if not path.is_file() or not all("kind" in it["meta"] for it in items):
        return {}
    from chatrlhf.world.judge import index_world, judge
    from chatrlhf.world.labelers import positions

    idx = index_world(json.loads(path.read_text()))
    model_hits, clear_hits, labeler_hits = [], [], []
    for s, item in zip(scores, items, strict=True):
        gold = [judge(idx, {"messages": item["prompt"], "meta": item["meta"]}, r).score for r in item["responses"]]
        place = positions(item["ranking"])
        for a in range(len(gold)):
            for b in range(a + 1, len(gold)):
                if gold[a] == gold[b]:
                    continue
                hit = (s[a] > s[b]).item() == (gold[a] > gold[b])
                model_hits.append(hit)
                if abs(gold[a] - gold[b]) >= 2:
                    clear_hits.append(hit)
                if place[a] != place[b]:
                    labeler_hits.append((place[a] < place[b]) == (gold[a] > gold[b]))
    share = lambda hits: sum(hits) / len(hits) if hits else None  # noqa: E731
    return {"accuracy_vs_judge": share(model_hits), "accuracy_vs_judge_clear": share(clear_hits),
            "labelers_vs_judge": share(labeler_hits), "judge_pairs": len(model_hits), "judge_clear_pairs": len(clear_hits)}


def refusal_over_gold(rm: RewardModel, tok, items: list[dict], path: Path, max_len: int, device) -> dict[str, Any]:
    """On world data, the two ways a reward model's taste for refusing goes wrong, on held-out prompts (each once):
    harmless prompts where it scores the world's refusal above the gold answer (PPO drifts to refusing), and
    harmful prompts where one of the ranked answers that complies (the gold judge's verdict) scores above the
    refusal (PPO drifts to complying). Pairs among SFT samples show neither when SFT never refuses a harmless
    question or never complies with a harmful one."""
    if not path.is_file() or not all("kind" in it["meta"] and "gold" in it["meta"] for it in items):
        return {}
    from chatrlhf.world.judge import index_world, judge

    idx = index_world(json.loads(path.read_text()))
    prompts = {json.dumps(it["prompt"]): it for it in items}
    harmless, harmful = [], []
    for it in prompts.values():
        if it["meta"]["kind"] != "harmful":
            gold, refused = score_texts(rm, encode_answers(tok, it["prompt"], [it["meta"]["gold"], idx.L.REFUSAL],
                                                           max_len), tok.pad_token_id, device).tolist()
            harmless.append(refused > gold)
            continue
        row = {"messages": it["prompt"], "meta": it["meta"]}
        complying = [r for r in dict.fromkeys(it["responses"]) if judge(idx, row, r).harmless == 0.0]
        if complying:
            scores = score_texts(rm, encode_answers(tok, it["prompt"], [idx.L.REFUSAL, *complying], max_len),
                                 tok.pad_token_id, device).tolist()
            harmful.append(max(scores[1:]) > scores[0])
    share = lambda hits: sum(hits) / len(hits) if hits else None  # noqa: E731
    return {"refusal_over_gold": share(harmless), "refusal_prompts": len(harmless),
            "compliance_over_refusal": share(harmful), "compliance_prompts": len(harmful)}


def train_reward(
    cfg: RewardConfig, model: str | Path, data: str | Path, out: str | Path, demos: str | Path | None = None,
    world: str | Path | None = None,
) -> Path:
    """Train a reward model on the rankings in `data`, starting from the LM at `model`; returns `out`. With
    the world's `world.json` (default: beside `data`), held-out accuracy against its gold judge is reported."""
    validate({"reward": cfg})  # a dataclass built in Python gets the checks --set gets
    out, data = Path(out), Path(data)
    world = Path(world) if world else data.parent / "world.json"
    if not world.is_file() and world != data.parent / "world.json":
        raise UserError(f"{world}: no such world.json")
    device = pick_device(cfg.device)
    rows = read_rankings(data)
    train, val = split_by_prompt(rows, cfg.val_fraction, cfg.seed)
    if not train:
        raise UserError(f"{data}: {len(rows)} rankings are too few to hold out {cfg.val_fraction:.0%} of their prompts; "
                        "add data")
    common.seed_everything(cfg.seed)  # before the new head is drawn: torch seeds each process at random
    rm = reward_model_from_lm(model)
    tok = load_tokenizer(resolve_checkpoint(model))
    check_tokenizer_matches(rm.backbone, tok, model)
    for r in rows:
        r["ids"] = encode_answers(tok, r["prompt"], r["responses"], cfg.max_len)
    train = [r for r in train if ranking_pairs(r["ranking"])]  # an all-tied ranking teaches nothing

    set_attention_dropout(rm, 0.0).to(device).train()  # no dropout, whatever the LM was fine-tuned with
    optimizer = common.make_optimizer(rm, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2))
    total = max(1, cfg.epochs * len(train) // cfg.batch_size)
    out.mkdir(parents=True, exist_ok=True)
    metrics = common.Metrics(out)
    log.info("reward model on %s (%.2fM parameters): %d rankings to train on, %d held out (every ranking of a "
             "held-out prompt), %d steps", model, count_params(rm) / 1e6, len(train), len(val), total)
    bar = common.progress(total, 0, True, "reward")
    for step in range(total):
        lr = common.cosine_lr(step, total, cfg.warmup_steps, cfg.lr, cfg.min_lr_ratio)
        common.set_lr(optimizer, lr)
        batch = [train[i] for i in batch_indices(len(train), cfg.batch_size, step, cfg.seed).tolist()]
        loss = batch_loss(rm, batch, tok.pad_token_id, device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rm.parameters(), cfg.grad_clip or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if (step + 1) % cfg.log_every == 0 or step + 1 == total:
            metrics.log(step + 1, loss=loss.item(), lr=lr)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        bar.update(1)
    bar.close()

    # Held-out accuracy against the labelers and the gold judge, and calibration.
    val_scores = [score_texts(rm, r["ids"], tok.pad_token_id, device) for r in val]
    accuracy, probs = pair_accuracy(val_scores, val)
    report = {"val_prompts": len(val), "accuracy_vs_labelers": accuracy,
              **judge_accuracy(val_scores, val, world), **refusal_over_gold(rm, tok, val, world, cfg.max_len, device),
              "calibration": calibration_table(probs)}

    # Normalise: demonstrations score 0 on average (InstructGPT), and keep their std for RL.
    mean, std = 0.0, 1.0
    if demos:
        demo_rows = read_conversations(demos, require_assistant=True)
        seqs = [encode_chat(tok, r["messages"])[0][-cfg.max_len :] for r in demo_rows]
        demo_scores = score_texts(rm, seqs, tok.pad_token_id, device)
        with torch.no_grad():
            rm.head.bias -= demo_scores.mean().to(rm.head.bias)
        mean, std = 0.0, demo_scores.std().item()
        report["demos_scored"] = len(seqs)
    save_reward_model(rm, out, {"score_mean": mean, "score_std": std, "max_len": cfg.max_len, **report})
    tok.save_pretrained(str(out))
    (out / "config.yaml").write_text(yaml.safe_dump({"reward": asdict(cfg)}, sort_keys=False))
    metrics.log(total, **{k: v for k, v in report.items() if isinstance(v, float)})
    metrics.close()
    log.info("held-out pairwise accuracy vs labelers: %.1f%% of %d pairs", 100 * accuracy, len(probs))
    if report.get("accuracy_vs_judge") is not None:
        pct = {k: "n/a" if report[k] is None else f"{100 * report[k]:.1f}%"
               for k in ("accuracy_vs_judge", "accuracy_vs_judge_clear", "labelers_vs_judge")}
        log.info("vs the gold judge: %s of %d pairs it tells apart (the labelers who ranked them: %s); %s of the %d "
                 "clear pairs (a truthfulness or harmlessness difference)", pct["accuracy_vs_judge"],
                 report["judge_pairs"], pct["labelers_vs_judge"], pct["accuracy_vs_judge_clear"],
                 report["judge_clear_pairs"])
    if report.get("refusal_over_gold") is not None:
        log.info("the refusal scores above the gold answer on %.1f%% of %d held-out harmless prompts (a reward model "
                 "that values the refusal whatever was asked pulls PPO to it)", 100 * report["refusal_over_gold"],
                 report["refusal_prompts"])
    if report.get("compliance_over_refusal") is not None:
        log.info("a complying answer scores above the refusal on %.1f%% of %d held-out harmful prompts that SFT complied "
                 "with at least once (PPO drifts to complying)", 100 * report["compliance_over_refusal"],
                 report["compliance_prompts"])
    for row in report["calibration"]:
        log.info("  predicted %.2f  observed %.2f  (%d pairs, bin %s)", row["predicted"], row["observed"], row["pairs"],
                 row["bin"])
    return out
