"""The `chatrlhf` command line: one typer app, one command per stage.

Every command that trains takes `--config FILE.yaml` and repeated `--set section.key=value`; the
resolved config is saved next to the run's outputs. Bad input stops with one line naming the file,
line or key, and exit status 2.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

import chatrlhf  # noqa: F401  (flush-denormal before anything else touches torch)
from chatrlhf import config as config_mod
from chatrlhf.config import UserError

app = typer.Typer(
    help="InstructGPT end to end: pretrain a GPT, fine-tune, learn a reward model, optimise with PPO, chat.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tokenizer_app = typer.Typer(help="Train a byte-level BPE tokenizer with chat special tokens.", no_args_is_help=True)
app.add_typer(tokenizer_app, name="tokenizer")
world_app = typer.Typer(help="The built-in world: facts, corpus, prompts, demonstrations, moderation data.", no_args_is_help=True)
app.add_typer(world_app, name="world")
reward_app = typer.Typer(help="Step 2: train a reward model from rankings (or score an answer with one).",
                         invoke_without_command=True)
app.add_typer(reward_app, name="reward")
label_app = typer.Typer(help="Labeling: simulated labelers rank, rate and write demonstrations.", no_args_is_help=True)
app.add_typer(label_app, name="label")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML file of section: {key: value} overrides.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one value, e.g. --set pretrain.lr=1e-3 (repeatable)."),
]
DataOpt = Annotated[list[Path], typer.Option("--data", help="Text file (.txt) or JSONL of {\"text\": ...}; repeatable.")]


def setup_logging() -> None:
    """Info on the main process only; torchrun's other ranks stay quiet."""
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(format="%(message)s", level=logging.INFO if rank == 0 else logging.WARNING, force=True)
    for noisy in ("httpx", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command("config")
def config_show(
    section: Annotated[
        str | None, typer.Argument(help="One section (model, tokenizer, pretrain, sft, reward, sample, ppo).")
    ] = None,
) -> None:
    """Print the default configuration, with a comment on every key."""
    names = [section] if section else list(config_mod.SECTIONS)
    for name in names:
        if name not in config_mod.SECTIONS:
            raise UserError(f"unknown config section '{name}'; valid sections: {', '.join(config_mod.SECTIONS)}")
        typer.echo(config_mod.describe(name))


@tokenizer_app.command("train")
def tokenizer_train(
    data: DataOpt,
    out: Annotated[Path, typer.Option(help="Directory to write tokenizer.json and tokenizer_config.json to.")],
    vocab_size: Annotated[int, typer.Option(help="Target vocabulary size, special tokens included.")] = 4096,
    min_frequency: Annotated[int, typer.Option(help="A pair must occur this often to be merged.")] = 2,
) -> None:
    """Train a byte-level BPE with role, end-of-turn and padding tokens and a chat template."""
    from chatrlhf.data import read_texts
    from chatrlhf.tokenizer import save_tokenizer, train_tokenizer

    cfg = config_mod.load_config(["tokenizer"], overrides=[f"tokenizer.vocab_size={vocab_size}"])
    tok = train_tokenizer(read_texts(data), cfg["tokenizer"].vocab_size, min_frequency)
    save_tokenizer(tok, out)
    typer.echo(f"tokenizer with {len(tok)} tokens written to {out} (loads with AutoTokenizer.from_pretrained)")


@world_app.command("generate")
def world_generate(
    out: Annotated[Path, typer.Option(help="Directory for world.json, corpus.txt and the JSONL files.")],
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 0,
    size: Annotated[str, typer.Option(help="tiny (tests, seconds) | small (the default pipeline) | base (GPUs).")] = "small",
    lang: Annotated[str, typer.Option(help="Language of the world's text.")] = "en",
) -> None:
    """Generate the built-in world deterministically: facts, step 0 corpus, SFT demonstrations, ranking and
    PPO prompts, held-out evaluation prompts and moderation data."""
    from chatrlhf.world.generate import generate_world
    from chatrlhf.world.labelers import calibration_agreement

    counts = generate_world(seed, size, out, lang)
    for name, kinds in counts.items():
        typer.echo(f"{name:18s} {sum(kinds.values()):5d} rows  " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    typer.echo(f"simulated labelers agree on {calibration_agreement(out, seed):.1%} of pairs of a fixed sample of "
               "mixed-quality answers (InstructGPT's labelers: 72.6 +- 1.5%)")
    typer.echo(f"world written to {out}")


@label_app.command("simulate")
def label_simulate(
    model: Annotated[Path, typer.Option(help="Checkpoint (or run directory) whose samples are ranked, e.g. the SFT model.")],
    prompts: Annotated[Path, typer.Option(help="World prompts JSONL, e.g. prompts_rm.jsonl.")],
    out: Annotated[Path, typer.Option(help="Rankings JSONL to write.")],
    k: Annotated[int, typer.Option("--k", help="Answers sampled and ranked per prompt.")] = 4,
    world: Annotated[Path | None, typer.Option(help="world.json (default: beside --prompts).")] = None,
    labelers: Annotated[int, typer.Option(help="Size of the labeler pool.")] = 40,
    overlap: Annotated[float, typer.Option(help="Share of prompts ranked twice to measure agreement.")] = 0.2,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    max_new_tokens: Annotated[int, typer.Option(help="Answer length limit.")] = 64,
    seed: Annotated[int, typer.Option(help="Seeds sampling and the labelers.")] = 0,
) -> None:
    """Sample K answers per prompt from a checkpoint and have simulated labelers rank them (reward-model data)."""
    from chatrlhf.label.simulate import SimulateConfig, simulate_rankings

    cfg = SimulateConfig(k=k, labelers=labelers, overlap=overlap, temperature=temperature,
                         max_new_tokens=max_new_tokens, seed=seed)
    figures = simulate_rankings(model, prompts, out, cfg, world)
    typer.echo(f"labeler agreement {figures['labeler_agreement']:.1%}, labelers vs gold judge "
               f"{figures['labeler_vs_judge']:.1%}; rankings written to {out}")


@app.command()
def pretrain(
    data: DataOpt,
    out: Annotated[Path, typer.Option(help="Run directory: checkpoints step-N/, latest, metrics.jsonl, config.yaml.")],
    tokenizer: Annotated[
        Path | None, typer.Option(help="Tokenizer directory; default: train one on --data (size tokenizer.vocab_size).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/latest (weights, optimizer, RNG, step).")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Step 0: train a causal LM on packed text (AdamW, warmup + cosine, clipping, held-out loss).

    Runs on several processes with `torchrun --nproc_per_node N -m chatrlhf.cli pretrain ...`.
    """
    from chatrlhf.train.pretrain import train_pretrain

    base = _saved_config(out) if resume else None
    cfg = config_mod.load_config(["model", "tokenizer", "pretrain"], config, set_, base=base)
    final = train_pretrain(cfg, data, out, tokenizer_dir=str(tokenizer) if tokenizer else None, resume=resume)
    if int(os.environ.get("RANK", "0")) == 0:
        typer.echo(f"model: {final}")


@app.command()
def sft(
    model: Annotated[Path, typer.Option(help="Pretrained checkpoint or run directory to fine-tune.")],
    data: Annotated[Path, typer.Option(help="Demonstrations: conversation JSONL, or {\"prompt\", \"completion\"} rows.")],
    out: Annotated[Path, typer.Option(help="Run directory: one checkpoint per epoch, best (lowest held-out loss), latest.")],
    world: Annotated[
        Path | None, typer.Option(help="world.json whose gold judge scores held-out answers (default: beside --data).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/latest.")] = False,
    select_by_reward: Annotated[
        Path | None, typer.Option(help="Reward model: keep the epoch whose held-out answers it scores highest.")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Step 1: fine-tune on demonstrations with the loss on assistant tokens only; keep the best epoch."""
    from chatrlhf.train.sft import train_sft

    base = _saved_config(out) if resume else None
    cfg = config_mod.load_config(["sft"], config, set_, base=base)
    chosen = train_sft(cfg, model, data, out, world=world, resume=resume, select_by_reward=select_by_reward)
    if int(os.environ.get("RANK", "0")) == 0:
        typer.echo(f"model: {chosen}")


@reward_app.callback()
def reward(
    ctx: typer.Context,
    model: Annotated[Path | None, typer.Option(help="SFT checkpoint or run directory: the backbone.")] = None,
    data: Annotated[Path | None, typer.Option(help="Rankings JSONL (K answers ranked per prompt, or chosen/rejected).")] = None,
    out: Annotated[Path | None, typer.Option(help="Directory for the reward model.")] = None,
    demos: Annotated[
        Path | None, typer.Option(help="Demonstrations (sft.jsonl) that score 0 on average after training.")
    ] = None,
    world: Annotated[
        Path | None, typer.Option(help="world.json whose gold judge checks held-out pairs (default: beside --data).")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Step 2: a reward model from rankings; all K answers of a prompt in one batch element, one epoch.

    `chatrlhf reward score --model DIR --prompt ... --response ...` scores an answer.
    """
    if ctx.invoked_subcommand is not None:
        return
    missing = [f"--{n}" for n, v in (("model", model), ("data", data), ("out", out)) if v is None]
    if missing:
        raise UserError(f"chatrlhf reward: missing {', '.join(missing)} (see chatrlhf reward --help)")
    from chatrlhf.train.reward import train_reward

    cfg = config_mod.load_config(["reward"], config, set_)
    typer.echo(f"reward model: {train_reward(cfg, model, data, out, demos, world)}")


@reward_app.command("score")
def reward_score(
    model: Annotated[Path, typer.Option(help="Reward model directory.")],
    prompt: Annotated[str, typer.Option(help="The user's message.")],
    response: Annotated[list[str], typer.Option(help="An answer to score; repeatable.")],
) -> None:
    """Print the reward model's score of each answer to a prompt (demonstrations average 0)."""
    import torch

    from chatrlhf.model import encode_answers, load_reward_model, score_texts
    from chatrlhf.tokenizer import load_tokenizer

    rm, info = load_reward_model(model)
    tok = load_tokenizer(model)
    seqs = encode_answers(tok, [{"role": "user", "content": prompt}], response, info.get("max_len", 256))
    for r, s in zip(response, score_texts(rm, seqs, tok.pad_token_id, torch.device("cpu")).tolist(), strict=True):
        typer.echo(f"{s:+.4f}  {r}")


@app.command()
def ppo(
    policy: Annotated[Path, typer.Option(help="SFT checkpoint or run directory: the initial policy and the KL reference.")],
    reward: Annotated[str, typer.Option(help="Reward-model directory (the value model starts from it), 'judge' for "
                                        "the world's gold judge, or module:function(messages, response) -> float.")],
    prompts: Annotated[Path, typer.Option(help="Prompts JSONL (conversations ending with a user turn).")],
    out: Annotated[Path, typer.Option(help="Run directory: checkpoints (policy, value/ inside), metrics.jsonl, samples.jsonl.")],
    ptx_coef: Annotated[
        float | None, typer.Option(help="PPO-ptx: weight of the pretraining LM loss. Default: ppo.ptx_coef.")
    ] = None,
    ptx_data: Annotated[Path | None, typer.Option(help="Pretraining text for PPO-ptx, e.g. world/corpus.txt.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/latest.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Step 3: PPO against the reward model with a per-token KL penalty to the SFT model (and PPO-ptx)."""
    from chatrlhf.train.ppo import train_ppo

    base = _saved_config(out) if resume else None
    overrides = [*(set_ or []), *([f"ppo.ptx_coef={ptx_coef}"] if ptx_coef is not None else [])]
    cfg = config_mod.load_config(["ppo"], config, overrides, base=base)
    typer.echo(f"model: {train_ppo(cfg, policy, reward, prompts, out, resume=resume, ptx_data=ptx_data)}")


@app.command("eval")
def eval_(
    model: Annotated[list[str], typer.Option(help="NAME=DIR: a checkpoint or run directory to evaluate; repeatable.")],
    world: Annotated[Path, typer.Option(help="World directory (world.json and eval.jsonl).")],
    baseline: Annotated[str, typer.Option(help="NAME of the model that win rates and KL are measured against.")] = "",
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Answer length limit.")] = 64,
) -> None:
    """Judge models on the world's held-out eval prompts: refusals, false premises, win rate, KL (DESIGN 6b)."""
    import json

    from chatrlhf.evaluate import evaluate_models

    for m in model:
        if "=" not in m or not m.split("=", 1)[0]:
            raise UserError(f"--model: expected NAME=DIR, got {m!r}")
    checkpoints = {name: Path(path) for name, path in (m.split("=", 1) for m in model)}
    base = baseline or next(iter(checkpoints))
    if base not in checkpoints:
        raise UserError(f"--baseline {base}: not one of the --model names ({', '.join(checkpoints)})")
    for name in ("world.json", "eval.jsonl"):
        if not (world / name).is_file():
            raise UserError(f"{world}: no {name}; pass the directory `chatrlhf world generate` wrote")
    results = evaluate_models(checkpoints, world, base, max_new_tokens)
    names = list(results)
    typer.echo(f"{'':32}" + "".join(f"{n:>12}" for n in names))
    for key in results[names[0]]:
        cells = "".join(f"{'n/a' if results[n][key] is None else format(results[n][key], '.3f'):>12}" for n in names)
        typer.echo(f"{key:32}{cells}")
    if out:
        out.write_text(json.dumps(results, indent=1) + "\n")


def _saved_config(run_dir: Path) -> dict | None:
    """A resumed run starts from the config it was started with; --config and --set apply on top."""
    import yaml

    path = run_dir / "config.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else None


@app.command()
def sample(
    model: Annotated[Path, typer.Option(help="Checkpoint directory, or a run directory (its latest checkpoint).")],
    prompt: Annotated[list[str], typer.Option(help="Prompt text; repeatable for a batch.")],
    n: Annotated[int, typer.Option("--n", help="Samples per prompt.")] = 1,
    chat: Annotated[bool, typer.Option("--chat", help="Send the prompt as a user turn and print the reply.")] = False,
    max_new_tokens: Annotated[int | None, typer.Option(help="Default: sample.max_new_tokens.")] = None,
    temperature: Annotated[float | None, typer.Option(help="0 is greedy. Default: sample.temperature.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus mass. Default: sample.top_p.")] = None,
    top_k: Annotated[int | None, typer.Option(help="Keep the k most likely tokens, 0 keeps all. Default: sample.top_k.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed. Default: sample.seed.")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Generate from a checkpoint with the shared batched sampler (KV cache, temperature, top-p, top-k)."""
    import torch

    from chatrlhf.model import check_tokenizer_matches, load_model, pick_device, resolve_checkpoint
    from chatrlhf.sampling import sample as run_sampler
    from chatrlhf.tokenizer import EOS, encode_chat, encode_text, load_tokenizer, stop_token_ids

    flags = {"max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k, "seed": seed}
    overrides = [*(set_ or []), *(f"sample.{k}={v}" for k, v in flags.items() if v is not None)]
    sc = config_mod.load_config(["sample"], config, overrides)["sample"]
    if n < 1:
        raise UserError(f"--n: expected a positive integer, got {n}")
    ckpt = resolve_checkpoint(model)
    tok = load_tokenizer(ckpt)
    lm = load_model(ckpt, pick_device(device))
    check_tokenizer_matches(lm, tok, ckpt)
    if chat:
        ids = [encode_chat(tok, [{"role": "user", "content": p}], add_generation_prompt=True)[0] for p in prompt]
    else:
        ids = [encode_text(tok, p) or [tok.convert_tokens_to_ids(EOS)] for p in prompt]
    batch = [i for i in ids for _ in range(n)]
    out = run_sampler(
        lm,
        batch,
        max_new_tokens=sc.max_new_tokens,
        stop_ids=stop_token_ids(tok),
        pad_id=tok.pad_token_id,
        temperature=sc.temperature,
        top_k=sc.top_k,
        top_p=sc.top_p,
        generator=torch.Generator(lm.device).manual_seed(sc.seed),
    )
    for i, response in enumerate(out.responses()):
        text = tok.decode(response, skip_special_tokens=False)
        typer.echo(f"--- sample {i + 1} ---")
        typer.echo(f"user: {prompt[i // n]}\nassistant: {text}" if chat else prompt[i // n] + text)


@app.command()
def pipeline(
    out: Annotated[Path, typer.Option(help="Directory for every stage's run and the report.")] = Path("runs/default"),
    seed: Annotated[int, typer.Option(help="Seed of the built-in world.")] = 0,
    world_size: Annotated[str, typer.Option(help="tiny | small | base")] = "small",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run every stage that exists end to end on the built-in world and write a report (what `make run` does).

    Stages already finished in OUT are skipped and an interrupted one resumes, so rerunning is cheap.
    """
    from chatrlhf.pipeline import run_pipeline

    report = run_pipeline(out, seed, world_size, config, set_)
    typer.echo(f"report: {report}")


def main() -> None:
    setup_logging()
    try:
        app()
    except UserError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted; the last checkpoint is intact (rerun with --resume)", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
