"""`chatrlhf pipeline`: every stage that exists, end to end, and a report of what each produced.

Today that is step 0 (tokenizer and pretraining on a text file) and sampling from the result; each
later stage adds itself here. A stage whose run directory is already complete is skipped and an
interrupted one resumes, so `make run` twice costs one run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from chatrlhf import config as config_mod
from chatrlhf.config import UserError
from chatrlhf.model import load_model
from chatrlhf.sampling import sample
from chatrlhf.tokenizer import END, EOS, encode_text, load_tokenizer
from chatrlhf.train.pretrain import train_pretrain

log = logging.getLogger("chatrlhf.pipeline")

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "examples" / "corpus.txt"
# A budget that shows step 0 working in a few minutes on 2 CPU cores.
PIPELINE_DEFAULTS = [
    "pretrain.max_steps=150",
    "pretrain.warmup_steps=15",
    "pretrain.eval_every=25",
    "pretrain.save_every=50",
]
PROMPTS = ["The weather today", "Anna asked,", "To plant a tree,", "A computer"]


def run_pipeline(
    out: Path, data: list[Path] | None = None, config_file: Path | None = None, overrides: list[str] | None = None
) -> Path:
    """Run the stages into `out` and return the path of `out/report.md`."""
    out = Path(out)
    data = data or [DEFAULT_CORPUS]
    if not data[0].exists() and data[0] == DEFAULT_CORPUS:
        raise UserError(f"{DEFAULT_CORPUS}: the example corpus is missing (run from a clone, or pass --data FILE)")
    cfg = config_mod.load_config(["model", "tokenizer", "pretrain"], config_file, [*PIPELINE_DEFAULTS, *(overrides or [])])
    out.mkdir(parents=True, exist_ok=True)

    log.info("== step 0: pretraining on %s", ", ".join(map(str, data)))
    ckpt = train_pretrain(cfg, data, out / "pretrain", resume=True)

    log.info("== sampling from %s", ckpt)
    samples = sample_prompts(ckpt, PROMPTS)
    report = write_report(out, ckpt, samples)
    return report


def sample_prompts(ckpt: Path, prompts: list[str], max_new_tokens: int = 40) -> list[tuple[str, str, str]]:
    """(prompt, greedy continuation, sampled continuation) for each prompt."""
    tok = load_tokenizer(ckpt)
    model = load_model(ckpt)
    ids = [encode_text(tok, p) for p in prompts]
    stop = [tok.convert_tokens_to_ids(END), tok.convert_tokens_to_ids(EOS)]
    kw = {"max_new_tokens": max_new_tokens, "stop_ids": stop, "pad_id": tok.pad_token_id}
    greedy = sample(model, ids, temperature=0.0, **kw).responses()
    sampled = sample(model, ids, temperature=0.8, generator=torch.Generator().manual_seed(0), **kw).responses()
    return [(p, tok.decode(g), tok.decode(s)) for p, g, s in zip(prompts, greedy, sampled, strict=True)]


def write_report(out: Path, ckpt: Path, samples: list[tuple[str, str, str]]) -> Path:
    metrics = [json.loads(line) for line in (out / "pretrain" / "metrics.jsonl").read_text().splitlines() if line]
    val = [(m["step"], m["val_loss"]) for m in metrics if "val_loss" in m]
    train = [m for m in metrics if "loss" in m]
    lines = [
        "# chatrlhf pipeline report",
        "",
        "## Step 0: pretraining",
        "",
        f"Checkpoint: `{ckpt}` (loads with `AutoModelForCausalLM.from_pretrained`).",
        "",
        "| step | held-out loss |",
        "|---:|---:|",
        *(f"| {s} | {v:.4f} |" for s, v in val),
        "",
        f"Last train loss {train[-1]['loss']:.4f}; throughput {train[-1]['tokens_per_s']:,.0f} tokens/s.",
        "",
        "## Samples",
        "",
    ]
    for prompt, greedy, sampled in samples:
        lines += [f"**{prompt}**", "", f"- greedy: {prompt}{greedy}", f"- T=0.8: {prompt}{sampled}", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
