"""What every training stage shares: distributed setup, seeding, optimizer, schedule, checkpoints, metrics.

Checkpoints are written atomically: a complete `step-N/` directory is built under a temporary name and
renamed into place, then the `latest` link is swapped with `os.replace`. A crash at any moment leaves
the previous checkpoint and `latest` intact.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from tqdm import tqdm

from chatrlhf.model import CheckpointError, pick_device

TRAINER_STATE = "trainer_state.pt"
CONFIG_NAME = "training_config.yaml"

# ---- distributed ------------------------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str = "auto") -> Dist:
    """Join the process group when launched by torchrun (gloo on CPU, nccl on GPU); else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local_rank, device)


def start_run(section: str, sc: Any, run_dir: Path, resume: bool) -> tuple[Dist, int, Path | None]:
    """Join the processes, check that the global batch splits evenly, and find the checkpoint to continue.

    Returns (dist, micro-batch size per process, checkpoint or None). A run directory that already holds
    checkpoints is continued only when asked: never overwritten by accident.
    """
    from chatrlhf.config import ConfigError, validate

    validate({section: sc})  # a dataclass built in Python gets the checks --set gets
    d = setup_distributed(sc.device)
    run_dir.mkdir(parents=True, exist_ok=True)
    if sc.batch_size % (d.world * sc.grad_accum):
        raise ConfigError(
            f"config key '{section}.batch_size': {sc.batch_size} must be divisible by processes x grad_accum "
            f"= {d.world} x {sc.grad_accum}"
        )
    existing = latest_checkpoint(run_dir)
    if existing and not resume:
        raise ConfigError(f"{run_dir}: already holds checkpoints ({existing.name}); pass --resume to continue it")
    if d.main:
        remove_stale_temporaries(run_dir)
    return d, sc.batch_size // (d.world * sc.grad_accum), existing


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(x: torch.Tensor, d: Dist) -> torch.Tensor:
    if d.world > 1:
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
        x /= d.world
    return x


# ---- seeding and RNG state ------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- optimizer and schedule -----------------------------------------------------------------------------


def make_optimizer(
    model: torch.nn.Module, lr: float, weight_decay: float, betas: tuple[float, float]
) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only: decaying norm gains and biases hurts small models."""
    params = {id(p): p for p in model.parameters() if p.requires_grad}.values()
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def cosine_lr(step: int, max_steps: int, warmup_steps: int, lr: float, min_lr_ratio: float) -> float:
    """Linear warmup to `lr`, then cosine decay to `lr * min_lr_ratio` at `max_steps`."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model


# ---- checkpoints ----------------------------------------------------------------------------------------


def step_dir_name(step: int) -> str:
    return f"step-{step:06d}"


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint `run_dir/latest` points to, or None when the run has none yet."""
    link = Path(run_dir) / "latest"
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    if not (target / "config.json").is_file():
        raise CheckpointError(f"{link}: points to {target}, which is not a complete checkpoint")
    return target


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    model: torch.nn.Module,
    tokenizer: Any,
    trainer_state: dict[str, Any],
    config_yaml: str,
    keep: int,
    extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write `run_dir/step-N/` (HF model + tokenizer + our trainer state, and whatever `extra` writes into
    the directory, e.g. PPO's value model) atomically and point `latest` at it."""
    run_dir = Path(run_dir)
    final = run_dir / step_dir_name(step)
    tmp = run_dir / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    unwrap(model).save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    torch.save(trainer_state, tmp / TRAINER_STATE)
    (tmp / CONFIG_NAME).write_text(config_yaml)
    if extra is not None:
        extra(tmp)
    if final.exists():  # a resumed run re-reaching a step: swap, never leave a gap without a complete dir
        old = run_dir / f".old-{final.name}-{os.getpid()}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)
    point_link(run_dir, "latest", final)
    prune_checkpoints(run_dir, keep)
    return final


def point_link(run_dir: Path, name: str, target: Path) -> None:
    """Make `run_dir/name` a relative link to `target`, atomically (os.replace of a fresh link)."""
    tmp = run_dir / f".{name}-{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(target.name, tmp)
    os.replace(tmp, run_dir / name)


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest `keep` step-* directories (never one that `latest` or `best` points to)."""
    pinned = {(run_dir / link).resolve() for link in ("latest", "best") if (run_dir / link).is_symlink()}
    steps = sorted(p for p in run_dir.glob("step-*") if p.is_dir())
    for p in steps[:-keep]:
        if p.resolve() not in pinned:
            shutil.rmtree(p)


def remove_stale_temporaries(run_dir: Path) -> None:
    """Half-written directories from a crashed run; nothing points at them."""
    for p in list(run_dir.glob(".tmp-step-*")) + list(run_dir.glob(".old-step-*")):
        shutil.rmtree(p, ignore_errors=True)


def load_trainer_state(ckpt: Path) -> dict[str, Any]:
    path = ckpt / TRAINER_STATE
    if not path.is_file():
        raise CheckpointError(f"{ckpt}: no {TRAINER_STATE}; this checkpoint cannot be resumed (it holds weights only)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path}: cannot read trainer state: {type(e).__name__}: {e}") from None


def kill_if_requested(step: int) -> None:
    """Fault injection for tests: CHATRLHF_KILL_AT_STEP=N sends SIGKILL to this process after step N."""
    at = os.environ.get("CHATRLHF_KILL_AT_STEP")
    if at is not None and step == int(at):
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


# ---- metrics and progress -------------------------------------------------------------------------------


class Metrics:
    """Appends one JSON object per call to `metrics.jsonl` (and TensorBoard scalars when installed)."""

    def __init__(self, run_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self.tb = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:  # tensorboard is optional
                pass

    def log(self, step: int, **values: float) -> None:
        if not self.enabled:
            return
        record = {"step": step, "time": round(time.time(), 3), **values}
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def truncate_metrics(path: Path, after_step: int) -> None:
    """On resume, drop lines logged after the checkpoint: those steps are about to be redone."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= after_step]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in keep))
    os.replace(tmp, path)


def progress(total: int, initial: int, enabled: bool, desc: str) -> tqdm:
    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc, dynamic_ncols=True, smoothing=0.1)
