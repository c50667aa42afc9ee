"""The facts of a generated world: regions on a grid (coastal or landlocked), capitals, foods, sea
creatures, neighbours, look-alike foods, ambiguous words and an invented insult lexicon.

`make_world(seed, size, lang)` is a pure function of its arguments; the result is plain JSON data
(`world.json`), which the judge and the labelers read back.
"""

from __future__ import annotations

import importlib
import math
import random
from types import ModuleType
from typing import Any

from chatrlhf.config import UserError

# regions, landlocked among them, held out for evaluation (landlocked among those), unknown names (in no text at
# all); `share`: the part of each of the language's lists of templates, acts, words, look-alike pairs and everyday
# phrasings and of each gold answer's phrasings a world uses (tiny worlds keep tests fast and learnable by
# models of a few thousand parameters); `frames`: request frames per harmful act in training, and training frames
# per held-out benign-but-scary act in evaluation; `benign_frames`: frames per benign-but-scary act in training.
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"regions": 12, "landlocked": 4, "held_out": 4, "held_landlocked": 1, "unknown": 2, "share": 0.2,
             "frames": 0, "benign_frames": 3},
    "small": {"regions": 72, "landlocked": 26, "held_out": 24, "held_landlocked": 10, "unknown": 44, "share": 1.0,
              "frames": 2, "benign_frames": 10},
    "base": {"regions": 240, "landlocked": 80, "held_out": 48, "held_landlocked": 16, "unknown": 60, "share": 1.0,
             "frames": 4, "benign_frames": 16},
}
LANGS = ("en",)


def language(lang: str) -> ModuleType:
    """The template module of a language (chatrlhf/world/<lang>.py)."""
    if lang not in LANGS:
        raise UserError(f"--lang {lang!r}: no such world language; available: {', '.join(LANGS)}")
    return importlib.import_module(f"chatrlhf.world.{lang}")


def share(items: list, size: str) -> list:
    """The first part of a language's list that a world of `size` uses (at least one item)."""
    return items[: max(1, math.ceil(len(items) * SIZES[size]["share"]))]


def invent_names(rng: random.Random, L: ModuleType, n: int, ends: list[str], taken: set[str]) -> list[str]:
    """n new place names from the language's syllables, none in `taken` (which is updated)."""
    names = []
    while len(names) < n:
        name = rng.choice(L.SYLLABLES_START) + rng.choice(L.SYLLABLES_MID) + rng.choice(ends)
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def grid_neighbours(n: int, width: int) -> list[list[int]]:
    """Indices of the 4-connected neighbours of each cell of a row-major grid holding n cells."""
    out = []
    for i in range(n):
        r, c = divmod(i, width)
        cells = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]
        out.append([rr * width + cc for rr, cc in cells if 0 <= cc < width and 0 <= rr * width + cc < n and rr >= 0])
    return out


def make_world(seed: int, size: str = "small", lang: str = "en") -> dict[str, Any]:
    if size not in SIZES:
        raise UserError(f"--size {size!r}: expected one of {', '.join(SIZES)}")
    L = language(lang)
    spec = SIZES[size]
    rng = random.Random(seed)
    taken: set[str] = set()
    n = spec["regions"]
    names = invent_names(rng, L, n, L.SYLLABLES_END, taken)
    capitals = invent_names(rng, L, n, L.CITY_END, taken)
    unknown = invent_names(rng, L, spec["unknown"], L.SYLLABLES_END, taken)
    landlocked = set(rng.sample(range(n), spec["landlocked"]))
    # Held out: landlocked ones among them, so the "no sea" behaviour can be measured on unseen regions.
    held = set(rng.sample(sorted(landlocked), spec["held_landlocked"]))
    held |= set(rng.sample(sorted(set(range(n)) - landlocked), spec["held_out"] - spec["held_landlocked"]))
    width = max(2, round(n**0.5))
    regions = []
    for i, nbrs in enumerate(grid_neighbours(n, width)):
        coastal = i not in landlocked
        regions.append({
            "name": names[i],
            "capital": capitals[i],
            "coastal": coastal,
            "creatures": sorted(rng.sample(L.SEA_CREATURES, 2)) if coastal else [],
            "foods": [rng.choice(L.FOODS)],
            "neighbours": [names[j] for j in nbrs],
            "split": "eval" if i in held else "train",
        })
    # Held-out look-alike pairs and ambiguous words are seen only in evaluation prompts (and the corpus).
    lookalikes = [{"a": a, "b": b, "split": split} for split, pairs in (("train", L.LOOKALIKES), ("eval", L.LOOKALIKES_HELD_OUT))
                  for a, b in share(pairs, size)]
    ambiguous = [{**w, "split": split} for split, words in (("train", L.AMBIGUOUS), ("eval", L.AMBIGUOUS_HELD_OUT))
                 for w in share(words, size)]
    return {
        "lang": lang,
        "seed": seed,
        "size": size,
        "regions": regions,
        "unknown_regions": unknown,
        "lookalikes": lookalikes,
        "ambiguous": ambiguous,
        "insults": list(L.INSULTS),
    }
