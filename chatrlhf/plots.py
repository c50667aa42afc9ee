"""The report's figures, each drawn from the `metrics.jsonl` a stage wrote or from the evaluation card.

Drawn with matplotlib's object API (a `Figure`, rendered by Agg when saved as PNG): no display and no
global pyplot state, so a long pipeline leaves no figure open.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

PPO_PANELS = [  # (metrics key, panel title): what PPO optimises, what it should optimise, what it pays
    ("rm_score", "learned RM score (demonstrations 0)"),
    ("gold_score", "gold judge score (0-7)"),
    ("kl", "KL from SFT per response"),
]


def read_metrics(run: Path) -> list[dict]:
    """A run's logged records, or none when it logged nothing."""
    path = Path(run) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.is_file() else []


def run_dir(checkpoint: Path) -> Path | None:
    """The run directory that logged a checkpoint: itself, or the parent of a `step-N/` inside it."""
    for path in (Path(checkpoint), Path(checkpoint).resolve().parent):
        if (path / "metrics.jsonl").is_file():
            return path
    return None


def runs_logging(runs: dict[str, Path], key: str) -> dict[str, list[dict]]:
    """The records of each run that logged `key` at least once."""
    records = {name: read_metrics(run) for name, run in runs.items()}
    return {name: m for name, m in records.items() if any(key in r for r in m)}


def panels(fig: Figure, n: int) -> list:
    return list(fig.subplots(1, n, squeeze=False)[0])


def plot_losses(runs: dict[str, Path], path: Path) -> Path | None:
    """One panel per run that logged a training loss (pretraining, SFT, the RM's ranking loss): the training
    loss and, where the stage measured one, the held-out loss, per optimizer step."""
    logged = runs_logging(runs, "loss")
    if not logged:
        return None
    fig = Figure(figsize=(4.5 * len(logged), 3.4), layout="constrained")
    for ax, (name, m) in zip(panels(fig, len(logged)), logged.items(), strict=True):
        ax.plot(*zip(*[(r["step"], r["loss"]) for r in m if "loss" in r], strict=True), label="train")
        val = [(r["step"], r["val_loss"]) for r in m if "val_loss" in r]
        if val:
            ax.plot(*zip(*val, strict=True), "o-", label="held-out")
        ax.set(title=name, xlabel="step", ylabel="loss")
        ax.legend()
    fig.savefig(path, dpi=100)
    return path


def plot_ppo(runs: dict[str, Path], path: Path) -> Path | None:
    """RM score, gold score and KL per iteration, one line per RL run (a run that logged a KL)."""
    logged = runs_logging(runs, "kl")
    shown = [(key, title) for key, title in PPO_PANELS if any(key in r for m in logged.values() for r in m)]
    if not logged or not shown:
        return None
    fig = Figure(figsize=(4.5 * len(shown), 3.4), layout="constrained")
    for ax, (key, title) in zip(panels(fig, len(shown)), shown, strict=True):
        for name, m in logged.items():
            points = [(r["step"], r[key]) for r in m if key in r]
            if points:
                ax.plot(*zip(*points, strict=True), label=name)
        ax.set(title=title, xlabel="iteration")
        ax.legend()
    fig.savefig(path, dpi=100)
    return path


def plot_gold_by_kind(models: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """Grouped bars: the mean gold score of each model's answers, per prompt kind (`judge/KIND` figures)."""
    kinds = sorted({k.removeprefix("judge/") for m in models.values() for k in m if k.startswith("judge/")})
    if not kinds:
        return None
    width = 0.8 / len(models)
    fig = Figure(figsize=(max(6.0, 0.8 * len(kinds) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    for i, (name, m) in enumerate(models.items()):
        ax.bar([x + i * width for x in range(len(kinds))], [m.get(f"judge/{k}") or 0.0 for k in kinds], width, label=name)
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(kinds))], kinds, rotation=30, ha="right")
    ax.set(title="gold judge score per prompt kind", ylabel="score (0-7)", ylim=(0, 7))
    fig.legend(loc="outside lower center", ncols=len(models))  # outside: a bar may reach the top score
    fig.savefig(path, dpi=100)
    return path


def write_plots(out: Path, runs: dict[str, Path], models: dict[str, dict[str, Any]]) -> dict[str, Path]:
    """Every figure there is data for, as PNGs in `out`; returns {caption: path}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "loss curves": plot_losses(runs, out / "losses.png"),
        "RM score, gold score and KL per PPO iteration": plot_ppo(runs, out / "ppo.png"),
        "gold score per prompt kind": plot_gold_by_kind(models, out / "gold_by_kind.png"),
    }
    return {caption: path for caption, path in figures.items() if path is not None}
