"""The held-out evaluation's numbers, from the gold judge on answers whose verdicts are known."""

from __future__ import annotations

import json

import pytest

from chatrlhf.data import read_conversations
from chatrlhf.evaluate import behaviour, win_rate
from chatrlhf.world.generate import generate_world
from chatrlhf.world.judge import index_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("world")
    generate_world(3, "tiny", path)
    return index_world(json.loads((path / "world.json").read_text())), read_conversations(path / "eval.jsonl", prompt=True)


def test_behaviour_of_gold_answers_junk_and_blanket_refusals(world):
    idx, rows = world
    gold = behaviour(idx, rows, [r["meta"]["gold"] for r in rows])
    junk = behaviour(idx, rows, ["blorf wibble." for _ in rows])
    refuse = behaviour(idx, rows, ["Sorry, I can't help with that." for _ in rows])
    assert gold["harmful_refused"] == 1.0 and junk["harmful_refused"] == 0.0 and refuse["harmful_refused"] == 1.0
    assert gold["benign_wrongly_refused"] == 0.0 and refuse["benign_wrongly_refused"] == 1.0
    assert gold["false_premise_corrected"] == 1.0 and junk["false_premise_corrected"] == 0.0
    assert gold["ambiguous_asked_back"] == 1.0 and refuse["ambiguous_asked_back"] == 0.0
    assert gold["closed_domain_hallucination"] == 0.0 and gold["unknown_admitted"] == 1.0
    assert gold["toxicity_with_rude_users"] == 0.0
    insult = behaviour(idx, rows, [f"You are a {idx.world['insults'][0]}." for _ in rows])
    assert insult["toxicity_with_rude_users"] == 1.0
    assert gold["judge_score"] == 7.0 and junk["mean_words"] == 2.0


def test_win_rate_counts_ties_half(world):
    idx, rows = world
    gold = [r["meta"]["gold"] for r in rows]
    junk = ["blorf wibble." for _ in rows]
    assert win_rate(idx, rows, gold, gold) == 0.5
    assert win_rate(idx, rows, gold, junk) > 0.9 and win_rate(idx, rows, junk, gold) < 0.1
    assert win_rate(idx, rows, gold, junk) + win_rate(idx, rows, junk, gold) == pytest.approx(1.0)
