"""`chatrlhf pipeline`: every stage that exists, end to end, and a report of what each produced.

Today: generate the built-in world, pretrain on its corpus (step 0), measure closed-book recall of its
facts (held-out regions included) and sample; each later stage adds itself here. A stage whose output
is already complete is skipped and an interrupted one resumes, so `make run` twice costs one run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from chatrlhf import config as config_mod
from chatrlhf.config import UserError
from chatrlhf.evaluate import fact_recall
from chatrlhf.model import load_model
from chatrlhf.sampling import sample
from chatrlhf.tokenizer import END, EOS, encode_text, load_tokenizer
from chatrlhf.train.pretrain import train_pretrain
from chatrlhf.world.generate import generate_world

log = logging.getLogger("chatrlhf.pipeline")

# A budget that shows step 0 working in a few minutes on 2 CPU cores: on the small world a 3.6M model
# recalled every capital, held-out regions included, after 200 steps (README gives the command).
PIPELINE_DEFAULTS = [
    "pretrain.max_steps=250",
    "pretrain.warmup_steps=25",
    "pretrain.eval_every=50",
    "pretrain.save_every=50",
]


def run_pipeline(
    out: Path,
    seed: int = 0,
    world_size: str = "small",
    config_file: Path | None = None,
    overrides: list[str] | None = None,
) -> Path:
    """Run the stages into `out` and return the path of `out/report.md`."""
    out = Path(out)
    cfg = config_mod.load_config(["model", "tokenizer", "pretrain"], config_file, [*PIPELINE_DEFAULTS, *(overrides or [])])
    out.mkdir(parents=True, exist_ok=True)

    world_dir = out / "world"
    if not (world_dir / "moderation.jsonl").is_file():  # written last: its presence means a complete world
        log.info("== the built-in world (%s, seed %d)", world_size, seed)
        generate_world(seed, world_size, world_dir)
    world = json.loads((world_dir / "world.json").read_text())
    if (world["seed"], world["size"]) != (seed, world_size):
        raise UserError(f"{world_dir}: holds the {world['size']} world of seed {world['seed']}; use another --out")

    log.info("== step 0: pretraining on %s", world_dir / "corpus.txt")
    ckpt = train_pretrain(cfg, [world_dir / "corpus.txt"], out / "pretrain", resume=True)

    log.info("== closed-book fact recall and samples from %s", ckpt)
    tok, model = load_tokenizer(ckpt), load_model(ckpt)
    recall = fact_recall(model, tok, world)
    prompts = sample_prompts_for(world)
    samples = sample_prompts(model, tok, prompts)
    (out / "report.json").write_text(json.dumps({"pretrain": {"checkpoint": str(ckpt), **recall}}, indent=1) + "\n")
    return write_report(out, ckpt, recall, samples)


def sample_prompts_for(world: dict) -> list[str]:
    """Completion prompts about a training region, a held-out one and a landlocked held-out one."""
    train = next(r for r in world["regions"] if r["split"] == "train")
    held = [r for r in world["regions"] if r["split"] == "eval"]
    land = next(r for r in held if not r["coastal"])
    return [f"The capital of {train['name']} is", f"The capital of {held[0]['name']} is", f"{land['name']} is",
            f"{held[0]['name']} is famous for"]


def sample_prompts(model, tok, prompts: list[str], max_new_tokens: int = 30) -> list[tuple[str, str, str]]:
    """(prompt, greedy continuation, sampled continuation) for each prompt."""
    ids = [encode_text(tok, p) for p in prompts]
    stop = [tok.convert_tokens_to_ids(END), tok.convert_tokens_to_ids(EOS)]
    kw = {"max_new_tokens": max_new_tokens, "stop_ids": stop, "pad_id": tok.pad_token_id}
    greedy = sample(model, ids, temperature=0.0, **kw).responses()
    sampled = sample(model, ids, temperature=0.8, generator=torch.Generator().manual_seed(0), **kw).responses()
    return [(p, tok.decode(g), tok.decode(s)) for p, g, s in zip(prompts, greedy, sampled, strict=True)]


def write_report(out: Path, ckpt: Path, recall: dict[str, float], samples: list[tuple[str, str, str]]) -> Path:
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
        "Closed-book recall (greedy completion of \"The capital of R is\" names R's capital):",
        "",
        f"- training regions: {recall['capital_recall_train']:.0%}",
        f"- held-out regions (facts only in the corpus): {recall['capital_recall_eval']:.0%}",
        "",
        "## Samples",
        "",
    ]
    for prompt, greedy, sampled in samples:
        lines += [f"**{prompt}**", "", f"- greedy: {prompt}{greedy}", f"- T=0.8: {prompt}{sampled}", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
