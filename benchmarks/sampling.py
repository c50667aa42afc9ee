"""Tokens/s of our sampler against `model.generate` on the same model, in the same run.

    python benchmarks/sampling.py [--hidden 128 --layers 4 --batch 16 --new-tokens 64 --repeats 5]

Both generate exactly --new-tokens for every row (no stop token), from the same left-padded prompts,
greedy and sampled (temperature 1, full distribution: top_k=0 for generate). Prints the median of
--repeats runs of each, interleaved so that machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

import torch

import chatrlhf  # noqa: F401  (sets flush-denormal)
from chatrlhf.config import ModelConfig
from chatrlhf.model import build_model, count_params
from chatrlhf.sampling import has_fast_path, left_pad, sample
from chatrlhf.tokenizer import train_tokenizer

CORPUS = Path(__file__).resolve().parent.parent / "examples" / "corpus.txt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 keeps torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    tok = train_tokenizer(CORPUS.read_text().split("\n\n"), vocab_size=args.vocab)
    cfg = ModelConfig(
        hidden_size=args.hidden,
        num_layers=args.layers,
        num_heads=args.heads,
        num_kv_heads=args.heads,
        intermediate_size=args.hidden * 8 // 3 // 32 * 32,
    )
    torch.manual_seed(0)
    model = build_model(cfg, tok).eval()
    texts = CORPUS.read_text().split("\n\n")[: args.batch]
    prompts = [tok(t[: 20 + 7 * i], add_special_tokens=False)["input_ids"] for i, t in enumerate(texts)]
    ids, mask = left_pad(prompts, tok.pad_token_id)
    gen_cfg = copy.deepcopy(model.generation_config)
    gen_cfg.eos_token_id = None  # both sides generate every token
    gen_cfg.pad_token_id = tok.pad_token_id
    n_tokens = args.batch * args.new_tokens
    print(
        f"model {count_params(model) / 1e6:.2f}M params (hidden {args.hidden}, {args.layers} layers, vocab {len(tok)}), "
        f"batch {args.batch}, {args.new_tokens} new tokens, prompts {min(map(len, prompts))}-{max(map(len, prompts))} "
        f"tokens, {torch.get_num_threads()} threads, fast path: {has_fast_path(model)}"
    )

    def ours(temperature: float) -> float:
        g = torch.Generator().manual_seed(0)
        t = time.perf_counter()
        s = sample(model, prompts, max_new_tokens=args.new_tokens, stop_ids=[], pad_id=tok.pad_token_id,
                   temperature=temperature, generator=g)
        assert s.response_ids.shape == (args.batch, args.new_tokens)
        return n_tokens / (time.perf_counter() - t)

    def theirs(temperature: float) -> float:
        cfg = copy.deepcopy(gen_cfg)  # every setting in the config: generate warns when kwargs come beside one
        cfg.max_new_tokens, cfg.do_sample = args.new_tokens, temperature > 0
        if temperature > 0:  # the full distribution, as ours samples it
            cfg.temperature, cfg.top_k = temperature, 0
        t = time.perf_counter()
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=cfg)
        assert out.shape[1] - ids.shape[1] == args.new_tokens
        return n_tokens / (time.perf_counter() - t)

    for name, temperature in (("greedy", 0.0), ("sampled", 1.0)):
        ours(temperature), theirs(temperature)  # warm-up
        a, b = [], []
        for _ in range(args.repeats):
            a.append(ours(temperature))
            b.append(theirs(temperature))
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{name:8s} chatrlhf.sampling {ma:8,.0f} tok/s   model.generate {mb:8,.0f} tok/s   ratio {ma / mb:.2f}x")


if __name__ == "__main__":
    main()
