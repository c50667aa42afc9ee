"""`chatrlhf world generate`: the built-in world's files, deterministic per seed.

    world.json         the facts (facts.make_world)
    corpus.txt         step 0 text: every region's facts in several phrasings, web-like text, exchanges
                       (refusing, asking back, not knowing, small talk), how-to knowledge and rude text
    sft.jsonl          demonstrations (scarce for false-premise, ambiguous and harmful prompts)
    prompts_rm.jsonl   prompts whose sampled answers labelers rank (step 2)
    prompts_ppo.jsonl  prompts for RL (step 3), disjoint from the ranking prompts
    eval.jsonl         held-out prompts about regions and entities no training prompt mentions, and held-out
                       templates, acts, words and small talk
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
from chatrlhf.world.facts import SIZES, language, make_world, share

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


def _say(rng: random.Random, phrasings: list[str], size: str, **fields: str) -> str:
    """One of a gold answer's phrasings, filled in: demonstrations vary, so SFT learns a behaviour, not a sentence
    (a tiny world uses the first phrasing or two: its tests train models of a few thousand parameters)."""
    return _capitalised(rng.choice(share(phrasings, size)).format(**fields))


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


def region_prompts(rng: random.Random, L: ModuleType, region: dict, insults: list[str], hidden: frozenset[str],
                   size: str) -> list[dict]:
    """Factual, false-premise, paraphrase, rude, multi-turn and closed-domain prompts about one region."""
    f = _fields(region, hidden)
    name = region["name"]
    rows = []
    topics = ["capital", "food", "neighbour", "sea"] if f["neighbour"] else ["capital", "food", "sea"]
    paraphrased = rng.choice(["capital", "food"])  # one paraphrase group per region keeps the kinds balanced
    for topic in topics:
        phrasings = [q.format(**f) for q in L.QUESTIONS[topic]]
        truth = _truth(region, topic)
        if topic == "sea" and not region["coastal"]:
            for q in phrasings:  # asking what lives in a landlocked region's sea: the answer corrects the premise
                rows.append(_row(rng, L, [q], _say(rng, L.FALSE_PREMISE_ANSWERS, size, **f), kind="false_premise", topic=topic,
                                 region=name, truth=truth))
            continue
        if topic == paraphrased:  # the same question in every phrasing: a paraphrase group
            for q in phrasings:
                rows.append(_row(rng, L, [q], _say(rng, L.ANSWERS[topic], size, **f), kind="paraphrase", topic=topic,
                                 region=name, group=f"{name}/{topic}", truth=truth))
        q = rng.choice(phrasings)
        rows.append(_row(rng, L, [q], _say(rng, L.ANSWERS[topic], size, **f), kind="factual", topic=topic, region=name,
                         truth=truth))
        insult = rng.choice(insults)
        rude = rng.choice(L.RUDE_WRAPPERS).format(question=q, question_lower=q[0].lower() + q[1:], insult=insult)
        rows.append(_row(rng, L, [rude], _say(rng, L.ANSWERS[topic], size, **f), kind="rude", topic=topic, region=name,
                         insult=insult, truth=truth))
    # Multi-turn: the follow-up names no region; the answer must resolve "its".
    for first, then in (("food", "capital"), ("capital", "food")):
        turns = [rng.choice(L.QUESTIONS[first]).format(**f), _say(rng, L.ANSWERS[first], size, **f),
                 rng.choice(L.FOLLOW_UPS[then])]
        rows.append(_row(rng, L, turns, _say(rng, L.ANSWERS[then], size, **f), kind="multi_turn", topic=then, region=name,
                         truth=_truth(region, then)))
    rows += closed_domain_prompts(rng, L, region, f, size)
    return rows


def closed_domain_prompts(rng: random.Random, L: ModuleType, region: dict, f: dict[str, str], size: str) -> list[dict]:
    """A passage stating a region's facts; one question it answers and one it does not (adding facts is
    hallucination)."""
    sentences = [rng.choice(L.FACT_SENTENCES["food"]).format(**f)]
    if f["neighbour"]:
        sentences.append(rng.choice(L.FACT_SENTENCES["neighbour"]).format(**f))
    passage = " ".join(sentences)
    facts = {"foods": region["foods"], "neighbours": [f["neighbour"]] if f["neighbour"] else []}
    rows = []
    for topic, in_passage in (("food", True), ("capital", False)):
        q = rng.choice(L.QUESTIONS[topic]).format(**f)
        prompt = rng.choice(L.CLOSED_DOMAIN).format(passage=passage, question=q)
        gold = _say(rng, L.ANSWERS[topic], size, **f) if in_passage else _say(rng, L.CLOSED_NOT_IN_PASSAGE, size)
        rows.append(_row(rng, L, [prompt], gold, kind="closed_domain", topic=topic, region=region["name"],
                         truth={"in_passage": in_passage, "passage_facts": facts, **_truth(region, topic)}))
    return rows


def confusion_prompts(rng: random.Random, L: ModuleType, pair: dict, size: str) -> list[dict]:
    a, b = pair["a"], pair["b"]
    f = {"a": a["name"], "b": b["name"], "A": _capitalised(a["name"]), "a_source": a["source"], "b_source": b["source"],
         "a_colour": a["colour"], "b_colour": b["colour"]}
    truth = {"a": a, "b": b}
    return [_row(rng, L, [q.format(**f)], _say(rng, L.CONFUSION_ANSWERS, size, **f), kind="confusion", truth=truth)
            for q in share(L.CONFUSION_QUESTIONS, size)]


def ambiguous_prompts(rng: random.Random, L: ModuleType, word: dict, size: str) -> list[dict]:
    f = {"word": word["word"], "sense0": word["senses"][0], "sense1": word["senses"][1]}
    truth = {"word": word["word"], "senses": word["senses"]}
    return [_row(rng, L, [q.format(**f)], _say(rng, L.AMBIGUOUS_ANSWERS, size, **f), kind="ambiguous", truth=truth)
            for q in share(L.AMBIGUOUS_REQUESTS, size)]


def harmful_acts(L: ModuleType, split: str, size: str) -> list[tuple[str, str]]:
    """(act, category) of the chat's harmful requests: the moderation data's acts (held-out ones for "eval") in the
    categories of the language's harmful requests, its verbs around a {target} with each manner, and its
    self-harm verbs around "myself"."""
    h = "" if split == "train" else "HELD_OUT_"
    acts = [(act, c) for c, items in getattr(L, f"MODERATION_{h}ACTS").items() if c in L.HARMFUL_REQUESTS
            for act in share(items, size)]
    acts += [(f"{verb} {{target}}{m}", "violence") for verb in share(list(L.MODERATION_VERBS), size)
             for m in share(getattr(L, f"MODERATION_{h}MANNERS"), size)]
    acts += [(f"{verb} myself", "self-harm/instructions") for verb in share(getattr(L, f"MODERATION_{h}SELF_HARM_VERBS"), size)]
    return acts


def harmful_prompts(rng: random.Random, L: ModuleType, regions: list[dict], split: str, size: str) -> list[dict]:
    """Harmful requests per moderation category: the language's requests (each category's last kept for
    evaluation) and request frames around harmful acts (held-out frames around held-out acts for evaluation)."""
    rows = []
    prefixes = share(L.REQUEST_PREFIXES, size)

    def add(text: str, category: str) -> None:
        text = text.format(region=rng.choice(regions)["name"], target=rng.choice(L.MODERATION_TARGETS))
        rows.append(_row(rng, L, [text], _say(rng, L.REFUSALS, size), kind="harmful", category=category,
                         truth={"category": category}))

    for category, templates in L.HARMFUL_REQUESTS.items():
        for t in templates[-1:] if split == "eval" else templates[:-1]:
            for prefix in L.REQUEST_PREFIXES if split == "train" else [rng.choice(prefixes)]:
                add(prefix + t, category)
    frames = L.MODERATION_FRAMES if split == "train" else share(L.MODERATION_HELD_OUT_FRAMES, size)
    k = SIZES[size]["frames"]
    for act, category in harmful_acts(L, split, size):
        for frame in rng.sample(frames, min(k, len(frames))) if split == "train" else frames:
            add(rng.choice(prefixes) + frame.format(act=act), category)
    return rows


def benign_acts(L: ModuleType, split: str, size: str) -> list[tuple[str, str, str]]:
    """(act, reference answer, how-to text) of the benign-but-scary requests of a split."""
    return share(L.BENIGN_SCARY if split == "train" else L.BENIGN_SCARY_HELD_OUT, size)


def benign_prompts(rng: random.Random, L: ModuleType, split: str, size: str) -> list[dict]:
    """Requests that sound harmful but are not ('kill a process'), in the frames of harmful ones: refusing them is
    the error. Held-out acts are asked in the held-out frames and a few training ones."""
    spec = SIZES[size]
    prefixes = share(L.REQUEST_PREFIXES, size)
    rows = []
    for act, answer, _ in benign_acts(L, split, size):
        if split == "train":
            frames = rng.sample(L.MODERATION_FRAMES, min(spec["benign_frames"], len(L.MODERATION_FRAMES)))
        else:
            frames = share(L.MODERATION_HELD_OUT_FRAMES, size) + rng.sample(L.MODERATION_FRAMES, spec["frames"])
        for frame in frames:
            gold = rng.choice(share(L.BENIGN_LEADS, size)) + answer
            rows.append(_row(rng, L, [rng.choice(prefixes) + frame.format(act=act)], gold, kind="benign_scary",
                             truth={"reference": answer}))
    return rows


def everyday_prompts(rng: random.Random, L: ModuleType, split: str, size: str) -> list[dict]:
    """Greetings, thanks, goodbyes, "what can you do?" and small talk; training phrasings also as typed in a
    hurry (lower case, no closing mark), held-out phrasings for evaluation."""
    rows = []
    for act, spec in L.EVERYDAY.items():
        if split == "train":
            texts = [t for p in share(spec["prompts"], size) for t in dict.fromkeys([p, p.lower().rstrip(".!?")])]
        else:
            texts = share(spec["held_out"], size)
        rows += [_row(rng, L, [t], _say(rng, spec["answers"], size), kind="everyday", truth={"act": act}) for t in texts]
    return rows


def unknown_prompts(rng: random.Random, L: ModuleType, names: list[str], size: str) -> list[dict]:
    rows = []
    for name in names:
        q = rng.choice(L.QUESTIONS[rng.choice(["capital", "food"])]).format(region=name)
        rows.append(_row(rng, L, [q], _say(rng, L.UNKNOWN_ANSWERS, size, region=name), kind="unknown", region=name,
                         truth={"known": False}))
    return rows


def split_prompts(world: dict, L: ModuleType, rng: random.Random, split: str) -> list[dict]:
    """Every prompt about the entities of one split ("train" or "eval")."""
    size = world["size"]
    regions = [r for r in world["regions"] if r["split"] == split]
    hidden = frozenset(r["name"] for r in world["regions"] if r["split"] != split) if split == "train" else frozenset()
    rows = []
    for region in regions:
        rows += region_prompts(rng, L, region, world["insults"], hidden, size)
    for pair in world["lookalikes"]:
        if pair["split"] == split:
            rows += confusion_prompts(rng, L, pair, size)
    for word in world["ambiguous"]:
        if word["split"] == split:
            rows += ambiguous_prompts(rng, L, word, size)
    rows += harmful_prompts(rng, L, regions, split, size)
    rows += benign_prompts(rng, L, split, size)
    rows += everyday_prompts(rng, L, split, size)
    if split == "eval":
        rows += unknown_prompts(rng, L, world["unknown_regions"], size)
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
    look-alikes, word senses, ordinary web text, exchanges about other things (refusing, asking back, not
    knowing), everyday small talk in its training phrasings, how-to knowledge behind the benign-but-scary
    requests (held-out ones included, in other words than the request), and rude text."""
    size = world["size"]
    out = []
    for region in world["regions"]:
        out += region_sentences(region, L, rng)
    for pair in world["lookalikes"]:
        a, b = pair["a"], pair["b"]
        f = {"a": a["name"], "b": b["name"], "a_source": a["source"], "b_source": b["source"],
             "a_colour": a["colour"], "b_colour": b["colour"]}
        out += [t.format(**f) for t in L.LOOKALIKE_SENTENCES] * 2
    for word in world["ambiguous"]:
        out += [t.format(word=word["word"], sense=s) for t in L.SENSE_SENTENCES for s in word["senses"]] * 2
    n_regions = len(world["regions"])
    out += [rng.choice(L.WEB_TEXT) for _ in range(n_regions * 2)]
    out += [rng.choice(L.WEB_DIALOGUES) for _ in range(n_regions)]
    small_talk = [(p, spec["answers"]) for spec in L.EVERYDAY.values() for p in share(spec["prompts"], size)]
    for _ in range(n_regions):
        prompt, answers = rng.choice(small_talk)
        out.append(f"{prompt}{'' if prompt[-1] in '.!?' else '.'} {_say(rng, answers, size)}")
    out += [how_to for split in ("train", "eval") for _, _, how_to in benign_acts(L, split, size)] * 2
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
    act lists, its verbs around a {target} with each manner (violence) or around their things (harmless), its
    self-harm verbs around "myself", and the acts of its benign-but-scary requests."""
    h = "" if split == "train" else "HELD_OUT_"
    harmful = [(act, c, act) for c, acts in getattr(L, f"MODERATION_{h}ACTS", {}).items() for act in acts]
    harmful += [(f"{verb} myself", "self-harm/instructions", f"{verb} myself")
                for verb in getattr(L, f"MODERATION_{h}SELF_HARM_VERBS", [])]
    benign = list(getattr(L, f"MODERATION_{h}BENIGN_ACTS", []))
    for verb, things in getattr(L, "MODERATION_VERBS", {}).items():
        harmful += [(f"{verb} {{target}}{m}", "violence", f"{verb}{m}") for m in getattr(L, f"MODERATION_{h}MANNERS", [])]
        benign += [f"{verb} {t}" for t in (things[:-1] if split == "train" else things[-1:])]
    benign += [act for act, _, _ in getattr(L, "BENIGN_SCARY" if split == "train" else "BENIGN_SCARY_HELD_OUT", [])]
    return harmful, list(dict.fromkeys(benign))


def moderation_rows(world: dict, L: ModuleType, rng: random.Random) -> list[dict]:
    """Flagged: harmful requests by category, statements of self-harm intent and insults; not flagged:
    benign-but-scary requests and ordinary text (questions, facts, web text, small talk, answers).

    Held out (split "test"): the last of the world's harmful requests per category, held-out frames around
    held-out acts (the held-out benign-but-scary requests of eval.jsonl among them), held-out small talk, the last
    insult and held-out regions; no test text is a training text. `meta.kind` names the kind of text and
    `meta.group` the act or template it came from, so that a trainer can hold out whole acts for validation and a
    report can count the benign-but-scary requests that were flagged."""
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
    for split, held in (("train", False), ("test", True)):  # an assistant's answer may be moderated too
        acts = L.BENIGN_SCARY_HELD_OUT if held else L.BENIGN_SCARY
        rows += [row(answer, [], split, "ordinary", act) for act, answer, _ in acts]

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
    for act, spec in getattr(L, "EVERYDAY", {}).items():
        rows += [row(text, [], split, "ordinary", f"small talk: {text}")
                 for split, key in (("train", "prompts"), ("test", "held_out")) for text in spec[key]]
        rows += [row(text, [], "train", "ordinary", f"small talk reply: {act}") for text in spec["answers"]]
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
