"""Step 1: supervised fine-tuning on demonstrations, the loss on assistant tokens only.

    chatrlhf sft --model runs/pretrain --data world/sft.jsonl --out runs/sft

Several epochs with warmup and cosine decay, as InstructGPT did (16 epochs, then a checkpoint chosen
afterwards). A checkpoint is written after every epoch and `best` points to the one with the lowest
held-out loss, or with `--select-by-reward RM_DIR` the highest reward-model score of greedy answers to
held-out prompts; `--model runs/sft` in later stages means that one. When the demonstrations come from
the built-in world, greedy answers to its held-out eval prompts (every kind in turn) are scored by the
gold judge after every epoch and before the first, per prompt kind, so a user sees what fine-tuning
changed; the judge reports, it never selects.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch.nn.parallel import DistributedDataParallel as DDP

from chatrlhf.config import SFTConfig, UserError
from chatrlhf.data import batch_indices, read_conversations
from chatrlhf.model import (
    autocast,
    check_tokenizer_matches,
    count_params,
    encode_answers,
    load_model,
    load_reward_model,
    pick_dtype,
    resolve_checkpoint,
    score_texts,
    set_attention_dropout,
)
from chatrlhf.sampling import chat_answers
from chatrlhf.tokenizer import encode_chat, load_tokenizer
from chatrlhf.train import common

log = logging.getLogger("chatrlhf.sft")


def encode_demonstrations(tok, rows: list[dict], max_len: int) -> list[tuple[list[int], list[int]]]:
    """(ids, assistant mask) per conversation, cut to max_len; one left with no assistant token is dropped."""
    out = []
    for row in rows:
        ids, mask = encode_chat(tok, row["messages"])
        ids, mask = ids[:max_len], mask[:max_len]
        if sum(mask[1:]) > 0:
            out.append((ids, mask))
    if len(out) < len(rows):
        log.warning("%d of %d conversations have no assistant token within sft.max_len; dropped", len(rows) - len(out),
                    len(rows))
    return out


def collate(examples: list[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and loss mask (B, T); padding is masked out."""
    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, (x, m) in enumerate(examples):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(m)] = torch.tensor(m)
    return ids, mask


def token_losses(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of next-token losses on assistant tokens, number of those tokens)."""
    logits = model(input_ids=ids[:, :-1], use_cache=False).logits
    losses = F.cross_entropy(logits.float().flatten(0, 1), ids[:, 1:].flatten(), reduction="none")
    target_mask = mask[:, 1:].flatten().float()
    return (losses * target_mask).sum(), target_mask.sum()


@torch.no_grad()
def held_out_loss(model, examples, batch_size: int, pad_id: int, device, dtype) -> float:
    model.eval()
    total = count = 0.0
    for i in range(0, len(examples), batch_size):
        ids, mask = collate(examples[i : i + batch_size], pad_id)
        with autocast(device, dtype):
            s, n = token_losses(model, ids.to(device), mask.to(device))
        total, count = total + s.item(), count + n.item()
    model.train()
    return total / max(count, 1.0)


def load_world_judge(data: Path, world: str | Path | None):
    """The gold judge of the world beside the data (or given), or None for demonstrations of another origin."""
    path = Path(world) if world else data.parent / "world.json"
    if not path.is_file():
        if world:
            raise UserError(f"{path}: no such world.json")
        return None
    from chatrlhf.world.judge import index_world  # the world is data; reading its judge trains nothing

    return index_world(json.loads(path.read_text()))


def greedy_answers(model, tok, prompts: list[dict], max_new_tokens: int) -> list[str]:
    return chat_answers(model, tok, prompts, max_new_tokens)


def judge_scores(idx, prompts: list[dict], answers: list[str]) -> dict[str, float]:
    """Mean gold-judge score (0..7) of the answers, overall and per prompt kind."""
    from chatrlhf.world.judge import judge

    by_kind: dict[str, list[float]] = defaultdict(list)
    for p, a in zip(prompts, answers, strict=True):
        by_kind[p["meta"]["kind"]].append(judge(idx, p, a).score)
    scores = {f"judge/{k}": sum(v) / len(v) for k, v in sorted(by_kind.items())}
    scores["judge_score"] = sum(sum(v) for v in by_kind.values()) / len(prompts)
    return scores


def reward_score(rm, tok, prompts: list[dict], answers: list[str], device) -> float:
    """Mean reward-model score of the answers (InstructGPT chose its SFT checkpoint this way)."""
    seqs = [encode_answers(tok, p["messages"], [a], 256)[0] for p, a in zip(prompts, answers, strict=True)]
    return score_texts(rm, seqs, tok.pad_token_id, device).mean().item()


def as_prompt(row: dict) -> dict:
    """A demonstration without its last assistant turn: the prompt it answers."""
    messages = row["messages"]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return {"messages": messages[:last], "meta": row["meta"]}


def train_sft(
    cfg: SFTConfig, model: str | Path, data: str | Path, out: str | Path, world: str | Path | None = None,
    resume: bool = False, select_by_reward: str | Path | None = None,
) -> Path:
    """Fine-tune `model` on the demonstrations in `data`; returns the selected checkpoint (`out/best`): the
    epoch with the lowest held-out loss, or with `select_by_reward` the highest mean reward-model score of
    greedy answers to held-out prompts."""
    run_dir = Path(out)
    d, micro, existing = common.start_run("sft", cfg, run_dir, resume)
    dtype = pick_dtype(cfg.dtype, d.device)

    # Data: a seeded split of the demonstrations into train and held-out.
    rows = read_conversations(data, require_assistant=True)
    random.Random(cfg.seed).shuffle(rows)
    n_val = max(1, round(len(rows) * cfg.val_fraction))
    if len(rows) - n_val < 1:
        raise UserError(f"{data}: {len(rows)} demonstrations are too few to hold out {n_val}; add data")
    start_ckpt = existing or resolve_checkpoint(model)
    tok = load_tokenizer(start_ckpt)
    net_model = load_model(start_ckpt)
    check_tokenizer_matches(net_model, tok, start_ckpt)
    set_attention_dropout(net_model, cfg.dropout)
    val_rows, train_rows = rows[:n_val], rows[n_val:]
    train = encode_demonstrations(tok, train_rows, cfg.max_len)
    val = encode_demonstrations(tok, val_rows, cfg.max_len)
    idx = load_world_judge(Path(data), world)
    judge_prompts = (world_eval_prompts(Path(data), world, cfg.eval_prompts)
                     or [as_prompt(r) for r in val_rows if "kind" in r["meta"]][: cfg.eval_prompts]) if idx else []
    rm_prompts = [as_prompt(r) for r in val_rows][: cfg.eval_prompts or 32] if select_by_reward else []
    rm = None
    if select_by_reward and d.main:
        rm = load_reward_model(select_by_reward)[0].to(d.device)
        check_tokenizer_matches(rm.backbone, tok, select_by_reward)

    steps_per_epoch = max(1, len(train) // cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    common.seed_everything(cfg.seed)
    net_model.to(d.device).train()
    optimizer = common.make_optimizer(net_model, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2))
    start, best = 0, {"value": float("-inf"), "name": "", "by": "reward" if rm else "loss"}
    if existing:
        state = common.load_trainer_state(existing)
        optimizer.load_state_dict(state["optimizer"])
        common.set_rng_state(state["rng"])
        start, best = state["step"], state["best"]
        if d.main:
            common.truncate_metrics(run_dir / "metrics.jsonl", start)
    if start >= total_steps:
        return resolve_checkpoint(run_dir)

    config_yaml = yaml.safe_dump({"sft": asdict(cfg)}, sort_keys=False)
    metrics = common.Metrics(run_dir, enabled=d.main)
    if d.main:
        (run_dir / "config.yaml").write_text(config_yaml)
        log.info("SFT of %s (%.2fM parameters) on %d demonstrations (%d held out), %d epochs of %d steps; device %s, %s",
                 start_ckpt, count_params(net_model) / 1e6, len(train), len(val), cfg.epochs, steps_per_epoch, d.device,
                 str(dtype).removeprefix("torch."))
        if start == 0:
            evaluate_epoch(net_model, tok, idx, rm, judge_prompts, rm_prompts, val, cfg, d, dtype, metrics, 0)
    net = DDP(net_model) if d.world > 1 else net_model
    bar = common.progress(total_steps, start, d.main, "sft")
    t_last, tokens = time.perf_counter(), 0

    for step in range(start, total_steps):
        lr = common.cosine_lr(step, total_steps, cfg.warmup_steps, cfg.lr, cfg.min_lr_ratio)
        common.set_lr(optimizer, lr)
        # This process's slice of the global batch. The loss is normalised by the assistant tokens of the
        # whole global batch, so every token weighs the same whatever the process count.
        rows_idx = batch_indices(len(train), cfg.batch_size, step, cfg.seed).tolist()
        global_tokens = sum(sum(train[i][1][1:]) for i in rows_idx)
        mine = rows_idx[d.rank * micro * cfg.grad_accum : (d.rank + 1) * micro * cfg.grad_accum]
        step_sum = torch.zeros((), device=d.device)
        for i in range(cfg.grad_accum):
            ids, mask = collate([train[j] for j in mine[i * micro : (i + 1) * micro]], tok.pad_token_id)
            sync = i == cfg.grad_accum - 1 or d.world == 1
            with autocast(d.device, dtype), (contextlib.nullcontext() if sync else net.no_sync()):
                loss_sum, _ = token_losses(net, ids.to(d.device), mask.to(d.device))
            (loss_sum * d.world / global_tokens).backward()  # DDP then averages over processes
            step_sum += loss_sum.detach()
        common.all_reduce_mean(step_sum, d)
        grad_norm = torch.nn.utils.clip_grad_norm_(net_model.parameters(), cfg.grad_clip or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        tokens += global_tokens
        if done % cfg.log_every == 0 or done == total_steps:
            now = time.perf_counter()
            value = step_sum.item() * d.world / global_tokens
            metrics.log(done, loss=value, lr=lr, grad_norm=float(grad_norm), tokens_per_s=round(tokens / (now - t_last), 1))
            bar.set_postfix(loss=f"{value:.3f}", lr=f"{lr:.1e}")
            t_last, tokens = now, 0
        if done % steps_per_epoch == 0 or done == total_steps:
            if d.main:
                epoch = done // steps_per_epoch
                value = evaluate_epoch(net_model, tok, idx, rm, judge_prompts, rm_prompts, val, cfg, d, dtype, metrics, epoch,
                                       done)
                if value > best["value"]:
                    best = {**best, "value": value, "name": common.step_dir_name(done)}
                state = {"step": done, "optimizer": optimizer.state_dict(), "rng": common.rng_state(), "best": best}
                ckpt = common.save_checkpoint(run_dir, done, net_model, tok, state, config_yaml, cfg.keep_checkpoints)
                if best["name"] == ckpt.name:
                    common.point_link(run_dir, "best", ckpt)
                what, sign = ("reward-model score", 1) if rm else ("held-out loss", -1)
                bar.write(f"epoch {epoch}: {what} {sign * value:.4f} (best {sign * best['value']:.4f}, {best['name']})")
            common.barrier(d)
            t_last = time.perf_counter()
        bar.update(1)
        common.kill_if_requested(done)
    bar.close()
    metrics.close()
    chosen = resolve_checkpoint(run_dir)
    if d.main:
        log.info("selected checkpoint (%s): %s", "highest reward-model score" if rm else "lowest held-out loss", chosen)
    return chosen


def evaluate_epoch(model, tok, idx, rm, judge_prompts, rm_prompts, val, cfg, d, dtype, metrics, epoch: int, step: int = 0
                   ) -> float:
    """Log held-out loss and, where a judge or reward model is at hand, scores of greedy answers; return the
    selection value (higher is better): the reward-model score, else minus the held-out loss."""
    val_loss = held_out_loss(model, val, cfg.batch_size, tok.pad_token_id, d.device, dtype)
    scores: dict[str, float] = {}
    if judge_prompts:
        answers = greedy_answers(model, tok, judge_prompts, cfg.eval_max_new_tokens)
        scores.update(judge_scores(idx, judge_prompts, answers))
        kinds = ", ".join(f"{k.removeprefix('judge/')} {v:.2f}" for k, v in scores.items() if k.startswith("judge/"))
        log.info("epoch %d: gold judge %.2f / 7 on %d held-out prompts (%s)", epoch, scores["judge_score"],
                 len(judge_prompts), kinds)
    if rm is not None:
        answers = greedy_answers(model, tok, rm_prompts, cfg.eval_max_new_tokens)
        scores["rm_score"] = reward_score(rm, tok, rm_prompts, answers, d.device)
    metrics.log(step, epoch=epoch, val_loss=val_loss, **scores)
    return scores["rm_score"] if rm is not None else -val_loss


def world_eval_prompts(data: Path, world: str | Path | None, n: int) -> list[dict]:
    """Up to n prompts of the world's held-out eval set (eval.jsonl beside the world), kinds taken in turn so
    that every kind is judged; only reported, never used to select a checkpoint."""
    path = (Path(world).parent if world else data.parent) / "eval.jsonl"
    if not path.is_file() or n == 0:
        return []
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in read_conversations(path, prompt=True):
        by_kind[row["meta"].get("kind", "")].append(row)
    queues = [rows for _, rows in sorted(by_kind.items())]
    out: list[dict] = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out
