"""Step 1 through the CLI: held-out loss falls, the best epoch is selected, resume is exact, bad rows
are named by file:line."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import chatrlhf.train.sft as sft
from chatrlhf.config import ModelConfig, load_config
from chatrlhf.model import build_model, load_model
from chatrlhf.tokenizer import load_tokenizer
from chatrlhf.train.sft import as_prompt, collate, encode_demonstrations, greedy_answers, judge_scores, train_sft
from chatrlhf.world.judge import index_world
from chatrlhf.world.labelers import demonstrate, make_pool
from tests.conftest import TINY, run_cli, sets

SFT = ["sft.batch_size=8", "sft.lr=3e-3", "sft.warmup_steps=2", "sft.log_every=1", "sft.eval_prompts=8",
       "sft.eval_max_new_tokens=12", "sft.keep_checkpoints=2"]


@pytest.fixture(scope="module")
def world_and_model(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sft")
    run_cli("world", "generate", "--seed", "2", "--size", "tiny", "--out", str(root / "world"))
    run_cli("pretrain", "--data", str(root / "world" / "corpus.txt"), "--out", str(root / "pretrain"),
            *sets(*TINY, "tokenizer.vocab_size=400", "pretrain.max_steps=40", "pretrain.save_every=40"))
    return root / "world", root / "pretrain"


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_sft_lowers_held_out_loss_and_selects_the_best_epoch(world_and_model, tmp_path):
    world, pretrained = world_and_model
    out = tmp_path / "sft"
    proc = run_cli("sft", "--model", str(pretrained), "--data", str(world / "sft.jsonl"), "--out", str(out),
                   *sets(*SFT, "sft.epochs=4"))
    evals = [r for r in metrics(out) if "val_loss" in r]
    assert [r["epoch"] for r in evals] == [0, 1, 2, 3, 4]  # epoch 0 is the pretrained model
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 0.5
    assert all("judge_score" in r and 0 <= r["judge_score"] <= 7 for r in evals)  # the world's judge is found
    best_epoch = min(evals[1:], key=lambda r: r["val_loss"])
    assert os.readlink(out / "best") == f"step-{best_epoch['step']:06d}"
    assert f"model: {out / os.readlink(out / 'best')}" in proc.stdout
    assert len(list(out.glob("step-*"))) <= 3  # two newest plus best


def test_sft_raises_the_gold_judge_score_over_the_pretrained_model(world_and_model, tmp_path):
    """Demonstrations of every kind (the world's, plus a labeler's answers to its RM and PPO prompts) teach
    the tiny model what the guideline asks. Judged on the demonstrations' prompts, harmful requests that
    the pretrained model 'answers' are refused, and the overall gold score rises. (That it carries over
    to held-out prompts takes a real model: the README gives the small world's figures.)"""
    world, pretrained = world_and_model
    labeler = make_pool(1, seed=0)[0]
    rows = []
    for name in ("sft.jsonl", "prompts_rm.jsonl", "prompts_ppo.jsonl"):
        for line in (world / name).read_text().splitlines():
            row = json.loads(line)
            rows.append(row if row["messages"][-1]["role"] == "assistant" else demonstrate(labeler, row))
    demos = tmp_path / "demos.jsonl"
    demos.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "sft"
    run_cli("sft", "--model", str(pretrained), "--data", str(demos), "--out", str(out),
            *sets(*SFT, "sft.epochs=10", "sft.lr=1e-2", "sft.warmup_steps=5", "sft.eval_prompts=0"))
    idx = index_world(json.loads((world / "world.json").read_text()))
    prompts = [as_prompt(r) for r in rows]
    scores = {}
    for name, ckpt in (("pretrained", pretrained / "latest"), ("sft", out / "best")):
        answers = greedy_answers(load_model(ckpt), load_tokenizer(ckpt), prompts, max_new_tokens=16)
        scores[name] = judge_scores(idx, prompts, answers)
    print({k: (scores["pretrained"][k], scores["sft"][k]) for k in scores["sft"]})
    assert scores["sft"]["judge/harmful"] > scores["pretrained"]["judge/harmful"] + 3  # complied (2) -> refused (7)
    assert scores["sft"]["judge_score"] > scores["pretrained"]["judge_score"] + 0.1


def test_sft_resume_after_sigkill_is_exact(world_and_model, tmp_path):
    world, pretrained = world_and_model
    args = ["sft", "--model", str(pretrained), "--data", str(world / "sft.jsonl"), *sets(*SFT, "sft.epochs=3",
            "sft.eval_prompts=0")]
    run_cli(*args, "--out", str(tmp_path / "full"))
    steps_per_epoch = int(os.readlink(tmp_path / "full" / "latest").split("-")[1]) // 3
    killed = tmp_path / "killed"
    proc = run_cli(*args, "--out", str(killed), env={"CHATRLHF_KILL_AT_STEP": str(steps_per_epoch + 1)}, check=False)
    assert proc.returncode == -signal.SIGKILL
    run_cli(*args, "--out", str(killed), "--resume")
    a = load_file(str(tmp_path / "full" / "latest" / "model.safetensors"))
    b = load_file(str(killed / "latest" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_demonstrations_are_named_by_file_and_line(world_and_model, tmp_path):
    _, pretrained = world_and_model
    data = tmp_path / "bad.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
                    '{"messages": [{"role": "user", "content": "no answer here"}]}\n')
    proc = run_cli("sft", "--model", str(pretrained), "--data", str(data), "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2
    assert f"error: {data}:2: conversation has no assistant turn" in proc.stderr


def test_loss_mask_covers_assistant_tokens_only(world_and_model):
    from chatrlhf.tokenizer import load_tokenizer

    _, pretrained = world_and_model
    tok = load_tokenizer(pretrained / "latest")
    rows = [{"messages": [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello"},
                          {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye"}]}]
    (ids, mask), = encode_demonstrations(tok, rows, max_len=64)
    assert tok.decode([i for i, m in zip(ids, mask, strict=True) if m]) == " Hello<|end|> Goodbye<|end|>"
    batch_ids, batch_mask = collate([(ids, mask), (ids[:3], mask[:3])], tok.pad_token_id)
    assert batch_ids.shape == (2, len(ids)) and batch_mask[1, 3:].sum() == 0
    assert (batch_ids[1, 3:] == tok.pad_token_id).all()


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_sft_dropout_acts_on_the_model_it_trains(tokenizer_dir, tmp_path, monkeypatch, dropout):
    """sft.dropout reaches the attention layers: in training, two forward passes of one batch differ with it and
    agree without it; the checkpoint's config says what was used."""
    tok = load_tokenizer(tokenizer_dir)
    lm = build_model(ModelConfig(hidden_size=32, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=64), tok)
    lm.save_pretrained(tmp_path / "lm")
    tok.save_pretrained(tmp_path / "lm")
    data = tmp_path / "demos.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                                     {"role": "assistant", "content": "an answer"}]}) + "\n"
                            for i in range(10)))
    agree = []

    def spy(model, ids, mask):
        if model.training and not agree:
            with torch.no_grad():
                a, b = (model(input_ids=ids[:, :-1], use_cache=False).logits for _ in range(2))
            agree.append(torch.equal(a, b))
        return token_losses(model, ids, mask)

    token_losses = sft.token_losses
    monkeypatch.setattr(sft, "token_losses", spy)
    cfg = load_config(["sft"], overrides=[f"sft.dropout={dropout}", "sft.epochs=1", "sft.batch_size=4", "sft.eval_prompts=0"])
    train_sft(cfg["sft"], tmp_path / "lm", data, tmp_path / "sft")
    assert agree == [dropout == 0.0]
    assert load_model(tmp_path / "sft" / "latest").config.attention_dropout == dropout
