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
from typer.core import TyperGroup

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
feedback_app = typer.Typer(help="Feedback from the web chat page (thumbs, comparisons): export it as training data.",
                           no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")

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
        str | None, typer.Argument(help=f"One section ({', '.join(config_mod.SECTIONS)}); all by default.")
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
    model: Annotated[list[Path], typer.Option(help="Checkpoint (or run directory) whose samples are ranked, e.g. the SFT "
                                              "model; repeat it to rank several models' samples side by side (K / n each).")],
    prompts: Annotated[Path, typer.Option(help="World prompts JSONL, e.g. prompts_rm.jsonl.")],
    out: Annotated[Path, typer.Option(help="Rankings JSONL to write.")],
    k: Annotated[int, typer.Option("--k", help="Answers sampled and ranked per prompt.")] = 4,
    rounds: Annotated[int, typer.Option(help="Times each prompt is sampled and ranked anew, by a labeler drawn anew.")] = 1,
    world: Annotated[Path | None, typer.Option(help="world.json (default: beside --prompts).")] = None,
    labelers: Annotated[int, typer.Option(help="Size of the labeler pool.")] = 40,
    overlap: Annotated[float, typer.Option(help="Share of prompts ranked twice to measure agreement.")] = 0.2,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    max_new_tokens: Annotated[int, typer.Option(help="Answer length limit.")] = 64,
    seed: Annotated[int, typer.Option(help="Seeds sampling and the labelers.")] = 0,
) -> None:
    """Sample K answers per prompt from one or more checkpoints and have simulated labelers rank them (reward-model data)."""
    from chatrlhf.label.simulate import SimulateConfig, simulate_rankings

    cfg = SimulateConfig(k=k, rounds=rounds, labelers=labelers, overlap=overlap, temperature=temperature,
                         max_new_tokens=max_new_tokens, seed=seed)
    figures = simulate_rankings(model, prompts, out, cfg, world)
    typer.echo(f"labeler agreement {figures['labeler_agreement']:.1%}, labelers vs gold judge "
               f"{figures['labeler_vs_judge']:.1%}; rankings written to {out}")


FEEDBACK_DB = "sqlite:///runs/feedback.db"  # where the chat page's thumbs and comparisons go by default


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Path, typer.Option(help="Prefix of the files to write: OUT.ratings.jsonl and OUT.rankings.jsonl.")],
    db: Annotated[str, typer.Option(help="Database of `chatrlhf serve --db`: SQLAlchemy URL or SQLite file.")] = FEEDBACK_DB,
    thumb_rankings: Annotated[bool, typer.Option(help="Also rank answers a user thumbed up above those they thumbed "
                                                 "down for the same conversation.")] = True,
) -> None:
    """Write thumbs as rating JSONL (up = Likert 6, down = 2) and comparisons as ranking JSONL for `chatrlhf reward`."""
    from chatrlhf.serve.feedback import export_feedback

    done = export_feedback(db, out, thumb_rankings)
    typer.echo(f"{done['n_ratings']} ratings -> {done['ratings']}")
    typer.echo(f"{done['n_rankings']} rankings ({done['n_comparisons']} from comparisons) -> {done['rankings']}")
    if done["n_rankings"]:
        typer.echo(f"train a reward model on them: chatrlhf reward --model SFT_DIR --data {done['rankings']} --out RM_DIR")


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
    final = train_pretrain(cfg["pretrain"], data, out, cfg["model"], cfg["tokenizer"],
                           tokenizer_dir=str(tokenizer) if tokenizer else None, resume=resume)
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
    chosen = train_sft(cfg["sft"], model, data, out, world=world, resume=resume, select_by_reward=select_by_reward)
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
    typer.echo(f"reward model: {train_reward(cfg['reward'], model, data, out, demos, world)}")


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
    typer.echo(f"model: {train_ppo(cfg['ppo'], policy, reward, prompts, out, resume=resume, ptx_data=ptx_data)}")


@app.command("eval")
def eval_(
    model: Annotated[list[str], typer.Option(help="NAME=DIR: a checkpoint or run directory to evaluate; repeatable.")],
    world: Annotated[Path, typer.Option(help="World directory (world.json and eval.jsonl).")],
    baseline: Annotated[str, typer.Option(help="NAME of the model that win rates and KL are measured against.")] = "",
    out: Annotated[Path | None, typer.Option(help="Write the card (figures, stock phrases, answers) as JSON here.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Answer length limit.")] = 64,
    rm: Annotated[Path | None, typer.Option(help="Reward model directory: adds each model's mean RM score.")] = None,
    plots: Annotated[Path | None, typer.Option(help="Write the card's PNG plots into this directory.")] = None,
) -> None:
    """Judge models on the world's held-out eval prompts: refusals, false premises, win rate, KL, alignment tax,
    RM vs gold score, the article's questions (docs/design.md 6b)."""
    import json

    from chatrlhf.evaluate import card_text, evaluate_models
    from chatrlhf.plots import run_dir, write_plots

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
    card = evaluate_models(checkpoints, world, base, max_new_tokens, rm)
    results = card["models"]
    typer.echo(card_text(card))
    if plots:
        dirs = {**checkpoints, **({"rm": rm} if rm else {})}
        runs = {name: run_dir(path) or path for name, path in dirs.items()}  # the runs that logged metrics get curves
        for caption, path in write_plots(plots, runs, results).items():
            typer.echo(f"{caption}: {path}")
    if out:
        out.write_text(json.dumps(card, indent=1) + "\n")


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
        typer.echo(f"user: {prompt[i // n]}\nassistant: {text.removeprefix(' ')}" if chat else prompt[i // n] + text)


@app.command()
def pipeline(
    out: Annotated[Path, typer.Option(help="Directory for every stage's run and the report.")] = Path("runs/default"),
    seed: Annotated[int, typer.Option(help="Seed of the built-in world.")] = 0,
    world_size: Annotated[str, typer.Option("--size", "--world-size", help="World size: tiny | small | base.")] = "small",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run every stage that exists end to end on the built-in world and write a report (what `make run` does).

    Stages already finished in OUT are skipped and an interrupted one resumes, so rerunning is cheap.
    """
    from chatrlhf.pipeline import run_pipeline

    report = run_pipeline(out, seed, world_size, config, set_)
    typer.echo(f"report: {report}")


ModerationOpt = Annotated[
    Path | None, typer.Option("--moderation", help="Moderation classifier directory: flagged input is refused, "
                              "a flagged answer withheld.")
]


@app.command("chat")
def chat_cmd(
    model: Annotated[Path, typer.Option(help="Checkpoint or run directory to chat with.")],
    moderation: ModerationOpt = None,
    system: Annotated[str | None, typer.Option(help="System prompt (change it in the chat with /system TEXT).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Chat in the terminal: multi-turn, answers stream token by token; /reset, /system TEXT, /exit.

    Sampling follows the serve section, e.g. --set serve.temperature=0.7 --set serve.max_tokens=128.
    """
    from chatrlhf.serve.chat import chat
    from chatrlhf.serve.engine import load_engine, use_threads

    cfg = config_mod.load_config(["serve"], config, set_)["serve"]
    use_threads(cfg)
    engine = load_engine(model, moderation, cfg)
    try:
        chat(engine, cfg, system)
    except KeyboardInterrupt:
        typer.echo()
    finally:
        engine.close()


@app.command()
def serve(
    model: Annotated[Path, typer.Option(help="Checkpoint or run directory to serve.")],
    moderation: ModerationOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 exposes the server to the network).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    api_key: Annotated[str | None, typer.Option(envvar="CHATRLHF_API_KEY",
                                                help="Require 'Authorization: Bearer KEY' on /v1.")] = None,
    name: Annotated[str | None, typer.Option(help="Model id clients ask for. Default: the --model directory's name.")] = None,
    db: Annotated[str, typer.Option(help="Where the chat page's thumbs and comparisons go: SQLAlchemy URL or SQLite "
                                    "file (read by `chatrlhf feedback export`).")] = FEEDBACK_DB,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Serve an OpenAI-compatible API: /v1/chat/completions (streaming too), /v1/models, /v1/moderations, /health,
    and the web chat page at / (thumbs and comparisons stored in --db)."""
    import uvicorn

    from chatrlhf.serve.api import create_app
    from chatrlhf.serve.engine import use_threads

    cfg = config_mod.load_config(["serve"], config, set_)["serve"]
    use_threads(cfg)
    app_ = create_app(model, moderation, api_key, cfg, model_name=name, db=db)
    typer.echo(f"serving {app_.state.model_name} on http://{host}:{port}/v1 (OpenAI-compatible)")
    typer.echo(f"chat page: http://{host}:{port}/ (export its feedback: chatrlhf feedback export --db DB --out PREFIX)")
    uvicorn.run(app_, host=host, port=port, log_level="info")


class _TextOrCommand(TyperGroup):
    """A group whose first word, when not one of its commands, is text for its `check` command."""

    def resolve_command(self, ctx, args):
        if args and args[0] in self.commands:
            return super().resolve_command(ctx, args)
        return "check", self.commands["check"], args


moderate_app = typer.Typer(
    cls=_TextOrCommand, no_args_is_help=True, context_settings={"ignore_unknown_options": True},
    help="Moderation: flag text by OpenAI's 13 categories.\n\n"
         "chatrlhf moderate --model DIR \"text\" ... prints OpenAI-shaped results as JSON (the same as `moderate check`);"
         "\n\nchatrlhf moderate train --model BACKBONE --data moderation.jsonl --out DIR trains a classifier.")
app.add_typer(moderate_app, name="moderate")


@moderate_app.command("check")
def moderate_check(
    text: Annotated[list[str], typer.Argument(help="Text to score, as written; several texts give several results.")],
    model: Annotated[Path, typer.Option(help="Moderation classifier directory (from `chatrlhf moderate train`).")],
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "cpu",
) -> None:
    """Print {"id", "model", "results": [{"flagged", "categories", "category_scores"}]} for the texts."""
    import json
    import uuid

    from chatrlhf.moderation import load_moderation, moderate

    results = moderate(load_moderation(model, device), text)
    typer.echo(json.dumps({"id": f"modr-{uuid.uuid4().hex}", "model": model.resolve().name, "results": results}, indent=1))


@moderate_app.command("train")
def moderate_train(
    model: Annotated[Path, typer.Option(help="Backbone: a pretrained or SFT checkpoint or run directory.")],
    data: Annotated[Path, typer.Option(help="Moderation JSONL: {\"text\", \"categories\", \"split\"} rows; "
                                       "split \"test\" is held out for the report.")],
    out: Annotated[Path, typer.Option(help="Directory for the classifier (replaced atomically when it exists).")],
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train the classifier, choose per-category thresholds on held-out training templates, print the test report."""
    import json

    from chatrlhf.moderation import REPORT_FILE, format_report, train_moderation

    cfg = config_mod.load_config(["moderation"], config, set_)
    path = train_moderation(cfg["moderation"], model, data, out)
    report = json.loads((path / REPORT_FILE).read_text())
    typer.echo(format_report(report) if "test" in report else f"{data}: no split \"test\" rows, so no held-out report")
    typer.echo(f"moderation classifier: {path}")


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
