"""The reading stream and its probe: deterministic per (seed, position), never a document twice, probe names
that no training document uses, and a probe that a reader passes and a constant answer fails."""

from __future__ import annotations

import json
import re

import torch

from chatrlhf.world import reading
from chatrlhf.world.facts import language, make_world
from tests.conftest import TINY, run_cli, sets

L = language("en")


def test_stream_is_a_pure_function_of_seed_and_position(tokenizer_dir):
    from chatrlhf.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer_dir)
    a = reading.stream_window(tok, "en", seed=3, index=11, n_tokens=65)
    assert a.shape == (65,) and a[0] == tok.eos_token_id
    assert torch.equal(a, reading.stream_window(tok, "en", seed=3, index=11, n_tokens=65))
    assert not torch.equal(a, reading.stream_window(tok, "en", seed=3, index=12, n_tokens=65))
    assert not torch.equal(a, reading.stream_window(tok, "en", seed=4, index=11, n_tokens=65))


def test_a_run_never_reads_one_document_twice():
    """Every document of 3000 windows (more than a pipeline reads in 100 steps) is distinct."""
    docs = [reading.document("en", 0, i, k) for i in range(3000) for k in range(3)]
    assert len(set(docs)) == len(docs)


def test_probe_names_and_world_names_never_appear_in_training_documents():
    world = make_world(0, "small")
    world_names = {r["name"] for r in world["regions"]} | {r["capital"] for r in world["regions"]}
    world_names |= set(world["unknown_regions"])
    pools = reading._name_pools("en")
    probe = {n for pool in pools.values() for n in pool["probe"]}
    words = set()
    for i in range(2000):
        words |= set(re.findall(r"[A-Z][a-z]+", reading.document("en", 0, i, 0)))
    assert words & probe == set()
    assert words & world_names == set()
    prompts = " ".join(p for p, _ in reading.probe_items("en", 300))
    assert probe & set(re.findall(r"[A-Z][a-z]+", prompts)), "probe documents use probe names"
    assert not set(re.findall(r"[A-Z][a-z]+", prompts)) & (set().union(*(p["train"] for p in pools.values())))


def _pattern(template: str, known: dict[str, str]) -> str:
    """A regex of a template: known fields literal, the others named groups (back-references when repeated)."""
    out, pos, seen = "", 0, set()
    for m in re.finditer(r"\{(\w+)\}", template):
        out += re.escape(template[pos : m.start()])
        name = m.group(1)
        if name in known:
            out += re.escape(known[name])
        elif name in seen:
            out += f"(?P={name})"
        else:
            out += rf"(?P<{name}>\w+(?: \w+)*?)(?!\w)"
            seen.add(name)
        pos = m.end()
    return out + re.escape(template[pos:])


def copier(prompt: str) -> str:
    """A hand-written reader: match the question to a template, find its missing fields in the text."""
    text, question = prompt.rsplit("\nQuestion: ", 1)
    question = question.removesuffix("\nAnswer:")
    facts = [(statements, q, a) for _, statements, q, a in L.READING_PERSON_FACTS + L.READING_PLACE_FACTS]
    facts += [([t], q, a) for t, qas in L.READING_STORIES + L.READING_LETTERS + L.READING_DIALOGUES for q, a in qas]
    town, job = L.READING_PERSON_FACTS[:2]
    facts += [(["{p} | {v} | {other}"], town[2], town[3]), (["{p} | {other} | {v}"], job[2], job[3])]
    for statements, q, a in facts:
        asked = re.fullmatch(_pattern(q, {}), question)
        if not asked:
            continue
        known = {k: v for k, v in asked.groupdict().items()}
        for statement in statements:
            for m in re.finditer(_pattern(statement, known), text):
                fields = {**known, **m.groupdict()}
                try:
                    return a.format(**fields)
                except KeyError:
                    continue
    return ""


def test_probe_scores_a_reader_full_marks_and_a_constant_answer_zero():
    items = reading.probe_items("en", 200)
    kinds = {p.split("\n")[0] for p, _ in items}
    assert len(kinds) > 8  # every kind of document is probed
    assert reading.score_probe([copier(p) for p, _ in items], items) == 1.0
    assert reading.score_probe(["Abo lives in Ashham."] * len(items), items) == 0.0
    first_name = [re.search(r"[A-Z][a-z]+", p.split("\n", 1)[1]).group() for p, _ in items]
    assert reading.score_probe(first_name, items) == 0.0


def test_pretraining_reads_the_stream_and_logs_the_probe(corpus, tmp_path):
    """With reading_share the batch mixes stream windows in, the tokenizer is fitted to the stream too, the probe
    is logged at each evaluation, and a resumed run equals an uninterrupted one."""
    args = ["--data", str(corpus), *sets(*TINY, "pretrain.reading_share=0.5", "pretrain.probe_items=8",
                                          "pretrain.max_steps=8", "pretrain.save_every=4", "tokenizer.vocab_size=400")]
    full = tmp_path / "full"
    run_cli("pretrain", "--out", str(full), *args)
    m = [json.loads(line) for line in (full / "metrics.jsonl").read_text().splitlines()]
    probes = [r["reading_probe"] for r in m if "reading_probe" in r]
    assert len(probes) == 2 and all(0.0 <= p <= 1.0 for p in probes)
    vocab = json.loads((full / "tokenizer" / "tokenizer.json").read_text())["model"]["vocab"]
    assert any("Question" in t for t in vocab)  # learnt from the stream, not in the corpus
    killed = tmp_path / "killed"
    run_cli("pretrain", "--out", str(killed), *args, env={"CHATRLHF_KILL_AT_STEP": "6"}, check=False)
    run_cli("pretrain", "--out", str(killed), "--data", str(corpus), "--resume")
    from safetensors.torch import load_file

    a, b = load_file(str(full / "latest" / "model.safetensors")), load_file(str(killed / "latest" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
