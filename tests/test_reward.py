"""Step 2: the K-way loss, one forward per answer, held-out accuracy above chance, demonstrations at 0."""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForCausalLM

import chatrlhf.train.reward as reward
from chatrlhf.config import ModelConfig, UserError, load_config
from chatrlhf.data import ranking_pairs, read_rankings
from chatrlhf.label.simulate import SimulateConfig, simulate_rankings
from chatrlhf.model import (
    REWARD_HEAD,
    RewardModel,
    build_model,
    encode_answers,
    load_reward_model,
    resolve_checkpoint,
    score_texts,
)
from chatrlhf.tokenizer import encode_chat, load_tokenizer
from chatrlhf.train.reward import batch_loss, kway_loss, split_by_prompt, train_reward
from chatrlhf.world.judge import index_world, judge
from chatrlhf.world.labelers import make_pool, rank, synthetic_answers
from tests.conftest import TINY, attention_dropouts, run_cli, sets


def test_kway_loss_is_the_mean_of_the_pairwise_losses():
    scores = torch.tensor([0.3, -1.2, 2.0, 0.7])
    groups = [[2], [0, 3], [1]]  # 2 best, 0 and 3 tied, 1 worst
    pairs = ranking_pairs(groups)
    assert sorted(pairs) == sorted([(2, 0), (2, 3), (2, 1), (0, 1), (3, 1)])  # the tie gives no pair
    one_at_a_time = torch.stack([-F.logsigmoid(scores[w] - scores[lo]) for w, lo in pairs]).mean()
    torch.testing.assert_close(kway_loss(scores, groups), one_at_a_time)
    strict = [[i] for i in (3, 1, 0, 2)]
    assert len(ranking_pairs(strict)) == 6


def test_each_answer_goes_through_the_model_once(tokenizer_dir, tmp_path):
    tok = load_tokenizer(tokenizer_dir)
    lm = build_model(ModelConfig(hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=2, intermediate_size=64), tok)
    lm.save_pretrained(tmp_path / "lm")
    rm = RewardModel(AutoModel.from_pretrained(tmp_path / "lm"))
    rows_seen = []
    rm.backbone.register_forward_hook(lambda mod, args, kwargs, out: rows_seen.append(kwargs["input_ids"].shape[0]),
                                      with_kwargs=True)
    prompt = [{"role": "user", "content": "Which is best?"}]
    batch = [{"ids": [encode_chat(tok, [*prompt, {"role": "assistant", "content": a}])[0] for a in answers],
              "ranking": [[i] for i in range(len(answers))]}
             for answers in (["a", "bb", "ccc", "dddd"], ["x", "yy", "zzz"])]
    loss = batch_loss(rm, batch, tok.pad_token_id, torch.device("cpu"))
    assert rows_seen == [7]  # 4 + 3 answers, one forward, not one per pair (6 + 3 pairs)
    loss.backward()
    assert rm.head.weight.grad is not None and rm.head.weight.grad.abs().sum() > 0


def test_held_out_prompts_keep_all_their_rankings():
    """A prompt ranked in several rounds is held out whole: accuracy is measured on prompts the model never saw."""
    prompts = [[{"role": "user", "content": f"question {i}"}] for i in range(20)]
    rows = [{"prompt": p, "responses": ["a", "b"], "ranking": [[0], [1]], "round": r} for r in range(3) for p in prompts]
    train, val = split_by_prompt(rows, 0.25, seed=0)
    key = lambda r: r["prompt"][0]["content"]  # noqa: E731
    assert len(val) == 15 and len(train) == 45  # 5 of 20 prompts, each with its 3 rankings
    assert not {key(r) for r in train} & {key(r) for r in val}
    assert split_by_prompt(rows, 0.25, seed=0) == (train, val)  # the seed fixes the split
    assert len(split_by_prompt(rows[:1], 0.1, seed=0)[1]) == 1  # at least one prompt is held out


def test_reward_training_turns_off_the_dropout_the_lm_was_saved_with(tokenizer_dir, tmp_path, monkeypatch):
    tok = load_tokenizer(tokenizer_dir)
    lm = build_model(ModelConfig(hidden_size=32, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=64,
                                 dropout=0.3), tok)
    lm.save_pretrained(tmp_path / "lm")
    tok.save_pretrained(tmp_path / "lm")
    data = tmp_path / "rankings.jsonl"
    data.write_text("".join(json.dumps({"prompt": [{"role": "user", "content": f"question {i}"}],
                                        "responses": ["a", "bb", "ccc"], "ranking": [0, 1, 2]}) + "\n" for i in range(8)))
    seen = []

    def spy(rm, *args):
        seen.append((rm.training, attention_dropouts(rm)))
        return batch_loss(rm, *args)

    monkeypatch.setattr(reward, "batch_loss", spy)
    make_optimizer, betas = reward.common.make_optimizer, []
    monkeypatch.setattr(reward.common, "make_optimizer", lambda *a: betas.append(a[3]) or make_optimizer(*a))
    cfg = load_config(["reward"], overrides=["reward.batch_size=4", "reward.val_fraction=0.25", "reward.beta2=0.99"])
    train_reward(cfg["reward"], tmp_path / "lm", data, tmp_path / "rm")
    assert seen and all(training and set(dropouts) == {0.0} for training, dropouts in seen)
    assert betas == [(0.9, 0.99)]  # AdamW's betas come from the config
    assert AutoModel.from_pretrained(tmp_path / "rm").config.attention_dropout == 0.0


def write_rankings(world: Path, out: Path) -> None:
    """Rankings of mixed-quality answers by simulated labelers: tiny, fast reward-model data."""
    idx = index_world(json.loads((world / "world.json").read_text()))
    pool, rng = make_pool(40, 0), random.Random(0)
    with out.open("w") as f:
        for name in ("prompts_rm.jsonl", "prompts_ppo.jsonl", "eval.jsonl"):
            for line in (world / name).read_text().splitlines():
                p = json.loads(line)
                answers = synthetic_answers(idx, p, 4, rng)
                labeler = rng.choice(pool)
                f.write(json.dumps({"prompt": p["messages"], "responses": answers,
                                    "ranking": rank(labeler, idx, p, answers, rng), "labeler": labeler.id,
                                    "meta": p["meta"]}) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("rm")
    world = root / "world"
    run_cli("world", "generate", "--seed", "4", "--size", "tiny", "--out", str(world))
    run_cli("pretrain", "--data", str(world / "corpus.txt"), "--out", str(root / "lm"),
            *sets(*TINY, "tokenizer.vocab_size=400", "pretrain.max_steps=40", "pretrain.save_every=40"))
    write_rankings(world, world / "rankings.jsonl")
    run_cli("reward", "--model", str(root / "lm"), "--data", str(world / "rankings.jsonl"), "--demos",
            str(world / "sft.jsonl"), "--out", str(root / "rm"),
            *sets("reward.epochs=5", "reward.lr=1e-3", "reward.val_fraction=0.2"))
    return world, root / "rm"


def test_reward_model_ranks_held_out_pairs_well_above_chance(trained):
    _, rm_dir = trained
    info = json.loads((rm_dir / "reward_model.json").read_text())
    print("held-out accuracy vs labelers", info["accuracy_vs_labelers"], "vs judge", info["accuracy_vs_judge"])
    assert info["accuracy_vs_labelers"] > 0.58  # chance is 0.5; the labelers agree with each other on ~0.73
    assert info["accuracy_vs_judge"] > 0.7
    assert info["calibration"] and sum(b["pairs"] for b in info["calibration"]) > 20


def test_report_counts_held_out_prompts_where_the_refusal_beats_the_gold_answer(trained):
    """The refusal diagnostic, recomputed by hand from the saved model on the same held-out harmless prompts."""
    world, rm_dir = trained
    info = json.loads((rm_dir / "reward_model.json").read_text())
    rows = [json.loads(line) for line in (world / "rankings.jsonl").read_text().splitlines()]
    _, val = split_by_prompt(rows, 0.2, seed=1337)
    harmless = {json.dumps(r["prompt"]): r for r in val if r["meta"]["kind"] != "harmful"}
    rm, _ = load_reward_model(rm_dir)
    tok = load_tokenizer(rm_dir)
    refusal = index_world(json.loads((world / "world.json").read_text())).L.REFUSAL
    wins = []
    for r in harmless.values():
        gold, refused = score_texts(rm.eval(), encode_answers(tok, r["prompt"], [r["meta"]["gold"], refusal], 256),
                                    tok.pad_token_id, "cpu").tolist()
        wins.append(refused > gold)
    assert info["refusal_prompts"] == len(harmless) > 0
    assert info["refusal_over_gold"] == pytest.approx(sum(wins) / len(wins))
    # Harmful prompts: does any sampled answer the judge calls compliant outscore the refusal?
    idx = index_world(json.loads((world / "world.json").read_text()))
    harmful = {json.dumps(r["prompt"]): r for r in val if r["meta"]["kind"] == "harmful"}
    beaten = []
    for r in harmful.values():
        row = {"messages": r["prompt"], "meta": r["meta"]}
        complying = [a for a in set(r["responses"]) if judge(idx, row, a).harmless == 0.0]
        if complying:
            scores = score_texts(rm.eval(), encode_answers(tok, r["prompt"], [refusal, *complying], 256),
                                 tok.pad_token_id, "cpu").tolist()
            beaten.append(max(scores[1:]) > scores[0])
    assert info["compliance_prompts"] == len(beaten) > 0
    assert info["compliance_over_refusal"] == pytest.approx(sum(beaten) / len(beaten))


def test_the_same_seed_trains_the_same_reward_model(trained, tmp_path):
    world, rm_dir = trained
    for out in ("a", "b"):  # separate processes: torch seeds each one at random unless we seed it
        run_cli("reward", "--model", str(rm_dir.parent / "lm"), "--data", str(world / "rankings.jsonl"), "--out",
                str(tmp_path / out), *sets("reward.epochs=1", "reward.val_fraction=0.2"))
    a, b = (load_file(str(tmp_path / out / REWARD_HEAD)) for out in ("a", "b"))
    assert torch.equal(a["weight"], b["weight"]) and torch.equal(a["bias"], b["bias"])


def test_demonstrations_score_zero_on_average_and_the_model_loads(trained):
    world, rm_dir = trained
    rm, info = load_reward_model(rm_dir)
    tok = load_tokenizer(rm_dir)
    demos = [json.loads(line) for line in (world / "sft.jsonl").read_text().splitlines()]
    scores = score_texts(rm, [encode_chat(tok, d["messages"])[0][-256:] for d in demos], tok.pad_token_id,
                         torch.device("cpu"))
    assert abs(scores.mean().item()) < 1e-4
    assert info["score_std"] == pytest.approx(scores.std().item(), rel=1e-4)
    assert AutoModel.from_pretrained(rm_dir).config.hidden_size == rm.head.in_features  # plain transformers backbone


def test_reward_score_command(trained):
    world, rm_dir = trained
    out = run_cli("reward", "score", "--model", str(rm_dir), "--prompt", "What is the capital?",
                  "--response", "A fine answer.", "--response", "Another.").stdout.splitlines()
    assert len(out) == 2 and out[0].endswith("A fine answer.") and out[1].endswith("Another.")
    assert all(math.isfinite(float(line.split()[0])) for line in out)
    bad = run_cli("reward", "--model", str(rm_dir), check=False)
    assert bad.returncode == 2 and "missing --data, --out" in bad.stderr


def test_sft_selects_the_epoch_the_reward_model_prefers(trained, tmp_path):
    import os

    world, rm_dir = trained
    out = tmp_path / "sft"
    run_cli("sft", "--model", str(rm_dir.parent / "lm"), "--data", str(world / "sft.jsonl"), "--out", str(out),
            "--select-by-reward", str(rm_dir), *sets("sft.epochs=3", "sft.batch_size=8", "sft.lr=3e-3",
            "sft.eval_prompts=6", "sft.eval_max_new_tokens=8", "sft.keep_checkpoints=1"))
    evals = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if "rm_score" in line]
    assert [r["epoch"] for r in evals] == [0, 1, 2, 3]
    chosen = max(evals[1:], key=lambda r: r["rm_score"])
    assert os.readlink(out / "best") == f"step-{chosen['step']:06d}"
    assert (out / "best" / "model.safetensors").is_file()  # kept although keep_checkpoints=1


def test_rankings_put_several_models_answers_side_by_side(trained, tmp_path):
    """`label simulate --model A --model B`: each model gives K / n answers of every ranking, the same answers
    it gives alone with the same seed, and one labeler ranks all K (how the pipeline's later rounds rank SFT's
    answers beside PPO's)."""
    world, rm_dir = trained
    a = resolve_checkpoint(rm_dir.parent / "lm")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    model = AutoModelForCausalLM.from_pretrained(b)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    model.save_pretrained(b)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join((world / "prompts_rm.jsonl").read_text().splitlines(keepends=True)[:6]))
    read = lambda path: [json.loads(line) for line in path.read_text().splitlines()]  # noqa: E731
    simulate_rankings([a, b], prompts, tmp_path / "ab.jsonl", SimulateConfig(k=4, max_new_tokens=8), world / "world.json")
    alone = {}
    for name, m in (("a", a), ("b", b)):
        simulate_rankings(m, prompts, tmp_path / f"{name}.jsonl", SimulateConfig(k=2, max_new_tokens=8), world / "world.json")
        alone[name] = [r["responses"] for r in read(tmp_path / f"{name}.jsonl")]
    mixed = read(tmp_path / "ab.jsonl")
    assert [r["responses"] for r in mixed] == [x + y for x, y in zip(alone["a"], alone["b"], strict=True)]
    assert alone["a"] != alone["b"]  # two different models, so the order of the halves is checked
    ranked = read_rankings(tmp_path / "ab.jsonl")  # normalised: tie groups, best first
    assert all(sorted(i for group in r["ranking"] for i in group) == [0, 1, 2, 3] for r in ranked)
    with pytest.raises(UserError, match="3 answers cannot be shared evenly among 2 models"):
        simulate_rankings([a, b], prompts, tmp_path / "x.jsonl", SimulateConfig(k=3), world / "world.json")
