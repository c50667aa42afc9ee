"""The held-out evaluation's numbers, from the gold judge on answers whose verdicts are known; the alignment
tax, RM-vs-gold and the card end to end on a tiny pretrained model; the plots as real PNG files."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from chatrlhf import config as config_mod
from chatrlhf.data import read_conversations
from chatrlhf.evaluate import (
    behaviour,
    card_markdown,
    evaluate_models,
    held_out_text,
    rm_scores,
    stock_phrase,
    text_loss,
    win_rate,
)
from chatrlhf.model import build_model, load_model, reward_model_from_lm, save_reward_model
from chatrlhf.plots import write_plots
from chatrlhf.tokenizer import load_tokenizer
from chatrlhf.train.pretrain import train_pretrain
from chatrlhf.world.generate import generate_world
from chatrlhf.world.judge import index_world
from tests.conftest import TINY

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("world")
    generate_world(3, "tiny", path)
    return path


@pytest.fixture(scope="module")
def world(world_dir):
    rows = read_conversations(world_dir / "eval.jsonl", prompt=True)
    return index_world(json.loads((world_dir / "world.json").read_text())), rows


@pytest.fixture(scope="module")
def models(world_dir, tmp_path_factory):
    """A tiny model pretrained on the world's corpus (its run directory), the same architecture untrained,
    and a reward model on the trained backbone with a fresh head, scores divided by 2."""
    root = tmp_path_factory.mktemp("models")
    cfg = config_mod.load_config(["model", "tokenizer", "pretrain"], None,
                                 [*TINY, "tokenizer.vocab_size=400", "pretrain.max_steps=40", "pretrain.save_every=40",
                                  "pretrain.log_every=5", "pretrain.eval_every=20"])
    run = root / "pretrain"
    train_pretrain(cfg["pretrain"], [world_dir / "corpus.txt"], run, cfg["model"], cfg["tokenizer"])
    tok = load_tokenizer(run / "latest")
    torch.manual_seed(0)
    untrained = root / "untrained"
    build_model(cfg["model"], tok).save_pretrained(str(untrained))
    tok.save_pretrained(str(untrained))
    rm = root / "rm"
    save_reward_model(reward_model_from_lm(run), rm, {"score_mean": 0.0, "score_std": 2.0, "max_len": 256})
    return run, untrained, rm


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
    assert gold["everyday_answered"] == 1.0 and junk["everyday_answered"] == 0.0 and refuse["everyday_answered"] == 0.0
    assert gold["toxicity_with_rude_users"] == 0.0
    assert gold["other_region_named"] == 0.0 and junk["other_region_named"] == 0.0
    some_region = idx.world["regions"][0]["name"]
    rote = behaviour(idx, rows, [f"{some_region} is famous for its bread." for _ in rows])["other_region_named"]
    asked = [idx.regions[r["meta"]["region"]] for r in rows if r["meta"].get("region") in idx.regions]
    unrelated = [some_region != q["name"] and some_region not in q["neighbours"] for q in asked]
    assert 0 < rote == pytest.approx(sum(unrelated) / len(asked))
    insult = behaviour(idx, rows, [f"You are a {idx.world['insults'][0]}." for _ in rows])
    assert insult["toxicity_with_rude_users"] == 1.0
    assert gold["judge_score"] == 7.0 and junk["mean_words"] == 2.0
    kinds = {r["meta"]["kind"] for r in rows}
    assert {k for k in gold if k.startswith("judge/")} == {f"judge/{k}" for k in kinds}
    assert all(gold[f"judge/{k}"] == 7.0 for k in kinds) and junk["judge/harmful"] < 4


def test_win_rate_counts_ties_half(world):
    idx, rows = world
    gold = [r["meta"]["gold"] for r in rows]
    junk = ["blorf wibble." for _ in rows]
    assert win_rate(idx, rows, gold, gold) == 0.5
    assert win_rate(idx, rows, gold, junk) > 0.9 and win_rate(idx, rows, junk, gold) < 0.1
    assert win_rate(idx, rows, gold, junk) + win_rate(idx, rows, junk, gold) == pytest.approx(1.0)


def test_paraphrase_consistency_counts_groups_with_one_verdict(world):
    """Gold answers give every paraphrase group one verdict; one flipped answer breaks exactly its group."""
    idx, rows = world
    gold = [r["meta"]["gold"] for r in rows]
    groups = sorted({r["meta"]["group"] for r in rows if r["meta"]["kind"] == "paraphrase"})
    assert len(groups) >= 2
    assert behaviour(idx, rows, gold)["paraphrase_consistency"] == 1.0
    flipped = gold[:]
    flipped[next(i for i, r in enumerate(rows) if r["meta"].get("group") == groups[0])] = "blorf wibble."
    assert behaviour(idx, rows, flipped)["paraphrase_consistency"] == pytest.approx((len(groups) - 1) / len(groups))
    same = ["The capital of Nowhere is Noton." for _ in rows]  # consistently wrong is still consistent
    assert behaviour(idx, rows, same)["paraphrase_consistency"] == 1.0


def test_stock_phrase_share_is_the_reach_of_the_most_frequent_5gram():
    answers = ["I am happy to help you today.", "Sure, I am happy to help you.", "I am happy to help you with it.",
               "The capital of Wesland is Norport.", "Yes."]
    share, phrase = stock_phrase(answers)
    assert phrase == "i am happy to help" and share == 3 / 5
    assert stock_phrase(["one two three four five six", "a b c d e"])[0] == 0.5  # no 5-gram repeats: the first wins
    assert stock_phrase(["short", "too short"]) == (0.0, "")


def test_held_out_text_is_corpus_text_about_held_out_regions(world_dir):
    world = json.loads((world_dir / "world.json").read_text())
    corpus = (world_dir / "corpus.txt").read_text()
    held = [r["name"] for r in world["regions"] if r["split"] == "eval"]
    text = held_out_text(world)
    assert len(text) >= 4 * len(held)  # at least the capital phrasings of each
    assert all(any(name in s for name in held) for s in text)
    assert all(s[:1].upper() + s[1:] in corpus for s in text)  # pretraining read every sentence


def test_held_out_text_loss_is_lower_for_a_trained_model(world_dir, models):
    run, untrained, _ = models
    text = held_out_text(json.loads((world_dir / "world.json").read_text()))
    tok = load_tokenizer(untrained)
    trained_loss = text_loss(load_model(run), tok, text)
    untrained_loss = text_loss(load_model(untrained), tok, text)
    assert untrained_loss > trained_loss + 1.0 and trained_loss > 0
    assert text_loss(load_model(run), tok, text, batch_size=3) == pytest.approx(trained_loss, rel=1e-4)  # padding is masked


def test_rm_score_is_the_mean_head_output_on_the_saved_scale(world, models):
    """A head with zero weights and bias 3 scores every answer 3, divided by the saved std of 2."""
    from safetensors.torch import save_file

    rows = world[1][:16]
    run, untrained, rm = models
    tok = load_tokenizer(untrained)
    answers = {"gold": [r["meta"]["gold"] for r in rows], "junk": ["blorf." for _ in rows]}
    varied = rm_scores(rm, tok, rows, answers, "cpu")
    assert varied["gold"] != varied["junk"]  # a random head tells answers apart
    constant = rm.parent / "rm_constant"
    save_reward_model(reward_model_from_lm(run), constant, {"score_mean": 0.0, "score_std": 2.0, "max_len": 256})
    save_file({"weight": torch.zeros(1, 48), "bias": torch.tensor([3.0])}, str(constant / "reward_head.safetensors"))
    assert rm_scores(constant, tok, rows, answers, "cpu") == pytest.approx({"gold": 1.5, "junk": 1.5})


def test_card_report_and_plots_on_a_tiny_run(world_dir, models, tmp_path):
    run, untrained, rm = models
    card = evaluate_models({"untrained": untrained, "trained": run}, world_dir, "untrained", 8, rm)
    ev = card["models"]
    assert ev["trained"]["held_out_text_loss"] < ev["untrained"]["held_out_text_loss"]
    assert ev["untrained"]["kl_from_untrained"] == 0.0 and ev["untrained"]["win_rate_vs_untrained"] == 0.5
    for m in ev.values():
        assert 0 <= m["paraphrase_consistency"] <= 1 and 0 <= m["stock_phrase_share"] <= 1
        assert 0 <= m["capital_recall_eval"] <= 1 and m["rm_score"] == m["rm_score"]  # a number, not NaN
    questions = [q["question"] for q in card["article_questions"]]
    assert questions == ["the landlocked sea", "the look-alike foods", "the ambiguous word", "a bomb recipe"]
    assert "bomb" in card["article_questions"][-1]["prompt"]
    assert all(set(q["answers"]) == {"untrained", "trained"} for q in card["article_questions"])

    plots = write_plots(tmp_path / "plots", {"pretrain": run, "untrained": untrained}, ev)
    assert sorted(p.name for p in plots.values()) == ["gold_by_kind.png", "losses.png"]  # no RL run logged a KL
    for path in plots.values():
        assert path.read_bytes()[:8] == PNG and min(Image.open(path).size) > 100
    report = "\n".join(card_markdown(card, {c: f"plots/{p.name}" for c, p in plots.items()}))
    fmt = lambda key: " | ".join(f"{ev[n][key]:.2f}" for n in ("untrained", "trained"))  # noqa: E731
    for key in ("held_out_text_loss", "paraphrase_consistency", "stock_phrase_share", "rm_score", "capital_recall_eval"):
        assert f"| {key.replace('_', ' ')} | {fmt(key)} |" in report
    assert f"| harmful | {fmt('judge/harmful')} |" in report
    assert card["article_questions"][0]["prompt"] in report and "(plots/losses.png)" in report


def test_ppo_plot_draws_each_logged_run(tmp_path):
    """RM score, gold score and KL per iteration from hand-made PPO metrics of two runs."""
    for name, slope in (("ppo", 0.1), ("ppo_ptx", 0.05)):
        (tmp_path / name).mkdir()
        records = [{"step": i, "rm_score": slope * i, "gold_score": 4 - slope * i, "kl": slope * i * i} for i in range(1, 9)]
        (tmp_path / name / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    plots = write_plots(tmp_path / "plots", {n: tmp_path / n for n in ("ppo", "ppo_ptx")}, {})
    assert list(plots) == ["RM score, gold score and KL per PPO iteration"]
    path = plots["RM score, gold score and KL per PPO iteration"]
    assert path.name == "ppo.png" and path.read_bytes()[:8] == PNG
    assert Image.open(path).size[0] > Image.open(path).size[1]  # three panels side by side
