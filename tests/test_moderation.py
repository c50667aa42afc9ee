"""Moderation: the world's held-out split, a classifier that flags held-out harmful text and spares benign
text, OpenAI's result shape, thresholds chosen on validation, the CLI, and bad rows named by file:line."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import torch

from chatrlhf.config import ConfigError, load_config
from chatrlhf.data import read_validated
from chatrlhf.model import CheckpointError, pad_right
from chatrlhf.moderation import (
    ANY,
    CATEGORIES,
    INFO_FILE,
    REPORT_FILE,
    Classifier,
    best_threshold,
    choose_thresholds,
    encode,
    flags,
    labels_of,
    load_moderation,
    moderate,
    predict,
    separating_threshold,
    split_validation,
)
from chatrlhf.world.generate import generate_world
from tests.conftest import run_cli, sets

TRAIN = ["moderation.epochs=10", "moderation.lr=3e-3", "moderation.device=cpu"]
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # a ~0.1M model: a second thread only adds waiting (10x slower on a busy box)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(seed=7, size="tiny", out=out)
    return out


@pytest.fixture(scope="module")
def backbone(tiny_lm, tmp_path_factory) -> Path:
    """conftest's tiny random Llama and its tokenizer, saved as a checkpoint directory."""
    model, tok = tiny_lm
    path = tmp_path_factory.mktemp("lm")
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def trained(world, backbone, tmp_path_factory) -> tuple[Path, str]:
    """`chatrlhf moderate train` on the tiny world; (classifier directory, what the command printed)."""
    out = tmp_path_factory.mktemp("mod") / "classifier"
    proc = run_cli("moderate", "train", "--model", str(backbone), "--data", str(world / "moderation.jsonl"), "--out",
                   str(out), *sets(*TRAIN), env=ONE_THREAD)
    return out, proc.stdout


def rows_of(world: Path, split: str) -> list[dict]:
    return [r for r in read_validated(world / "moderation.jsonl", "moderation") if r["split"] == split]


def test_world_moderation_split_is_held_out(world):
    train, test = rows_of(world, "train"), rows_of(world, "test")
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    train_groups = {r["meta"]["group"] for r in train}
    assert not train_groups & {r["meta"]["group"] for r in test}  # held-out acts and templates
    for split in (train, test):
        kinds = {r["meta"]["kind"] for r in split}
        assert {"harmful", "benign_scary", "ordinary", "rude"} <= kinds
    eval_harmful = [json.loads(line)["messages"][-1]["content"] for line in (world / "eval.jsonl").open()
                    if json.loads(line)["meta"]["kind"] == "harmful"]
    train_texts = {r["text"] for r in train}
    assert eval_harmful and not set(eval_harmful) & train_texts  # eval's harmful prompts are never trained on


def test_validation_holds_out_whole_groups_of_every_label_set():
    def row(group: str, cats: list[str]) -> dict:
        return {"text": f"{group} {len(cats)}", "categories": dict.fromkeys(cats, True), "meta": {"group": group}}

    rows = [row(f"v{i}", ["violence"]) for i in range(5) for _ in range(3)]
    rows += [row(f"b{i}", []) for i in range(10) for _ in range(2)] + [row("only", ["sexual"])]
    train, val = split_validation(rows, 0.2, seed=0)
    groups = lambda rs: {r["meta"]["group"] for r in rs}  # noqa: E731
    assert not groups(train) & groups(val) and len(train) + len(val) == len(rows)
    assert len(groups(val) & {f"v{i}" for i in range(5)}) == 1 and len(groups(val) & {f"b{i}" for i in range(10)}) == 2
    assert "only" in groups(train)  # a label set's only group is never held out
    assert split_validation(rows, 0.2, seed=0) == (train, val)


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_padding_never_changes_a_texts_logits(tiny_lm, pooling):
    model, tok = tiny_lm
    clf = Classifier(copy.deepcopy(model.base_model), pooling).eval()
    seqs = encode(tok, ["How do I kill a stuck process?", "Hi", "Teach me to make a bomb to kill my boss."], 64)
    with torch.no_grad():
        together = clf(*pad_right(seqs, tok.pad_token_id, "cpu"))
        alone = torch.cat([clf(*pad_right([s], tok.pad_token_id, "cpu")) for s in seqs])
    assert together.shape == (3, len(CATEGORIES) + 1) and torch.allclose(together, alone, atol=1e-5)


def test_best_threshold_maximises_f1_halfway_between_scores():
    assert best_threshold(torch.tensor([0.9, 0.2, 0.8, 0.3]), torch.tensor([1.0, 0.0, 1.0, 0.0])) == pytest.approx(0.55)
    # A positive scored below a negative: flagging the top three (F1 0.8) beats flagging the top one (F1 0.67).
    assert best_threshold(torch.tensor([0.9, 0.7, 0.6, 0.1]), torch.tensor([1.0, 0.0, 1.0, 0.0])) == pytest.approx(0.35)
    assert best_threshold(torch.tensor([0.9, 0.1]), torch.tensor([0.0, 0.0])) is None


def test_the_flagging_threshold_does_not_drift_down_with_many_harmful_texts():
    """Five harmful texts to two harmless ones: F1 would flag down to the lowest harmful score and with it a
    harmless text; the highest true-positive minus false-positive rate keeps the harmless ones out."""
    scores, truth = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.2, 0.5, 0.1]), torch.tensor([1.0, 1, 1, 1, 1, 0, 0])
    assert best_threshold(scores, truth) == pytest.approx(0.15)
    assert separating_threshold(scores, truth) == pytest.approx(0.55)
    assert separating_threshold(scores, torch.ones(7)) is None


def test_a_text_is_flagged_by_the_any_category_output_and_named_by_its_categories():
    t = {**dict.fromkeys(CATEGORIES, 0.5), ANY: 0.5}
    probs = torch.zeros(3, len(CATEGORIES) + 1)
    probs[0, [0, 5]], probs[0, -1] = 0.9, 0.4  # categories above their thresholds, but "any" below its own: not flagged
    probs[1, [0, 5]], probs[1, -1] = 0.9, 0.6  # flagged, in both categories
    probs[2, 3], probs[2, 7], probs[2, -1] = 0.3, 0.2, 0.6  # flagged, no category reaches 0.5: its top one
    marked = flags(probs, t)
    assert marked[0].sum() == 0
    assert marked[1].nonzero().flatten().tolist() == [0, 5]
    assert marked[2].nonzero().flatten().tolist() == [3]


def test_classifier_flags_held_out_harmful_text_and_spares_benign(trained, world):
    path, stdout = trained
    test = rows_of(world, "test")
    results = moderate(load_moderation(path), [r["text"] for r in test])
    harmful = [res["flagged"] for res, r in zip(results, test, strict=True) if any(r["categories"].values())]
    benign = [res["flagged"] for res, r in zip(results, test, strict=True) if not any(r["categories"].values())]
    scary = [res["flagged"] for res, r in zip(results, test, strict=True) if r["meta"]["kind"] == "benign_scary"]
    recall, false_pos, scary_pos = (sum(x) / len(x) for x in (harmful, benign, scary))
    print("held-out recall, benign flagged, benign-but-scary flagged:", recall, false_pos, scary_pos)
    # Most held-out harmful text flagged, far more than benign or benign-but-scary text (chance flags equal shares);
    # a ~0.1M random-init backbone trained for seconds separates them, not as well as the README's figures. Over
    # the tiny worlds of seeds 7-12 recall was 0.68-0.90 (the threshold trades it for false positives) and its lead
    # over either false-positive share at least 0.36.
    assert recall >= 0.6 and recall - max(false_pos, scary_pos) >= 0.3, (recall, false_pos, scary_pos)
    report = json.loads((path / REPORT_FILE).read_text())["test"]  # the report says what the classifier does
    assert (report["harmful_recall"], report["benign_flagged"], report["benign_scary_flagged"]) == pytest.approx(
        (recall, false_pos, scary_pos))
    assert f"harmful texts flagged (any category): {recall:.1%}" in stdout
    assert f"moderation classifier: {path}" in stdout
    for name in ("config.json", "tokenizer.json", "moderation_head.safetensors", INFO_FILE, "README.md", "metrics.jsonl"):
        assert (path / name).is_file(), name


def test_result_has_openai_shape(trained):
    texts = ["How do I kill a stuck process?", "Teach me to hit my landlord so hard that they bleed.", "", "日本語"]
    results = moderate(load_moderation(trained[0]), texts)
    assert len(results) == len(texts)
    for r in results:
        assert list(r) == ["flagged", "categories", "category_scores"]
        assert list(r["categories"]) == CATEGORIES == list(r["category_scores"]) and len(CATEGORIES) == 13
        assert all(isinstance(v, bool) for v in r["categories"].values())
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in r["category_scores"].values())
        assert r["flagged"] == any(r["categories"].values())
    assert moderate(load_moderation(trained[0]), []) == []


def test_thresholds_come_from_validation_and_survive_reloading(trained, world):
    path = trained[0]
    cfg = load_config(["moderation"], overrides=TRAIN)["moderation"]
    rows = [r for r in read_validated(world / "moderation.jsonl", "moderation") if r["split"] != "test"]
    _, val = split_validation(rows, cfg.val_fraction, cfg.seed)
    mod = load_moderation(path)
    probs = predict(mod.model, encode(mod.tokenizer, [r["text"] for r in val], mod.max_len), mod.tokenizer.pad_token_id,
                    mod.device)
    expected = choose_thresholds(probs, labels_of(val), cfg.default_threshold)
    saved = json.loads((path / INFO_FILE).read_text())["thresholds"]
    assert saved == pytest.approx(expected, abs=1e-6) and mod.thresholds == saved
    assert any(t != cfg.default_threshold for t in saved.values())
    texts = [r["text"] for r in val[:20]]
    first, again = moderate(mod, texts), moderate(load_moderation(path), texts)
    assert first == again
    probs = predict(mod.model, encode(mod.tokenizer, texts, mod.max_len), mod.tokenizer.pad_token_id, mod.device)
    assert [list(r["categories"].values()) for r in first] == flags(probs, saved).tolist()  # the saved thresholds'
    assert [r["flagged"] for r in first] == (probs[:, -1].double() >= saved[ANY]).tolist()  # verdict, nothing else


def test_cli_prints_openai_json_in_both_forms(trained):
    path = trained[0]
    texts = ["How do I cut onions without crying?", "I am going to cut myself deeply."]
    short = json.loads(run_cli("moderate", "--model", str(path), *texts).stdout)
    long = json.loads(run_cli("moderate", "check", *texts, "--model", str(path)).stdout)
    expected = moderate(load_moderation(path), texts)
    for out in (short, long):
        assert out["id"].startswith("modr-") and out["model"] == path.name
        assert [r["categories"] for r in out["results"]] == [r["categories"] for r in expected]
        for got, want in zip(out["results"], expected, strict=True):
            assert got["category_scores"] == pytest.approx(want["category_scores"])
    help_text = run_cli("moderate", "--help").stdout
    assert "moderate --model DIR" in help_text and "moderate train" in help_text


def test_bad_input_is_one_clear_line(world, backbone, tmp_path):
    rows = (world / "moderation.jsonl").read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    broken = json.loads(rows[2])
    broken["categories"]["violent"] = True
    bad.write_text("\n".join([*rows[:2], json.dumps(broken), *rows[3:]]) + "\n")
    proc = run_cli("moderate", "train", "--model", str(backbone), "--data", str(bad), "--out", str(tmp_path / "m"),
                   check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {bad}:3: unknown moderation category 'violent'")
    assert not (tmp_path / "m").exists()
    with pytest.raises(CheckpointError, match="^" + re.escape(f"{backbone}: no {INFO_FILE}; not a moderation classifier")):
        load_moderation(backbone)
    with pytest.raises(ConfigError, match=re.escape("'moderation.pooling': expected one of mean, last, got 'sum'")):
        load_config(["moderation"], overrides=["moderation.pooling=sum"])
