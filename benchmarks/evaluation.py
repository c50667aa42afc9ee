"""Where the evaluation card's time goes, on a finished pipeline run (what `make run` adds after PPO-ptx).

    python benchmarks/evaluation.py --run runs/default [--max-new-tokens 64]

Runs `evaluate_models` on the run's models (pretrained, sft, ppo, ppo_ptx: those present) with its reward
model, then writes the plots, and prints wall-clock and CPU seconds of each part: greedy answers, the gold
judge's figures, win rates, KL, the alignment tax (held-out text loss, closed-book recall), the RM scores.
CPU seconds move less than wall-clock ones when other work shares the machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import chatrlhf  # noqa: F401  (sets flush-denormal)
import chatrlhf.evaluate as evaluate
from chatrlhf.plots import write_plots

PARTS = {  # evaluate.py function -> the part of the card it computes
    "chat_answers": "greedy answers (every model, every eval prompt)",
    "behaviour": "gold-judge figures, paraphrases, stock phrases",
    "win_rate": "win rate against SFT",
    "kl_from": "KL from SFT (one sampled answer each)",
    "text_loss": "alignment tax: held-out text loss",
    "fact_recall": "alignment tax: closed-book capital recall",
    "rm_scores": "learned RM score of the answers",
}


def timed(fn, totals: dict[str, list[float]], part: str):
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[part][0] += time.perf_counter() - wall
            totals[part][1] += time.process_time() - cpu

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a `chatrlhf pipeline --out` directory")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args()

    names = {"pretrained": "pretrain", "sft": "sft", "ppo": "ppo", "ppo_ptx": "ppo_ptx"}
    checkpoints = {name: args.run / d for name, d in names.items() if (args.run / d / "latest").exists()}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for fn, part in PARTS.items():  # evaluate_models looks these up in its module when it calls them
        setattr(evaluate, fn, timed(getattr(evaluate, fn), totals, part))

    wall, cpu = time.perf_counter(), time.process_time()
    card = evaluate.evaluate_models(checkpoints, args.run / "world", "sft", args.max_new_tokens, args.run / "rm")
    card_wall, card_cpu = time.perf_counter() - wall, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        write_plots(Path(tmp), {d: args.run / d for d in (*names.values(), "rm")}, card["models"])
        totals["plots (three PNGs)"] = [time.perf_counter() - wall, time.process_time() - cpu]

    print(f"models: {', '.join(checkpoints)}; {args.max_new_tokens} new tokens at most")
    print(f"{'part':50}{'wall s':>9}{'CPU s':>9}")
    for part, (w, c) in totals.items():
        print(f"{part:50}{w:9.1f}{c:9.1f}")
    print(f"{'evaluate_models in all (the parts above and loading)':50}{card_wall:9.1f}{card_cpu:9.1f}")


if __name__ == "__main__":
    main()
