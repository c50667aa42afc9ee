"""`chatrlhf pipeline`: every stage that exists, end to end, and a report of what each produced.

World -> step 0 pretraining (with closed-book fact recall) -> step 1 SFT -> K answers per prompt sampled
from SFT and ranked by simulated labelers -> step 2 reward model -> step 3 PPO; then one more round, as
InstructGPT and Anthropic's HH iterated: answers of SFT and of that PPO policy ranked side by side, a reward
model on all the rankings, and PPO and PPO-ptx from SFT against it. Each stage talks to the next through
files and logs the command that reruns it alone. A stage whose output is
complete is skipped and an interrupted one resumes, so `make run` twice costs one run.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from pathlib import Path

import torch

from chatrlhf import config as config_mod
from chatrlhf.config import PPOConfig, UserError
from chatrlhf.evaluate import card_markdown, evaluate_models, fact_recall, reading_probe
from chatrlhf.label.simulate import SimulateConfig, simulate_rankings
from chatrlhf.model import load_model, resolve_checkpoint
from chatrlhf.moderation import REPORT_FILE as MODERATION_REPORT
from chatrlhf.moderation import train_moderation
from chatrlhf.plots import write_plots
from chatrlhf.sampling import sample
from chatrlhf.tokenizer import encode_text, load_tokenizer, stop_token_ids
from chatrlhf.train.ppo import train_ppo
from chatrlhf.train.pretrain import train_pretrain
from chatrlhf.train.reward import train_reward
from chatrlhf.train.sft import train_sft
from chatrlhf.world.generate import generate_world

log = logging.getLogger("chatrlhf.pipeline")

# A budget that shows every stage working in minutes on 2 CPU cores (docs/results.md gives the figures). Step 0
# reads the world's corpus (its facts, learned closed-book) in a quarter of each batch and the reading stream in
# the rest: the corpus alone is memorised within 100 steps and teaches no reading (docs/log.md).
PIPELINE_DEFAULTS = [
    "pretrain.max_steps=600",
    "pretrain.warmup_steps=50",
    "pretrain.eval_every=100",
    "pretrain.save_every=100",
    "pretrain.reading_share=0.75",
    "pretrain.lr=4e-3",  # twice the default: reading emerged sooner (docs/log.md)
    "sft.epochs=8",  # half the paper's 16: held-out loss falls little after 8 on the small world
    "ppo.iterations=30",
]
RANK_K = 8  # answers ranked per prompt (InstructGPT: 4 to 9)
RANK_ROUNDS = 2  # times each ranking prompt is sampled and ranked anew (one ranking of 4 answers a prompt gave reward
# models at 57-77% against the gold judge on the small world, two of 8 one at 80%, that PPO could follow: README)
PTX_COEF = 1.0  # gamma of the PPO-ptx run
RLHF_ROUNDS = 2  # rankings -> RM -> PPO rounds; from the second on, half of each ranking's answers come from the last
# PPO policy: SFT never refuses a harmless request, so only then does a ranking show such a refusal losing (docs/log.md)


def budget(section: str) -> list[str]:
    """The pipeline's own settings of one config section, as the `--set` options that rerun a stage alone."""
    return [f"--set={o}" for o in PIPELINE_DEFAULTS if o.startswith(f"{section}.")]


def stage(title: str, *argv: str) -> None:
    """Log a stage, the time it starts and the command line that reruns it alone."""
    log.info("== %s [%s]\n   $ chatrlhf %s", title, time.strftime("%H:%M:%S"), shlex.join(argv))


def run_pipeline(
    out: Path,
    seed: int = 0,
    world_size: str = "small",
    config_file: Path | None = None,
    overrides: list[str] | None = None,
) -> Path:
    """Run the stages into `out` and return the path of `out/report.md`."""
    out = Path(out)
    cfg = config_mod.load_config(["model", "tokenizer", "pretrain", "sft", "reward", "ppo", "moderation"], config_file,
                                 [*PIPELINE_DEFAULTS, *(overrides or [])])
    out.mkdir(parents=True, exist_ok=True)
    sets = [f"--set={o}" for o in overrides or []]

    world_dir = out / "world"
    if not (world_dir / "moderation.jsonl").is_file():  # written last: its presence means a complete world
        stage(f"the built-in world ({world_size}, seed {seed})", "world", "generate", "--seed", str(seed), "--size",
              world_size, "--out", str(world_dir))
        generate_world(seed, world_size, world_dir)
    world = json.loads((world_dir / "world.json").read_text())
    if (world["seed"], world["size"]) != (seed, world_size):
        raise UserError(f"{world_dir}: holds the {world['size']} world of seed {world['seed']}; use another --out")

    stage("step 0: pretraining", "pretrain", "--data", str(world_dir / "corpus.txt"), "--out", str(out / "pretrain"),
          *budget("pretrain"), *sets)
    pretrained = train_pretrain(cfg["pretrain"], [world_dir / "corpus.txt"], out / "pretrain", cfg["model"],
                                 cfg["tokenizer"], resume=True)
    tok, model = load_tokenizer(pretrained), load_model(pretrained)
    recall = {**fact_recall(model, tok, world), **reading_probe(model, tok, world["lang"])}
    samples = sample_prompts(model, tok, sample_prompts_for(world))

    stage("step 1: supervised fine-tuning", "sft", "--model", str(out / "pretrain"), "--data",
          str(world_dir / "sft.jsonl"), "--out", str(out / "sft"), *budget("sft"), *sets)
    sft = train_sft(cfg["sft"], out / "pretrain", world_dir / "sft.jsonl", out / "sft", resume=True)

    moderation_dir = out / "moderation"  # on SFT: it told held-out harmful from harmless text better than pretraining
    if not (moderation_dir / MODERATION_REPORT).is_file():  # written atomically: present means complete
        stage("moderation classifier on the SFT backbone", "moderate", "train", "--model", str(out / "sft"), "--data",
              str(world_dir / "moderation.jsonl"), "--out", str(moderation_dir), *sets)
        train_moderation(cfg["moderation"], out / "sft", world_dir / "moderation.jsonl", moderation_dir)

    rankings = out / "rankings.jsonl"
    if not rankings.is_file():  # written under a temporary name and renamed: present means complete
        stage("rankings: K answers per prompt from SFT, ranked by simulated labelers", "label", "simulate", "--model",
              str(out / "sft"), "--prompts", str(world_dir / "prompts_rm.jsonl"), "--k", str(RANK_K), "--rounds",
              str(RANK_ROUNDS), "--world", str(world_dir / "world.json"), "--out", str(rankings))
        figures = simulate_rankings(out / "sft", world_dir / "prompts_rm.jsonl", rankings,
                                    SimulateConfig(k=RANK_K, rounds=RANK_ROUNDS), world_dir / "world.json")
        (out / "rankings.agreement.json").write_text(json.dumps(figures, indent=1) + "\n")

    rm_dir = train_reward_stage(cfg, out, rankings, out / "rm", world_dir, sets)
    prompts = world_dir / "prompts_ppo.jsonl"
    rounds = [{"rankings": json.loads((out / "rankings.agreement.json").read_text()), "reward_model": reward_report(rm_dir)}]
    for r in range(2, RLHF_ROUNDS + 1):
        last_ppo = out / f"ppo_round{r - 1}"
        stage(f"step 3: PPO, round {r - 1}", "ppo", "--policy", str(out / "sft"), "--reward", str(rm_dir), "--prompts",
              str(prompts), "--out", str(last_ppo), *budget("ppo"), *sets)
        train_ppo(with_ptx(cfg, 0.0), out / "sft", str(rm_dir), prompts, last_ppo, resume=True)
        more = out / f"rankings.round{r}.jsonl"
        if not more.is_file():
            stage(f"rankings, round {r}: answers of SFT and of PPO round {r - 1} ranked side by side", "label",
                  "simulate", "--model", str(out / "sft"), "--model", str(last_ppo), "--prompts",
                  str(world_dir / "prompts_rm.jsonl"), "--k", str(RANK_K), "--seed", str(r - 1), "--world",
                  str(world_dir / "world.json"), "--out", str(more))
            figures = simulate_rankings([out / "sft", last_ppo], world_dir / "prompts_rm.jsonl", more,
                                        SimulateConfig(k=RANK_K, seed=r - 1), world_dir / "world.json")
            (out / f"rankings.round{r}.agreement.json").write_text(json.dumps(figures, indent=1) + "\n")
        every = out / f"rankings.upto{r}.jsonl"  # the reward model of round r learns from every ranking so far
        if not every.is_file():
            sources = [rankings, *(out / f"rankings.round{i}.jsonl" for i in range(2, r + 1))]
            write_atomic(every, "".join(p.read_text(encoding="utf-8") for p in sources))
        rm_dir = train_reward_stage(cfg, out, every, out / f"rm_round{r}", world_dir, sets)
        rounds.append({"rankings": json.loads((out / f"rankings.round{r}.agreement.json").read_text()),
                       "reward_model": reward_report(rm_dir)})

    stage("step 3: PPO", "ppo", "--policy", str(out / "sft"), "--reward", str(rm_dir), "--prompts", str(prompts),
          "--out", str(out / "ppo"), *budget("ppo"), *sets)
    ppo = train_ppo(with_ptx(cfg, 0.0), out / "sft", str(rm_dir), prompts, out / "ppo", resume=True)
    stage("step 3: PPO-ptx", "ppo", "--policy", str(out / "sft"), "--reward", str(rm_dir), "--prompts", str(prompts),
          "--ptx-coef", str(PTX_COEF), "--ptx-data", str(world_dir / "corpus.txt"), "--out", str(out / "ppo_ptx"),
          *budget("ppo"), *sets)
    ppo_ptx = train_ppo(with_ptx(cfg, PTX_COEF), out / "sft", str(rm_dir), prompts, out / "ppo_ptx", resume=True,
                        ptx_data=world_dir / "corpus.txt")

    log.info("== evaluation: every model on the world's held-out eval prompts, judged by the gold judge [%s]",
             time.strftime("%H:%M:%S"))
    card = evaluate_models({"pretrained": pretrained, "sft": sft, "ppo": ppo, "ppo_ptx": ppo_ptx}, world_dir, rm=rm_dir)
    runs = {"pretraining": out / "pretrain", "SFT": out / "sft", "reward model (ranking loss)": rm_dir, "ppo": out / "ppo",
            "ppo_ptx": out / "ppo_ptx"}
    plots = write_plots(out / "plots", runs, card["models"])
    results = {
        "pretrain": {"checkpoint": str(pretrained), **recall},
        "sft": {"checkpoint": str(sft), **judge_before_after(out / "sft")},
        "rankings": rounds[0]["rankings"],
        "reward_model": rounds[-1]["reward_model"],
        "rounds": rounds,
        "ppo": {"checkpoint": str(ppo), **ppo_summary(out / "ppo")},
        "ppo_ptx": {"checkpoint": str(ppo_ptx), **ppo_summary(out / "ppo_ptx")},
        "moderation": json.loads((moderation_dir / MODERATION_REPORT).read_text()),
        "evaluation": card["models"],
        "stock_phrases": card["stock_phrases"],
        "article_questions": card["article_questions"],
        "plots": {caption: str(path.relative_to(out)) for caption, path in plots.items()},
    }
    (out / "report.json").write_text(json.dumps(results, indent=1) + "\n")
    return write_report(out, results, samples)


def train_reward_stage(cfg: dict, out: Path, rankings: Path, rm_dir: Path, world_dir: Path, sets: list[str]) -> Path:
    """Step 2: a reward model from SFT on `rankings`, unless `rm_dir` already holds a finished one."""
    if not (rm_dir / "reward_model.json").is_file():
        stage("step 2: reward model", "reward", "--model", str(out / "sft"), "--data", str(rankings), "--demos",
              str(world_dir / "sft.jsonl"), "--world", str(world_dir / "world.json"), "--out", str(rm_dir), *sets)
        train_reward(cfg["reward"], out / "sft", rankings, rm_dir, world_dir / "sft.jsonl", world_dir / "world.json")
    return rm_dir


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def with_ptx(cfg: dict, coef: float) -> PPOConfig:
    """The same config with another PPO-ptx coefficient (PPO and PPO-ptx differ only there)."""
    import dataclasses

    return dataclasses.replace(cfg["ppo"], ptx_coef=coef)


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]


def judge_before_after(run: Path) -> dict:
    """The gold judge's scores of greedy answers before SFT (epoch 0) and for the selected epoch."""
    evals = [m for m in read_metrics(run) if "val_loss" in m]
    best = resolve_checkpoint(run).name
    chosen = next((m for m in evals if f"step-{m['step']:06d}" == best), evals[-1])
    keep = lambda m: {k: v for k, v in m.items() if k.startswith("judge") or k in ("val_loss", "epoch")}  # noqa: E731
    return {"before": keep(evals[0]), "selected": keep(chosen)}


def reward_report(rm_dir: Path) -> dict:
    info = json.loads((rm_dir / "reward_model.json").read_text())
    return {k: v for k, v in info.items() if k != "how_to_load"}


def ppo_summary(run: Path) -> dict:
    """First and last iterations' figures (means over the last 10% of iterations, where noise is large)."""
    m = read_metrics(run)
    tail = m[-max(1, len(m) // 10):]
    keys = [k for k in m[-1] if isinstance(m[-1][k], (int, float)) and k not in ("step", "time")]
    return {"iterations": len(m), "first": {k: m[0].get(k) for k in keys},
            "last": {k: sum(r[k] for r in tail if k in r) / len(tail) for k in keys}}


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
    stop = stop_token_ids(tok)
    kw = {"max_new_tokens": max_new_tokens, "stop_ids": stop, "pad_id": tok.pad_token_id}
    greedy = sample(model, ids, temperature=0.0, **kw).responses()
    sampled = sample(model, ids, temperature=0.8, generator=torch.Generator().manual_seed(0), **kw).responses()
    return [(p, tok.decode(g), tok.decode(s)) for p, g, s in zip(prompts, greedy, sampled, strict=True)]


def moderation_section(m: dict) -> list[str]:
    """The moderation classifier's held-out figures as report lines."""
    pct = lambda v: "n/a" if v is None else f"{v:.1%}"  # noqa: E731
    num = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    t = m["test"]
    lines = ["", "## Moderation", "",
             f"Classifier on `{m['backbone']}` (epoch {m['epoch']}, {m['train_seconds']:.0f} s), thresholds per category "
             f"from held-out training acts. On the world's held-out test split ({t['texts']} texts): harmful texts "
             f"flagged {pct(t['harmful_recall'])}, benign-but-scary requests flagged {pct(t['benign_scary_flagged'])}, "
             f"all benign texts flagged {pct(t['benign_flagged'])}.", "",
             "| category | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {c} | {num(v['precision'])} | {num(v['recall'])} | {num(v['f1'])} | {v['support']} |"
              for c, v in t["per_category"].items()]
    if "eval_prompts_flagged" in m:
        lines += ["", "Held-out eval prompts a chat with this classifier would refuse, by kind: "
                  + ", ".join(f"{k} {pct(v)}" for k, v in m["eval_prompts_flagged"].items()) + "."]
    return lines


def write_report(out: Path, results: dict, samples: list[tuple[str, str, str]]) -> Path:
    metrics = read_metrics(out / "pretrain")
    val = [(m["step"], m["val_loss"]) for m in metrics if "val_loss" in m]
    train = [m for m in metrics if "loss" in m]
    recall, sft = results["pretrain"], results["sft"]
    pct = lambda v: "n/a" if v is None else f"{v:.1%}"  # noqa: E731
    lines = [
        "# chatrlhf pipeline report",
        "",
        "## Step 0: pretraining",
        "",
        f"Checkpoint: `{recall['checkpoint']}` (loads with `AutoModelForCausalLM.from_pretrained`).",
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
        f"Reading probe (greedy exact-match answers to questions about held-out documents whose names no training text "
        f"contains): {recall['reading_probe']:.1%}; the answers' loss {recall['reading_probe_loss']:.3f} nats per token.",
        "",
        "## Step 1: SFT",
        "",
        f"Selected checkpoint: `{sft['checkpoint']}` (lowest held-out loss). Gold judge (0-7) of greedy answers to "
        "held-out eval prompts, before fine-tuning and for the selected epoch:",
        "",
        "| kind | pretrained | SFT |",
        "|---|---:|---:|",
        *(f"| {k.removeprefix('judge/')} | {sft['before'].get(k, float('nan')):.2f} | {v:.2f} |"
          for k, v in sft["selected"].items() if k.startswith("judge/")),
        f"| **all** | {sft['before'].get('judge_score', float('nan')):.2f} | {sft['selected'].get('judge_score', 0):.2f} |",
        "",
        "## Step 2: reward model",
        "",
        f"Round 1 ranks {RANK_K} SFT answers per prompt, each prompt {RANK_ROUNDS} times; each later round ranks "
        f"{RANK_K // 2} answers of SFT beside {RANK_K // 2} of the last round's PPO policy, and its reward model learns "
        "from every ranking so far. Labelers agree with each other on "
        f"{pct(results['rankings']['labeler_agreement'])} of round 1's pairs and with the gold judge on "
        f"{pct(results['rankings']['labeler_vs_judge'])}.",
        "",
        "| round | labelers vs judge | RM vs labelers | RM vs judge | RM vs judge, clear pairs | refusal above gold "
        "(harmless) | compliance above refusal (harmful) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *(f"| {i} | {pct(r['rankings']['labeler_vs_judge'])} | {pct(r['reward_model'].get('accuracy_vs_labelers'))} | "
          f"{pct(r['reward_model'].get('accuracy_vs_judge'))} | {pct(r['reward_model'].get('accuracy_vs_judge_clear'))} | "
          f"{pct(r['reward_model'].get('refusal_over_gold'))} of {r['reward_model'].get('refusal_prompts', 0)} | "
          f"{pct(r['reward_model'].get('compliance_over_refusal'))} of {r['reward_model'].get('compliance_prompts', 0)} |"
          for i, r in enumerate(results["rounds"], 1)),
        "",
        "Pairwise accuracy on held-out prompts. Clear pairs differ in truthfulness or harmlessness; refusal above gold "
        "is the share of held-out harmless prompts where the RM scores a refusal above the gold answer; compliance "
        "above refusal, of held-out harmful prompts that SFT complied with at least once. PPO and PPO-ptx below "
        "train against the last round's reward model.",
        "",
        "## Step 3: PPO and PPO-ptx",
        "",
        "| run | iterations | RM score first -> last | gold score first -> last | KL from SFT (last) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("ppo", "ppo_ptx"):
        p = results[name]
        f, last = p["first"], p["last"]
        gold = f"{f['gold_score']:.2f} -> {last['gold_score']:.2f}" if "gold_score" in f else "n/a"
        lines.append(f"| {name} | {p['iterations']} | {f['score']:.3f} -> {last['score']:.3f} | {gold} | {last['kl']:.2f} |")
    lines += moderation_section(results["moderation"])
    card = {"models": results["evaluation"], "stock_phrases": results["stock_phrases"],
            "article_questions": results["article_questions"]}
    lines += ["", *card_markdown(card, results["plots"]), "## Samples from the pretrained model", ""]
    for prompt, greedy, sampled in samples:
        lines += [f"**{prompt}**", "", f"- greedy: {prompt}{greedy}", f"- T=0.8: {prompt}{sampled}", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
