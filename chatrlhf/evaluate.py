"""Evaluation. Today: closed-book fact recall of a language model on the built-in world, the measure of
what pretraining learned and, later, of the alignment tax that PPO-ptx should protect (DESIGN.md 6b).
"""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from chatrlhf.sampling import sample
from chatrlhf.tokenizer import END, EOS, encode_text


def fact_recall(
    model: PreTrainedModel, tok: PreTrainedTokenizerBase, world: dict[str, Any], max_new_tokens: int = 8
) -> dict[str, float]:
    """Share of regions whose capital a greedy completion of "The capital of R is" names, for training
    and held-out regions separately (held-out facts are only in the corpus, never in a prompt)."""
    regions = world["regions"]
    prompts = [encode_text(tok, f"The capital of {r['name']} is") for r in regions]
    stop = [tok.convert_tokens_to_ids(END), tok.convert_tokens_to_ids(EOS)]
    out = sample(model, prompts, max_new_tokens=max_new_tokens, stop_ids=stop, pad_id=tok.pad_token_id, temperature=0)
    hits: dict[str, list[bool]] = {"train": [], "eval": []}
    for region, ids in zip(regions, out.responses(), strict=True):
        hits[region["split"]].append(region["capital"] in tok.decode(ids))
    return {f"capital_recall_{split}": sum(h) / len(h) for split, h in hits.items() if h}
