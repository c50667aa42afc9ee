"""The reading stream: generated documents that can only be predicted by reading them.

A model pretrained on the world's small corpus alone memorises it and never needs to look back at its
context, so it cannot copy a name from a question (SFT) or judge an answer's fit to it (reward model).
This stream teaches reading: notes, country guides, stories, letters, dialogues and tables about invented
people and places whose names recur inside the document, followed by questions answered from it.

Document `k` of window `index` is a pure function of (seed, index, k), so a resumed run reads exactly what
an uninterrupted one would, nothing is held in memory, and a run never reads one document twice. The
probe's names are a fixed slice of the name space that no training document ever uses.

    windows = stream_window(tok, "en", seed=0, index=17, n_tokens=129)
    probe_accuracy(model, tok, probe_items("en", 200))   # greedy exact match on held-out names
"""

from __future__ import annotations

import functools
import itertools
import random
import zlib
from collections.abc import Callable
from types import ModuleType

import torch

from chatrlhf.world.facts import language

Doc = tuple[str, list[tuple[str, str]]]  # the text to read, and (question, answer) pairs it answers
PROBE_SLICE = 8  # a name whose crc32 is 0 mod this is probe-only
COUNTRY_END = ["ora", "esh", "ovar", "enne", "istra", "elle", "ondo", "ukai"]


@functools.cache
def _name_pools(lang: str) -> dict[str, dict[str, list[str]]]:
    """Every invented person, town and country name, split into training and probe names. No name ends
    like a world place name (region, capital or unknown), so the stream never names a world entity."""
    L = language(lang)
    world_ends = tuple(L.SYLLABLES_END + L.CITY_END)

    def pool(starts: list[str], mids: list[str], ends: list[str]) -> dict[str, list[str]]:
        names = sorted({s + m + e for s, m, e in itertools.product(starts, mids, ends)} - set(L.SYLLABLES_START))
        names = [n for n in names if not n.lower().endswith(world_ends)]
        split: dict[str, list[str]] = {"train": [], "probe": []}
        for n in names:
            split["probe" if zlib.crc32(n.encode()) % PROBE_SLICE == 0 else "train"].append(n)
        return split

    return {
        "person": pool(L.READING_PERSON_START, L.READING_PERSON_MID, L.READING_PERSON_END),
        "town": pool(L.READING_TOWN_START, [""], L.READING_TOWN_END),
        "country": pool(L.READING_PERSON_START, L.READING_PERSON_MID, COUNTRY_END),
    }


def is_probe_name(name: str) -> bool:
    return zlib.crc32(name.encode()) % PROBE_SLICE == 0


def _pick(rng: random.Random, lang: str, kind: str, split: str, k: int) -> list[str]:
    return rng.sample(_name_pools(lang)[kind][split], k)


# ---- document kinds: each returns the text and the questions it answers ---------------------------------


def notes(rng: random.Random, L: ModuleType, lang: str, split: str) -> Doc:
    """A few people, two or three facts each, in shuffled order."""
    people = _pick(rng, lang, "person", split, rng.randint(2, 4))
    towns = _pick(rng, lang, "town", split, 4)
    values = {"town": lambda: rng.choice(towns), "job": lambda: rng.choice(L.READING_JOBS),
              "likes": lambda: rng.choice(L.READING_LIKES), "age": lambda: str(rng.randint(18, 90))}
    sentences, qas = [], []
    for p in people:
        for attr, statements, q, a in rng.sample(L.READING_PERSON_FACTS, rng.randint(2, 3)):
            v = values[attr]()
            sentences.append(rng.choice(statements).format(p=p, v=v))
            qas.append((q.format(p=p), a.format(p=p, v=v)))
    rng.shuffle(sentences)
    return rng.choice(L.READING_NOTES_TITLES).format(town=towns[0]) + "\n" + " ".join(sentences), qas


def countries(rng: random.Random, L: ModuleType, lang: str, split: str) -> Doc:
    """Invented countries with a capital, a dish and a flag."""
    names = _pick(rng, lang, "country", split, rng.randint(2, 3))
    capitals = _pick(rng, lang, "town", split, len(names))
    values = {"dish": lambda: rng.choice(L.READING_DISHES), "colour": lambda: rng.choice(L.READING_COLOURS)}
    lines, qas = [], []
    for c, capital in zip(names, capitals, strict=True):
        facts = [f for f in L.READING_PLACE_FACTS if f[0] == "capital"]
        facts += rng.sample([f for f in L.READING_PLACE_FACTS if f[0] != "capital"], 1)
        said = []
        for attr, statements, q, a in facts:
            v = capital if attr == "capital" else values[attr]()
            said.append(rng.choice(statements).format(c=c, v=v))
            qas.append((q.format(c=c), a.format(c=c, v=v)))
        lines.append(" ".join(said))
    return rng.choice(L.READING_PLACE_TITLES) + "\n" + "\n".join(lines), qas


def _scene(templates: list) -> Callable[[random.Random, ModuleType, str, str], Doc]:
    """A document kind from templates with three people {a} {b} {c}, a {town} and a {thing}."""

    def make(rng: random.Random, L: ModuleType, lang: str, split: str) -> Doc:
        text, questions = rng.choice(getattr(L, templates))
        a, b, c = _pick(rng, lang, "person", split, 3)
        f = {"a": a, "b": b, "c": c, "town": _pick(rng, lang, "town", split, 1)[0], "thing": rng.choice(L.READING_THINGS)}
        return text.format(**f), [(q.format(**f), ans.format(**f)) for q, ans in questions]

    make.__name__ = templates.lower()
    return make


def table(rng: random.Random, L: ModuleType, lang: str, split: str) -> Doc:
    people = _pick(rng, lang, "person", split, rng.randint(3, 4))
    towns = _pick(rng, lang, "town", split, 3)
    rows, qas = [], []
    for p in people:
        town, job = rng.choice(towns), rng.choice(L.READING_JOBS)
        rows.append(f"{p} | {town} | {job}")
        town_fact, job_fact = (f for f in L.READING_PERSON_FACTS if f[0] in ("town", "job"))
        qas += [(town_fact[2].format(p=p), town_fact[3].format(p=p, v=town)),
                (job_fact[2].format(p=p), job_fact[3].format(p=p, v=job))]
    title = rng.choice(L.READING_TABLE_TITLES).format(town=towns[0])
    return "\n".join([title, L.READING_TABLE_HEADER, *rows]), qas


KINDS = [(notes, 4), (countries, 2), (_scene("READING_STORIES"), 1), (_scene("READING_LETTERS"), 1),
         (_scene("READING_DIALOGUES"), 1), (table, 1)]  # (kind, weight)


def _doc_rng(seed: int, index: int, k: int) -> random.Random:
    return random.Random(f"reading/{seed}/{index}/{k}")  # str seeds are hashed with sha512: stable everywhere


def _kind(rng: random.Random) -> Callable[..., Doc]:
    return rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]


def document(lang: str, seed: int, index: int, k: int) -> str:
    """Training document k of stream window `index`: the text, then two to four of its questions answered."""
    L = language(lang)
    rng = _doc_rng(seed, index, k)
    text, qas = _kind(rng)(rng, L, lang, "train")
    asked = rng.sample(qas, min(len(qas), rng.randint(2, 4)))
    return text + "\n" + "\n".join(L.READING_QA.format(q=q, a=a) for q, a in asked)


def stream_window(tok, lang: str, seed: int, index: int, n_tokens: int) -> torch.Tensor:
    """Window `index` of the stream: `<|endoftext|>` then whole documents, each closed by `<|endoftext|>`, the
    last one cut at `n_tokens` (its rest is never read: no document is read twice)."""
    eos = tok.eos_token_id
    ids = [eos]
    k = 0
    while len(ids) < n_tokens:
        ids += tok(document(lang, seed, index, k), add_special_tokens=False, split_special_tokens=True)["input_ids"]
        ids.append(eos)
        k += 1
    return torch.tensor(ids[:n_tokens], dtype=torch.long)


def sample_texts(lang: str, n: int, seed: int = 0) -> list[str]:
    """n training documents (for fitting a tokenizer to the stream's words)."""
    return [document(lang, seed, -1 - i, 0) for i in range(n)]


# ---- the probe ----------------------------------------------------------------------------------------


def probe_items(lang: str, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n (prompt, answer) pairs: a document about probe-only names, then one question and "Answer:"; the
    answer is the exact sentence the stream's answers take."""
    L = language(lang)
    items = []
    for i in range(n):
        rng = random.Random(f"probe/{seed}/{i}")
        text, qas = _kind(rng)(rng, L, lang, "probe")
        q, a = rng.choice(qas)
        prompt = text + "\n" + L.READING_QA.format(q=q, a="").rstrip()
        items.append((prompt, a))
    return items


@torch.no_grad()
def probe_answers(model, tok, items: list[tuple[str, str]], batch_size: int = 32, max_new_tokens: int = 24) -> list[str]:
    """The model's greedy answer to each probe item: its continuation up to the first line break."""
    from chatrlhf.sampling import sample  # the core sampler; imported here so the stream needs no model code

    eos = tok.eos_token_id
    answers = []
    for i in range(0, len(items), batch_size):
        prompts = [[eos, *tok(p, add_special_tokens=False, split_special_tokens=True)["input_ids"]]
                   for p, _ in items[i : i + batch_size]]
        out = sample(model, prompts, max_new_tokens=max_new_tokens, stop_ids=[eos], pad_id=tok.pad_token_id,
                     temperature=0.0)
        answers += [tok.decode(r).split("\n")[0].strip() for r in out.responses()]
    return answers


@torch.no_grad()
def probe_loss(model, tok, items: list[tuple[str, str]], batch_size: int = 32) -> float:
    """Mean next-token loss (nats) of the expected answers' tokens, teacher-forced: it falls long before greedy
    answers become exactly right, so it shows reading emerge (or not) early in a run."""
    import torch.nn.functional as F

    eos, device = tok.eos_token_id, next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(items), batch_size):
        seqs, starts = [], []
        for prompt, answer in items[i : i + batch_size]:
            ids = tok(f"{prompt} {answer}", add_special_tokens=False, split_special_tokens=True)["input_ids"]
            starts.append(1 + len(tok(prompt, add_special_tokens=False, split_special_tokens=True)["input_ids"]))
            seqs.append([eos, *ids])
        width = max(map(len, seqs))
        ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in seqs], device=device)
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=device)
        was_training = model.training
        model.eval()
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()
        model.train(was_training)
        for row, (seq, start) in enumerate(zip(seqs, starts, strict=True)):
            target = ids[row, start : len(seq)]
            total += F.cross_entropy(logits[row, start - 1 : len(seq) - 1], target, reduction="sum").item()
            count += len(target)
    return total / count


def score_probe(answers: list[str], items: list[tuple[str, str]]) -> float:
    """Share of answers that are exactly the expected sentence."""
    return sum(a == expected for a, (_, expected) in zip(answers, items, strict=True)) / len(items)


def probe_accuracy(model, tok, items: list[tuple[str, str]]) -> float:
    """Greedy exact match of the model's answers to the probe items."""
    return score_probe(probe_answers(model, tok, items), items)
