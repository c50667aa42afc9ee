"""Pretraining throughput and MFU of `chatrlhf pretrain` itself, for a ~1M and a ~5M parameter model.

    python benchmarks/pretrain_throughput.py [--steps 30] [--batch 32] [--seq-len 128]

MFU = 6 * N * tokens/s / peak, where N counts every parameter once (the tied LM head is a real matmul)
and the peak is the matmul FLOP/s of the compute dtype, measured here in this run (a large square
matmul, best of several). Attention-score FLOPs are not counted, so MFU is a slight underestimate.
Tokens/s is read from the run's metrics.jsonl, skipping the first logged interval (warm-up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

import chatrlhf  # noqa: F401  (sets flush-denormal)
from chatrlhf.config import load_config
from chatrlhf.model import build_model, count_params, pick_dtype
from chatrlhf.tokenizer import train_tokenizer
from chatrlhf.train.pretrain import train_pretrain

CORPUS = Path(__file__).resolve().parent.parent / "examples" / "corpus.txt"
SIZES = {  # name: (hidden, layers, heads, intermediate)
    "~1M": (128, 4, 4, 320),
    "~5M": (256, 6, 4, 704),
}


def matmul_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n matmul in `dtype`."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--dtype", default="auto", help="auto | float32 | bfloat16")
    args = ap.parse_args()

    dtype = pick_dtype(args.dtype, torch.device("cpu"))
    peak = matmul_peak(dtype)
    print(f"{torch.get_num_threads()} threads, compute dtype {dtype}, measured matmul peak {peak / 1e9:.1f} GFLOP/s")
    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = Path(tmp) / "tok"
        tok = train_tokenizer([CORPUS.read_text()], vocab_size=args.vocab)
        tok.save_pretrained(tok_dir)
        for name, (hidden, layers, heads, inter) in SIZES.items():
            overrides = [
                f"model.hidden_size={hidden}", f"model.num_layers={layers}", f"model.num_heads={heads}",
                f"model.num_kv_heads={heads}", f"model.intermediate_size={inter}",
                f"pretrain.max_steps={args.steps}", f"pretrain.batch_size={args.batch}", f"pretrain.seq_len={args.seq_len}",
                "pretrain.log_every=5", f"pretrain.eval_every={args.steps}", f"pretrain.save_every={args.steps}",
                "pretrain.val_fraction=0.02", f"pretrain.dtype={args.dtype}", "pretrain.eval_batches=1",
            ]
            cfg = load_config(["model", "tokenizer", "pretrain"], overrides=overrides)
            n_params = count_params(build_model(cfg["model"], tok))
            run = Path(tmp) / name
            train_pretrain(cfg["pretrain"], [CORPUS], run, cfg["model"], cfg["tokenizer"], tokenizer_dir=str(tok_dir))
            rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
            tps = statistics.median([r["tokens_per_s"] for r in rows if "tokens_per_s" in r][1:])
            mfu = 6 * n_params * tps / peak
            print(f"{name}: {n_params / 1e6:.2f}M params, batch {args.batch} x {args.seq_len}: "
                  f"{tps:,.0f} tokens/s, {6 * n_params * tps / 1e9:.1f} GFLOP/s, MFU {mfu:.1%}")


if __name__ == "__main__":
    main()
