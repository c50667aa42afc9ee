"""Step 0: pretraining. Next-token loss on packed text with AdamW, warmup + cosine decay and clipping.

    chatrlhf pretrain --data corpus.txt --out runs/pretrain
    torchrun --nproc_per_node 2 -m chatrlhf.cli pretrain --data corpus.txt --out runs/pretrain

The batch of step s is a fixed function of (seed, s) and every piece of state is checkpointed, so a
resumed run ends with the same weights as an uninterrupted one. Under torchrun each process takes its
slice of the same global batch (DDP averages gradients), so the loss curve matches a single process.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch.nn.parallel import DistributedDataParallel as DDP

from chatrlhf.config import ModelConfig, PretrainConfig, TokenizerConfig, validate
from chatrlhf.data import batch_indices, read_texts, split_windows, tokenize_stream
from chatrlhf.model import (
    autocast,
    build_model,
    check_tokenizer_matches,
    count_params,
    load_model,
    pick_dtype,
)
from chatrlhf.tokenizer import load_tokenizer, save_tokenizer, train_tokenizer
from chatrlhf.train import common
from chatrlhf.world import reading

log = logging.getLogger("chatrlhf.pretrain")
READING_TOKENIZER_DOCS = 2000  # reading-stream documents the tokenizer is fitted on beside the data


def global_batch(n_windows: int, cfg: PretrainConfig, step: int) -> list[tuple[str, int]]:
    """The rows of step `step`'s global batch, a fixed function of (seed, step): ("data", window) rows drawn
    from the data's windows, then ("reading", index) rows that continue the reading stream."""
    n_read = round(cfg.batch_size * cfg.reading_share)
    n_data = cfg.batch_size - n_read
    rows = [("data", int(i)) for i in batch_indices(n_windows, n_data, step, cfg.seed)] if n_data else []
    return rows + [("reading", step * n_read + i) for i in range(n_read)]


def materialise(rows: list[tuple[str, int]], train: torch.Tensor, cfg: PretrainConfig, tok) -> torch.Tensor:
    """The (B, seq_len+1) tokens of `rows`."""
    return torch.stack([train[i] if src == "data" else reading.stream_window(tok, cfg.reading_lang, cfg.seed, i, cfg.seq_len + 1)
                        for src, i in rows])


def lm_loss(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of a (B, T+1) batch of packed windows."""
    logits = model(input_ids=batch[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten())


@torch.no_grad()
def held_out_loss(
    model: torch.nn.Module, val: torch.Tensor, batch_size: int, n_batches: int, device: torch.device, dtype
) -> float:
    """Mean loss over the first n_batches batches of the held-out windows (the same ones every time)."""
    model.eval()
    losses = []
    for i in range(0, min(len(val), batch_size * n_batches), batch_size):
        with autocast(device, dtype):
            losses.append(lm_loss(model, val[i : i + batch_size].to(device)).item())
    model.train()
    return sum(losses) / len(losses)


def prepare_tokenizer(
    cfg: PretrainConfig, tc: TokenizerConfig, docs: list[str], run_dir: Path, tokenizer_dir: str | None, d: common.Dist
):
    """The given tokenizer, or a BPE trained on the data (and a sample of the reading stream, when it is read)
    by rank 0 and saved in run_dir/tokenizer."""
    if tokenizer_dir:
        return load_tokenizer(tokenizer_dir)
    path = run_dir / "tokenizer"
    if d.main:
        if cfg.reading_share > 0:
            docs = [*docs, *reading.sample_texts(cfg.reading_lang, READING_TOKENIZER_DOCS)]
        log.info("training a %d-token byte-level BPE on the data", tc.vocab_size)
        save_tokenizer(train_tokenizer(docs, tc.vocab_size, tc.min_frequency), path)
    common.barrier(d)
    return load_tokenizer(path)


def train_pretrain(
    cfg: PretrainConfig,
    data: list[str | Path],
    out: str | Path,
    model_cfg: ModelConfig | None = None,
    tokenizer_cfg: TokenizerConfig | None = None,
    tokenizer_dir: str | None = None,
    resume: bool = False,
) -> Path:
    """Pretrain a causal LM on `data`; returns the final checkpoint directory (`out/latest`). The model is built
    from `model_cfg` and a tokenizer trained by `tokenizer_cfg` (defaults: their dataclasses' defaults)."""
    mc, tc = model_cfg or ModelConfig(), tokenizer_cfg or TokenizerConfig()
    validate({"model": mc, "tokenizer": tc})
    run_dir = Path(out)
    d, micro, existing = common.start_run("pretrain", cfg, run_dir, resume)
    dtype = pick_dtype(cfg.dtype, d.device)

    docs = read_texts(data)
    if existing:
        tok = load_tokenizer(existing)
    else:
        tok = prepare_tokenizer(cfg, tc, docs, run_dir, tokenizer_dir, d)
    train, val = split_windows(tokenize_stream(tok, docs), cfg.seq_len, cfg.val_fraction)

    common.seed_everything(cfg.seed)
    if existing:
        model = load_model(existing)
    elif mc.init_from:
        model = load_model(mc.init_from)
        check_tokenizer_matches(model, tok, mc.init_from)
    else:
        model = build_model(mc, tok)
    model.to(d.device).train()
    optimizer = common.make_optimizer(model, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2))

    start = 0
    if existing:
        state = common.load_trainer_state(existing)
        optimizer.load_state_dict(state["optimizer"])
        common.set_rng_state(state["rng"])
        start = state["step"]
        if d.main:
            common.truncate_metrics(run_dir / "metrics.jsonl", start)
    if start >= cfg.max_steps:
        log.info("%s: already at step %d of %d; nothing to do", run_dir, start, cfg.max_steps)
        return existing

    config_yaml = yaml.safe_dump({"model": asdict(mc), "tokenizer": asdict(tc), "pretrain": asdict(cfg)},
                                 sort_keys=False)
    if d.main:
        (run_dir / "config.yaml").write_text(config_yaml)
        log.info(
            "device %s, compute dtype %s, %d process(es); model %.2fM parameters; %d train / %d held-out "
            "sequences of %d tokens",
            d.device, str(dtype).removeprefix("torch."), d.world, count_params(model) / 1e6,
            len(train), len(val), cfg.seq_len,
        )
    net = DDP(model) if d.world > 1 else model
    metrics = common.Metrics(run_dir, enabled=d.main)
    bar = common.progress(cfg.max_steps, start, d.main, "pretrain")
    tokens_per_step = cfg.batch_size * cfg.seq_len
    t_last, step_last = time.perf_counter(), start

    for step in range(start, cfg.max_steps):
        lr = common.cosine_lr(step, cfg.max_steps, cfg.warmup_steps, cfg.lr, cfg.min_lr_ratio)
        common.set_lr(optimizer, lr)
        # This process's slice of the global batch, split into micro-batches for accumulation.
        rows = global_batch(len(train), cfg, step)[d.rank * micro * cfg.grad_accum : (d.rank + 1) * micro * cfg.grad_accum]
        step_loss = torch.zeros((), device=d.device)
        for i in range(cfg.grad_accum):
            batch = materialise(rows[i * micro : (i + 1) * micro], train, cfg, tok).to(d.device)
            sync = i == cfg.grad_accum - 1 or d.world == 1
            with autocast(d.device, dtype), (contextlib.nullcontext() if sync else net.no_sync()):
                loss = lm_loss(net, batch) / cfg.grad_accum
            loss.backward()
            step_loss += loss.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1

        if done % cfg.log_every == 0 or done == cfg.max_steps:
            loss_value = common.all_reduce_mean(step_loss, d).item()
            now = time.perf_counter()
            tps = tokens_per_step * (done - step_last) / (now - t_last)
            t_last, step_last = now, done
            metrics.log(done, loss=loss_value, lr=lr, grad_norm=float(grad_norm), tokens_per_s=round(tps, 1))
            bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.1e}", tok_s=f"{tps:,.0f}")
        if d.main and (done % cfg.eval_every == 0 or done == cfg.max_steps):
            # Batches of the single-process micro-batch size, so the figure does not depend on the process count.
            val_loss = held_out_loss(model, val, cfg.batch_size // cfg.grad_accum, cfg.eval_batches, d.device, dtype)
            probe = {}
            if cfg.reading_share > 0 and cfg.probe_items:
                items = reading.probe_items(cfg.reading_lang, cfg.probe_items)
                probe = {"reading_probe": reading.probe_accuracy(model, tok, items),
                         "reading_probe_loss": reading.probe_loss(model, tok, items)}
            metrics.log(done, val_loss=val_loss, **probe)
            bar.write(f"step {done}: held-out loss {val_loss:.4f}" + "".join(f", {k} {v:.3g}" for k, v in probe.items()))
        if done % cfg.save_every == 0 or done == cfg.max_steps:
            if d.main:
                state = {"step": done, "optimizer": optimizer.state_dict(), "rng": common.rng_state()}
                common.save_checkpoint(run_dir, done, model, tok, state, config_yaml, cfg.keep_checkpoints)
            common.barrier(d)
            t_last = time.perf_counter()  # checkpoint time is not training throughput
        bar.update(1)
        common.kill_if_requested(done)

    bar.close()
    metrics.close()
    final = (run_dir / "latest").resolve()
    if d.main:
        log.info("final checkpoint: %s", final)
    return final
