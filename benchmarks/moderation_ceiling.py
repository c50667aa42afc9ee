"""How far any threshold could take a moderation classifier on the world's held-out test split.

    python benchmarks/moderation_ceiling.py --data runs/default/world/moderation.jsonl [--model runs/default/moderation]

The target of moderation is harmful recall >= 95% with benign-but-scary requests flagged <= 5%. This prints,
for a bag-of-words logistic regression (words and word pairs, trained on the classifier's own training split)
and for the trained classifier given with `--model` (its "any category" score):
- the AUC of held-out harmful texts against held-out benign-but-scary requests, and against all benign texts;
- the best recall any threshold gets with at most 5% of benign-but-scary requests flagged, the threshold
  picked on the test split itself: an oracle, a ceiling on what choosing thresholds on validation can reach;
- for the classifier, what a threshold chosen on validation for at most that share of benign texts gives.
"""

from __future__ import annotations

import argparse
import json
import re

import torch

import chatrlhf  # noqa: F401  (sets flush-denormal)
from chatrlhf.config import ModerationConfig
from chatrlhf.moderation import encode, labels_of, load_moderation, predict, split_validation


def words(text: str) -> list[str]:
    """Lower-case words and adjacent word pairs."""
    w = re.findall(r"[a-z']+", text.lower())
    return w + [a + " " + b for a, b in zip(w, w[1:], strict=False)]


def bag_of_words_scores(train: list[dict], test: list[dict], steps: int = 300) -> torch.Tensor:
    """Logistic regression on word features of `train` (harmful or not); its logits on `test`."""
    vocab = {f: i for i, f in enumerate(sorted({f for r in train for f in words(r["text"])}))}

    def features(rows: list[dict]) -> torch.Tensor:
        x = torch.zeros(len(rows), len(vocab))
        for i, r in enumerate(rows):
            x[i, [vocab[f] for f in words(r["text"]) if f in vocab]] = 1.0
        return x

    x, y = features(train), labels_of(train)[:, -1]
    w, b = torch.zeros(len(vocab), requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.05)
    for _ in range(steps):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + 1e-3 * (w**2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return features(test) @ w + b


def auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """Probability that a positive scores above a negative (ties half)."""
    return ((pos[:, None] > neg[None, :]).float().mean() + 0.5 * (pos[:, None] == neg[None, :]).float().mean()).item()


def best_recall(pos: torch.Tensor, neg: torch.Tensor, max_false_pos: float) -> float:
    """The highest share of `pos` above a threshold that flags at most `max_false_pos` of `neg`."""
    allowed = int(max_false_pos * len(neg))
    t = torch.sort(neg, descending=True).values[allowed] if allowed < len(neg) else neg.min() - 1
    return (pos > t).float().mean().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the world's moderation.jsonl")
    ap.add_argument("--model", help="a directory written by `chatrlhf moderate train` on the same data")
    ap.add_argument("--max-false-pos", type=float, default=0.05, help="benign-but-scary share allowed to be flagged")
    args = ap.parse_args()

    rows = [json.loads(line) for line in open(args.data)]
    test = [r for r in rows if r["split"] == "test"]
    mc = ModerationConfig()  # the split `chatrlhf moderate train` makes by default
    train, val = split_validation([r for r in rows if r["split"] != "test"], mc.val_fraction, mc.seed)
    harmful = labels_of(test)[:, -1].bool()
    scary = torch.tensor([r["meta"].get("kind") == "benign_scary" for r in test])
    print(f"test split: {int(harmful.sum())} harmful texts, {int(scary.sum())} benign-but-scary, "
          f"{int((~harmful).sum())} benign in all")

    scores = {"bag of words + pairs": bag_of_words_scores(train, test)}
    if args.model:
        mod = load_moderation(args.model)

        def any_category(rows: list[dict]) -> torch.Tensor:
            texts = encode(mod.tokenizer, [r["text"] for r in rows], mod.max_len)
            return predict(mod.model, texts, mod.tokenizer.pad_token_id, mod.device)[:, -1]

        probs = scores[f"classifier {args.model}"] = any_category(test)
        val_benign = any_category(val)[~labels_of(val)[:, -1].bool()]
        t = torch.sort(val_benign, descending=True).values[int(args.max_false_pos * len(val_benign))]
        at_val = (f"classifier at the threshold that flags at most {args.max_false_pos:.0%} of validation's benign "
                  f"texts ({t:.3f}; its own: {mod.thresholds['flagged']:.3f}): harmful test texts flagged "
                  f"{(probs[harmful] > t).float().mean():.1%}, benign-but-scary {(probs[scary] > t).float().mean():.1%}")
    for name, s in scores.items():
        print(f"{name}: AUC harmful vs benign-but-scary {auc(s[harmful], s[scary]):.3f}, vs all benign "
              f"{auc(s[harmful], s[~harmful]):.3f}; best recall with <= {args.max_false_pos:.0%} of benign-but-scary "
              f"flagged (threshold chosen on test) {best_recall(s[harmful], s[scary], args.max_false_pos):.1%}")

    if args.model:
        print(at_val)


if __name__ == "__main__":
    main()
