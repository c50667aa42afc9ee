"""The command line as a user meets it: --help everywhere, sampling, and one clear line for bad input."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TINY, run_cli, sets

COMMANDS = [["config"], ["tokenizer", "train"], ["pretrain"], ["sample"], ["pipeline"], ["sft"], ["reward"], ["ppo"],
            ["eval"]]


@pytest.fixture(scope="module")
def run(corpus, tokenizer_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    run_cli("pretrain", "--data", str(corpus), "--tokenizer", str(tokenizer_dir), "--out", str(out),
            *sets(*TINY, "pretrain.max_steps=3"))
    return out


def test_help_lists_every_command_and_each_has_help():
    top = run_cli("--help").stdout
    for name in ("config", "tokenizer", "pretrain", "sample", "pipeline"):
        assert name in top
    for cmd in COMMANDS:
        out = run_cli(*cmd, "--help").stdout
        assert "Usage:" in out and "--help" in out
    config_help = " ".join(run_cli("config", "--help").stdout.split())
    assert all(section in config_help for section in ("moderation", "serve", "ppo", "pretrain"))


def test_config_prints_documented_defaults():
    out = run_cli("config", "pretrain").stdout
    assert "lr: 0.002  # peak learning rate" in out
    bad = run_cli("config", "nope", check=False)
    assert bad.returncode == 2 and "unknown config section 'nope'" in bad.stderr


def test_eval_command(run, tmp_path):
    run_cli("world", "generate", "--seed", "1", "--size", "tiny", "--out", str(tmp_path / "w"))
    out = run_cli("eval", "--model", f"a={run}", "--model", f"b={run / 'latest'}", "--world", str(tmp_path / "w"),
                  "--max-new-tokens", "6", "--out", str(tmp_path / "eval.json")).stdout
    figures = json.loads((tmp_path / "eval.json").read_text())["models"]
    assert figures["b"]["win_rate_vs_a"] == 0.5 and figures["b"]["kl_from_a"] == 0.0  # the same model twice
    assert "harmful_refused" in out and "win_rate_vs_a" in out
    bad = run_cli("eval", "--model", "nameless", "--world", str(tmp_path / "w"), check=False)
    assert bad.returncode == 2 and "--model: expected NAME=DIR, got 'nameless'" in bad.stderr


def test_tokenizer_train_command(corpus, tmp_path):
    out = run_cli("tokenizer", "train", "--data", str(corpus), "--vocab-size", "300", "--out", str(tmp_path / "tok")).stdout
    assert "tokenizer with 300 tokens" in out
    assert (tmp_path / "tok" / "tokenizer.json").is_file()


def test_sample_command(run):
    out = run_cli("sample", "--model", str(run), "--prompt", "The cat", "--n", "3", "--max-new-tokens", "8").stdout
    assert out.count("--- sample") == 3
    assert out.count("The cat") == 3
    chat = run_cli("sample", "--model", str(run / "latest"), "--prompt", "Hi", "--chat", "--temperature", "0",
                   "--max-new-tokens", "5").stdout
    assert "user: Hi\nassistant: " in chat


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pretrain", "--data", "{tmp}/missing.txt", "--out", "{tmp}/o"], "error: {tmp}/missing.txt: no such file"),
        (["pretrain", "--data", "{tmp}/empty.txt", "--out", "{tmp}/o"], "error: {tmp}/empty.txt: file is empty"),
        (["pretrain", "--data", "{corpus}", "--out", "{tmp}/o", "--set", "pretrain.lr=-1"],
         "error: config key 'pretrain.lr': expected a positive number, got -1.0"),
        (["pretrain", "--data", "{corpus}", "--out", "{tmp}/o", "--set", "pretrain.warmup=3"],
         "error: unknown config key 'pretrain.warmup'; valid keys of 'pretrain': batch_size, beta1"),
        (["sample", "--model", "{tmp}/nowhere", "--prompt", "x"], "error: {tmp}/nowhere: no such model directory"),
    ],
)
def test_bad_input_is_one_clear_line(args, message, corpus, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    fill = {"tmp": str(tmp_path), "corpus": str(corpus)}
    proc = run_cli(*[a.format(**fill) for a in args], check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(message.format(**fill))
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "latest").exists()


def test_corrupt_checkpoint_is_reported_and_kept(run, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in (run / "latest").iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    proc = run_cli("sample", "--model", str(broken), "--prompt", "x", check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {broken}: cannot load model")
    assert weights.stat().st_size == 1000  # reported, not "repaired" or deleted


def test_tokenizer_that_does_not_match_the_model(run, corpus, tmp_path):
    big = tmp_path / "big"
    run_cli("tokenizer", "train", "--data", str(corpus), "--vocab-size", "400", "--out", str(big))
    proc = run_cli("pretrain", "--data", str(corpus), "--tokenizer", str(big), "--out", str(tmp_path / "o"),
                   *sets(*TINY, f"model.init_from={run / 'latest'}"), check=False)
    assert proc.returncode == 2
    assert "tokenizer has 400 tokens but the model's embedding has 320 rows" in proc.stderr


TINY_PIPELINE = [*TINY, "pretrain.max_steps=6", "pretrain.save_every=3", "tokenizer.vocab_size=400", "sft.epochs=2",
                 "sft.batch_size=8", "sft.eval_prompts=4", "sft.eval_max_new_tokens=8", "reward.batch_size=8",
                 "ppo.iterations=2", "ppo.rollout_batch=8", "ppo.minibatch_size=8", "ppo.max_new_tokens=8",
                 "ppo.ptx_seq_len=16", "ppo.ptx_batch=2", "moderation.epochs=1"]


def test_pipeline_on_the_tiny_world(tmp_path):
    """`make run` in miniature: every stage, a report whose numbers come from the runs; a rerun redoes nothing."""
    out = tmp_path / "pipe"
    args = ["pipeline", "--out", str(out), "--size", "tiny", *sets(*TINY_PIPELINE)]
    proc = run_cli(*args)
    assert proc.stdout.strip().endswith(f"report: {out / 'report.md'}")
    report = (out / "report.md").read_text()
    for heading in ("## Step 0: pretraining", "## Step 1: SFT", "## Step 2: reward model", "## Step 3: PPO and PPO-ptx",
                    "## Moderation", "## Samples"):
        assert heading in report
    results = json.loads((out / "report.json").read_text())
    probe = results["pretrain"]["reading_probe"]
    assert 0 <= probe <= 1 and f"contains): {probe:.1%}" in report
    assert all(0 <= m["reading_probe"] <= 1 for m in results["evaluation"].values())
    moderation = json.loads((out / "moderation" / "report.json").read_text())
    assert results["moderation"] == moderation and moderation["backbone"].startswith(str(out / "sft"))
    assert f"harmful texts flagged {moderation['test']['harmful_recall']:.1%}" in report
    # Round 2 ranks 4 answers of SFT beside 4 of round 1's PPO, and its RM learns from both rounds' rankings.
    first, second = (out / "rankings.jsonl").read_text(), (out / "rankings.round2.jsonl").read_text()
    assert (out / "rankings.upto2.jsonl").read_text() == first + second
    assert all(len(json.loads(line)["responses"]) == 8 for line in second.splitlines())
    assert json.loads((out / "ppo_round1" / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 2
    assert len(results["rounds"]) == 2
    for i, rm_dir in enumerate(("rm", "rm_round2")):
        rm = json.loads((out / rm_dir / "reward_model.json").read_text())
        assert results["rounds"][i]["reward_model"]["accuracy_vs_labelers"] == rm["accuracy_vs_labelers"]
        labelers = results["rounds"][i]["rankings"]["labeler_vs_judge"]
        assert f"| {i + 1} | {labelers:.1%} | {rm['accuracy_vs_labelers']:.1%} |" in report
    assert results["reward_model"] == results["rounds"][1]["reward_model"]
    assert f"--reward {out / 'rm_round2'}" in proc.stderr  # the final PPO trains against the last round's RM
    ppo_metrics = [json.loads(line) for line in (out / "ppo_ptx" / "metrics.jsonl").read_text().splitlines()]
    assert len(ppo_metrics) == 2 and "ptx_loss" in ppo_metrics[-1] and results["ppo_ptx"]["iterations"] == 2
    ev = results["evaluation"]
    assert list(ev) == ["pretrained", "sft", "ppo", "ppo_ptx"] and all(0 <= m["harmful_refused"] <= 1 for m in ev.values())
    assert f"| win rate vs sft | {ev['pretrained']['win_rate_vs_sft']:.2f} |" in report
    for name in ("losses", "ppo", "gold_by_kind"):  # the plots, linked from the report
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"(plots/{name}.png)" in report
    assert "$ chatrlhf ppo --policy" in proc.stderr  # each stage logs the command that reruns it alone
    sft_line = next(line for line in proc.stderr.splitlines() if "$ chatrlhf sft " in line)
    assert "--set=sft.epochs=8" in sft_line and "--set=sft.epochs=2" in sft_line  # the pipeline's budget, then ours
    runs = ("pretrain", "sft", "ppo_round1", "ppo", "ppo_ptx")
    before = {r: (out / r / "metrics.jsonl").read_text() for r in runs}
    run_cli(*args)
    assert {r: (out / r / "metrics.jsonl").read_text() for r in runs} == before  # finished stages are not rerun
    assert (out / "rankings.jsonl").read_text() == first and (out / "rankings.round2.jsonl").read_text() == second
    clash = run_cli("pipeline", "--out", str(out), "--world-size", "tiny", "--seed", "9", check=False)
    assert clash.returncode == 2 and "holds the tiny world of seed 0" in clash.stderr
