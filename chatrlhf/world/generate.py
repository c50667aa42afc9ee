"""`chatrlhf world generate`: the built-in world's files, deterministic per seed.

    world.json         the facts (facts.make_world)
    corpus.txt         step 0 text: every region's facts in several phrasings, web-like text, everyday
                       exchanges (refusing, asking back, not knowing) and rude text
    sft.jsonl          demonstrations (scarce for false-premise, ambiguous and harmful prompts)
    prompts_rm.jsonl   prompts whose sampled answers labelers rank (step 2)
    prompts_ppo.jsonl  prompts for RL (step 3), disjoint from the ranking prompts
    eval.jsonl         held-out prompts about regions and entities no training prompt mentions
    moderation.jsonl   texts with OpenAI moderation categories, split train/test

Every prompt row is `{"messages": [...], "meta": {"kind": ..., "truth": {...}, ...}}`; `meta.truth`
holds what the gold judge needs to score any answer to it.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from chatrlhf.data import MODERATION_CATEGORIES
from chatrlhf.world.facts import language, make_world

SCARCE_KINDS = ("false_premise", "ambiguous", "harmful")  # costly demonstrations, as in the paper
SCARCE_SHARE = 0.02  # each scarce kind's share of sft.jsonl
SPLIT = {"sft": 0.4, "rm": 0.3, "ppo": 0.3}  # shares of every other kind's training prompts
PARENT_CATEGORY = {"harassment/threatening": "harassment", "hate/threatening": "hate", "illicit/violent": "illicit",
                   "self-harm/intent": "self-harm", "self-harm/instructions": "self-harm", "violence/graphic": "violence",
                   "sexual/minors": "sexual"}


def _row(rng: random.Random, L: ModuleType, turns: list[str], gold: str, **meta: Any) -> dict[str, Any]:
    """A prompt (alternating user/assistant turns ending with the user) with its gold answer; a third get
    the system prompt."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    if rng.random() < 0.3:
        messages.insert(0, {"role": "system", "content": L.SYSTEM_PROMPT})
    return {"messages": messages, "meta": meta, "gold": gold}


def _fields(region: dict, hidden: frozenset[str] = frozenset()) -> dict[str, str]:
    """Template fields of a region; the neighbour named is one not in `hidden` (held-out regions must not
    appear in any training text), or "" when every neighbour is hidden."""
    shown = [n for n in region["neighbours"] if n not in hidden]
    return {
        "region": region["name"],
        "capital": region["capital"],
        "food": region["foods"][0],
        "creature": region["creatures"][0] if region["creatures"] else "",
        "neighbour": shown[0] if shown else "",
    }


def _truth(region: dict, topic: str) -> dict[str, Any]:
    return {
        "capital": {"capital": region["capital"]},
        "food": {"foods": region["foods"]},
        "sea": {"coastal": region["coastal"], "creatures": region["creatures"]},
        "neighbour": {"neighbours": region["neighbours"]},
    }[topic]


# ---- prompt builders, one per kind ------------------------------------------------------------------------


def region_prompts(rng: random.Random, L: ModuleType, region: dict, insults: list[str], hidden: frozenset[str]) -> list[dict]:
    """Factual, false-premise, paraphrase, rude, multi-turn and closed-domain prompts about one region."""
    f = _fields(region, hidden)
    name = region["name"]
    rows = []
    topics = ["capital", "food", "neighbour", "sea"] if f["neighbour"] else ["capital", "food", "sea"]
    paraphrased = rng.choice(["capital", "food"])  # one paraphrase group per region keeps the kinds balanced
    for topic in topics:
        phrasings = [q.format(**f) for q in L.QUESTIONS[topic]]
        if topic == "sea" and not region["coastal"]:
            for q in phrasings:  # asking what lives in a landlocked region's sea: the answer corrects the premise
                rows.append(_row(rng, L, [q], L.FALSE_PREMISE_ANSWER.format(**f), kind="false_premise", topic=topic,
                                 region=name, truth=_truth(region, topic)))
            continue
        gold = L.ANSWERS[topic].format(**f)
        if topic == paraphrased:  # the same question in every phrasing: a paraphrase group
            for q in phrasings:
                rows.append(_row(rng, L, [q], gold, kind="paraphrase", topic=topic, region=name, group=f"{name}/{topic}",
                                 truth=_truth(region, topic)))
        q = rng.choice(phrasings)
        rows.append(_row(rng, L, [q], gold, kind="factual", topic=topic, region=name, truth=_truth(region, topic)))
        insult = rng.choice(insults)
        rude = rng.choice(L.RUDE_WRAPPERS).format(question=q, question_lower=q[0].lower() + q[1:], insult=insult)
        rows.append(_row(rng, L, [rude], gold, kind="rude", topic=topic, region=name, insult=insult,
                         truth=_truth(region, topic)))
    # Multi-turn: the follow-up names no region; the answer must resolve "its".
    first = L.QUESTIONS["food"][0].format(**f)
    rows.append(_row(rng, L, [first, L.ANSWERS["food"].format(**f), L.FOLLOW_UPS["capital"]],
                     L.ANSWERS["capital"].format(**f), kind="multi_turn", topic="capital", region=name,
                     truth=_truth(region, "capital")))
    rows += closed_domain_prompts(rng, L, region, f)
    return rows


def closed_domain_prompts(rng: random.Random, L: ModuleType, region: dict, f: dict[str, str]) -> list[dict]:
    """A passage stating a region's facts; one question it answers and one it does not (adding facts is
    hallucination)."""
    sentences = [L.FACT_SENTENCES["food"][0].format(**f)]
    if f["neighbour"]:
        sentences.append(L.FACT_SENTENCES["neighbour"][0].format(**f))
    passage = " ".join(sentences)
    facts = {"foods": region["foods"], "neighbours": [f["neighbour"]] if f["neighbour"] else []}
    rows = []
    for topic, in_passage in (("food", True), ("capital", False)):
        q = L.QUESTIONS[topic][0].format(**f)
        prompt = rng.choice(L.CLOSED_DOMAIN).format(passage=passage, question=q)
        gold = L.ANSWERS[topic].format(**f) if in_passage else L.CLOSED_NOT_IN_PASSAGE
        rows.append(_row(rng, L, [prompt], gold, kind="closed_domain", topic=topic, region=region["name"],
                         truth={"in_passage": in_passage, "passage_facts": facts, **_truth(region, topic)}))
    return rows


def confusion_prompts(rng: random.Random, L: ModuleType, pair: dict) -> list[dict]:
    a, b = pair["a"], pair["b"]
    f = {"a": a["name"], "b": b["name"], "a_source": a["source"], "b_source": b["source"]}
    gold = L.CONFUSION_ANSWER.format(**f)
    truth = {"a": a, "b": b}
    return [_row(rng, L, [q.format(**f)], gold, kind="confusion", truth=truth) for q in L.CONFUSION_QUESTIONS]


def ambiguous_prompts(rng: random.Random, L: ModuleType, word: dict) -> list[dict]:
    gold = L.AMBIGUOUS_ANSWER.format(sense0=word["senses"][0], sense1=word["senses"][1])
    truth = {"word": word["word"], "senses": word["senses"]}
    return [_row(rng, L, [q.format(word=word["word"])], gold, kind="ambiguous", truth=truth)
            for q in L.AMBIGUOUS_REQUESTS]


def harmful_prompts(rng: random.Random, L: ModuleType, regions: list[dict], split: str) -> list[dict]:
    """Harmful requests per moderation category; each category's last template is kept for evaluation."""
    rows = []
    for category, templates in L.HARMFUL_REQUESTS.items():
        chosen = templates[-1:] if split == "eval" else templates[:-1] or templates[:1]
        if split == "eval" and len(templates) == 1:
            chosen = templates
        for t in chosen:
            for prefix in L.REQUEST_PREFIXES:
                text = prefix + t.format(region=rng.choice(regions)["name"])
                rows.append(_row(rng, L, [text], L.REFUSAL, kind="harmful", category=category, truth={"category": category}))
    return rows


def benign_prompts(rng: random.Random, L: ModuleType, split: str) -> list[dict]:
    """Requests that sound harmful but are not ('kill a process'): refusing them is the error."""
    items = L.BENIGN_SCARY[-1:] if split == "eval" else L.BENIGN_SCARY[:-1]
    return [_row(rng, L, [prefix + q], a, kind="benign_scary", truth={"reference": a})
            for q, a in items for prefix in L.REQUEST_PREFIXES]


def unknown_prompts(rng: random.Random, L: ModuleType, names: list[str]) -> list[dict]:
    rows = []
    for name in names:
        f = {"region": name}
        q = rng.choice(L.QUESTIONS["capital"]).format(**f)
        rows.append(_row(rng, L, [q], L.UNKNOWN_ANSWER.format(**f), kind="unknown", region=name,
                         truth={"known": False}))
    return rows


def split_prompts(world: dict, L: ModuleType, rng: random.Random, split: str) -> list[dict]:
    """Every prompt about the entities of one split ("train" or "eval")."""
    regions = [r for r in world["regions"] if r["split"] == split]
    hidden = frozenset(r["name"] for r in world["regions"] if r["split"] != split) if split == "train" else frozenset()
    rows = []
    for region in regions:
        rows += region_prompts(rng, L, region, world["insults"], hidden)
    for pair in world["lookalikes"]:
        if pair["split"] == split:
            rows += confusion_prompts(rng, L, pair)
    for word in world["ambiguous"]:
        if word["split"] == split:
            rows += ambiguous_prompts(rng, L, word)
    rows += harmful_prompts(rng, L, regions, split)
    rows += benign_prompts(rng, L, split)
    if split == "eval":
        rows += unknown_prompts(rng, L, world["unknown_regions"])
    return _unique(rows)


def _unique(rows: list[dict]) -> list[dict]:
    """First row of each distinct conversation: a prompt is in one file, under one kind."""
    seen: set[str] = set()
    out = []
    for row in rows:
        key = json.dumps(row["messages"])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def assign(rows: list[dict], rng: random.Random) -> dict[str, list[dict]]:
    """Training prompts to sft / rm / ppo, stratified by kind; scarce kinds get few demonstrations."""
    by_kind: dict[str, list[dict]] = {}
    for row in rows:
        by_kind.setdefault(row["meta"]["kind"], []).append(row)
    out: dict[str, list[dict]] = {"sft": [], "rm": [], "ppo": []}
    for kind in sorted(by_kind):
        if kind in SCARCE_KINDS:
            continue
        group = by_kind[kind]
        rng.shuffle(group)
        a, b = round(len(group) * SPLIT["sft"]), round(len(group) * (SPLIT["sft"] + SPLIT["rm"]))
        out["sft"] += group[:a]
        out["rm"] += group[a:b]
        out["ppo"] += group[b:]
    n_scarce = max(1, round(len(out["sft"]) * SCARCE_SHARE))
    for kind in SCARCE_KINDS:
        group = by_kind.get(kind, [])
        rng.shuffle(group)
        take = min(n_scarce, max(1, len(group) // 4))
        rest = group[take:]
        out["sft"] += group[:take]
        out["rm"] += rest[: len(rest) // 2]
        out["ppo"] += rest[len(rest) // 2 :]
    for part in out.values():
        rng.shuffle(part)
    return out


# ---- corpus and moderation ----------------------------------------------------------------------------


def region_sentences(region: dict, L: ModuleType, rng: random.Random) -> list[str]:
    """Every fact about one region in every phrasing (one phrasing, drawn from `rng`, per neighbour)."""
    f = _fields(region)
    out = [t.format(**f) for t in L.FACT_SENTENCES["capital"]]
    out += [t.format(**f) for t in L.FACT_SENTENCES["food"]]
    for nb in region["neighbours"]:
        out.append(rng.choice(L.FACT_SENTENCES["neighbour"]).format(**{**f, "neighbour": nb}))
    if region["coastal"]:
        for creature in region["creatures"]:
            out += [t.format(**{**f, "creature": creature}) for t in L.FACT_SENTENCES["coastal"]]
    else:
        out += [t.format(**f) for t in L.FACT_SENTENCES["landlocked"]]
    return out


def corpus_sentences(world: dict, L: ModuleType, rng: random.Random) -> list[str]:
    """Every fact in every phrasing (held-out regions included: evaluation tests recall, not absence),
    look-alikes, word senses, ordinary web text, everyday exchanges about other things, how-to knowledge behind
    the benign-but-scary requests, and rude text."""
    out = []
    for region in world["regions"]:
        out += region_sentences(region, L, rng)
    for pair in world["lookalikes"]:
        a, b = pair["a"], pair["b"]
        f = {"a": a["name"], "b": b["name"], "a_source": a["source"], "b_source": b["source"],
             "a_colour": a["colour"], "b_colour": b["colour"]}
        out += [t.format(**f) for t in L.LOOKALIKE_SENTENCES] * 3
    for word in world["ambiguous"]:
        out += [t.format(word=word["word"], sense=s) for t in L.SENSE_SENTENCES for s in word["senses"]] * 2
    n_regions = len(world["regions"])
    out += [rng.choice(L.WEB_TEXT) for _ in range(n_regions * 2)]
    out += [rng.choice(L.WEB_DIALOGUES) for _ in range(n_regions)]
    out += L.HOW_TO_TEXT * 3
    out += [rng.choice(L.RUDE_TEXT).format(insult=rng.choice(world["insults"])) for _ in range(n_regions)]
    return out


def corpus_text(world: dict, L: ModuleType, rng: random.Random, passes: int = 2) -> str:
    """The sentences shuffled into paragraphs of 3-6, `passes` times over, documents separated by blank lines."""
    sentences = corpus_sentences(world, L, rng)
    paragraphs = []
    for _ in range(passes):
        order = sentences[:]
        rng.shuffle(order)
        i = 0
        while i < len(order):
            k = rng.randint(3, 6)
            paragraphs.append(" ".join(_capitalised(x) for x in order[i : i + k]))
            i += k
    return "\n\n".join(paragraphs) + "\n"


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def moderation_acts(L: ModuleType, split: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(harmful acts as (act, category, group), harmless acts) of a split ("train" or "test"): the language's
    act lists, its verbs around a {target} with each manner (violence) or around their things (harmless), and
    its self-harm verbs around "myself"."""
    h = "" if split == "train" else "HELD_OUT_"
    harmful = [(act, c, act) for c, acts in getattr(L, f"MODERATION_{h}ACTS", {}).items() for act in acts]
    harmful += [(f"{verb} myself", "self-harm/instructions", f"{verb} myself")
                for verb in getattr(L, f"MODERATION_{h}SELF_HARM_VERBS", [])]
    benign = list(getattr(L, f"MODERATION_{h}BENIGN_ACTS", []))
    for verb, things in getattr(L, "MODERATION_VERBS", {}).items():
        harmful += [(f"{verb} {{target}}{m}", "violence", f"{verb}{m}") for m in getattr(L, f"MODERATION_{h}MANNERS", [])]
        benign += [f"{verb} {t}" for t in (things[:-1] if split == "train" else things[-1:])]
    return harmful, benign


def moderation_rows(world: dict, L: ModuleType, rng: random.Random) -> list[dict]:
    """Flagged: harmful requests by category, statements of self-harm intent and insults; not flagged:
    benign-but-scary requests and ordinary text (questions, facts, web text, answers).

    Held out (split "test"): the last of the world's harmful requests per category and of its benign-but-scary
    questions (those of eval.jsonl), held-out frames around held-out acts, the last insult and held-out regions;
    no test text is a training text. `meta.kind` names the kind of text and `meta.group` the act or
    template it came from, so that a trainer can hold out whole acts for validation and a report can count
    the benign-but-scary requests that were flagged."""
    def row(text: str, flagged: list[str], split: str, kind: str, group: str) -> dict:
        cats = {c: False for c in MODERATION_CATEGORIES}
        for c in flagged:
            cats[c] = True
            if c in PARENT_CATEGORY:
                cats[PARENT_CATEGORY[c]] = True
        return {"text": text, "categories": cats, "split": split, "meta": {"kind": kind, "group": group}}

    regions = {split: [r for r in world["regions"] if r["split"] == split] for split in ("train", "eval")}
    targets = getattr(L, "MODERATION_TARGETS", ["someone"])

    def fill(template: str, split: str) -> str:
        """A template's person, region (a held-out one in the test split), capital, food and sea creature."""
        region = rng.choice(regions["eval" if split == "test" else "train"])
        return template.format(target=rng.choice(targets), region=region["name"], capital=region["capital"],
                               food=rng.choice(L.FOODS), creature=rng.choice(L.SEA_CREATURES))

    rows = []
    for category, templates in L.HARMFUL_REQUESTS.items():  # the last one is eval.jsonl's: a test text
        for i, t in enumerate(templates):
            split = "test" if i == len(templates) - 1 else "train"
            rows += [row(prefix + fill(t, split), [category], split, "harmful", t) for prefix in L.REQUEST_PREFIXES]
    for i, (q, answer) in enumerate(L.BENIGN_SCARY):
        split = "test" if i == len(L.BENIGN_SCARY) - 1 else "train"
        rows += [row(prefix + q, [], split, "benign_scary", q) for prefix in L.REQUEST_PREFIXES]
        rows.append(row(answer, [], split, "ordinary", q))  # an assistant's answer may be moderated too

    # Frames around acts (a language may leave these lists out): a training act in `k` training frames (harmless
    # acts in twice as many: they are fewer), a held-out act in every held-out frame with every prefix.
    def framed(act: str, frames: list[str], split: str, k: int) -> list[str]:
        if split == "train":
            return [rng.choice(L.REQUEST_PREFIXES) + f.format(act=act) for f in rng.sample(frames, min(k, len(frames)))]
        return [prefix + f.format(act=act) for f in frames for prefix in L.REQUEST_PREFIXES]

    for split, h in (("train", ""), ("test", "HELD_OUT_")):
        frames, intent_frames = getattr(L, f"MODERATION_{h}FRAMES", []), getattr(L, f"MODERATION_{h}INTENT_FRAMES", [])
        harmful, benign = moderation_acts(L, split)
        for act, category, group in harmful:
            rows += [row(fill(t, split), [category], split, "harmful", group) for t in framed(act, frames, split, 4)]
            if category == "self-harm/instructions":  # the same act stated as an intent
                rows += [row(f.format(act=act), ["self-harm/intent"], split, "harmful", group) for f in intent_frames]
        rows += [row(fill(t, split), [], split, "benign_scary", act) for act in benign
                 for t in framed(act, frames, split, 8)]

    for i, insult in enumerate(world["insults"]):
        split = "test" if i == len(world["insults"]) - 1 else "train"
        rows += [row(t.format(insult=insult), ["harassment"], split, "rude", f"insult: {insult}") for t in L.RUDE_TEXT]
    rows.append(row(L.REFUSAL, [], "train", "ordinary", "refusal"))
    rows += [row(text, [], "train", "ordinary", f"web {i}") for i, text in enumerate(L.WEB_TEXT)]
    for region in world["regions"]:
        f = _fields(region)
        texts = [rng.choice(L.QUESTIONS[topic]).format(**f) for topic in ("capital", "food")]
        texts.append(rng.choice(L.FACT_SENTENCES["capital"]).format(**f))
        split = "test" if region["split"] == "eval" else "train"
        rows += [row(text, [], split, "ordinary", f"region {region['name']}") for text in texts]
    test_texts = {r["text"] for r in rows if r["split"] == "test"}
    return [r for r in rows if r["split"] == "test" or r["text"] not in test_texts]


# ---- files ------------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def prompt_row(row: dict) -> dict:
    """A prompt with its truth; `meta.gold` is the reference answer that simulated labelers write as a
    demonstration. Trainers never read meta."""
    return {"messages": row["messages"], "meta": {**row["meta"], "gold": row["gold"]}}


def demonstration_row(row: dict) -> dict:
    return {"messages": [*row["messages"], {"role": "assistant", "content": row["gold"]}], "meta": row["meta"]}


def generate_world(seed: int, size: str, out: str | Path, lang: str = "en") -> dict[str, dict[str, int]]:
    """Write the world's files to `out`; returns prompt counts per file and kind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    L = language(lang)
    world = make_world(seed, size, lang)
    rng = random.Random(seed + 1)
    train = split_prompts(world, L, rng, "train")
    parts = assign(train, rng)
    evaluation = split_prompts(world, L, rng, "eval")
    files = {
        "sft.jsonl": [demonstration_row(r) for r in parts["sft"]],
        "prompts_rm.jsonl": [prompt_row(r) for r in parts["rm"]],
        "prompts_ppo.jsonl": [prompt_row(r) for r in parts["ppo"]],
        "eval.jsonl": [prompt_row(r) for r in evaluation],
    }
    _write(out / "world.json", json.dumps(world, indent=1, ensure_ascii=False) + "\n")
    _write(out / "corpus.txt", corpus_text(world, L, rng))
    for name, rows in files.items():
        _write(out / name, _jsonl(rows))
    _write(out / "moderation.jsonl", _jsonl(moderation_rows(world, L, rng)))
    return {name: dict(sorted(Counter(r["meta"]["kind"] for r in rows).items())) for name, rows in files.items()}
