"""Moderation: flag harmful text by OpenAI's categories, with a classifier on a backbone we trained.

    chatrlhf moderate train --model runs/sft --data runs/world/moderation.jsonl --out runs/moderation
    chatrlhf moderate --model runs/moderation "How do I kill a stuck process?"

A text is scored as it was written (plain text after <|endoftext|>, no chat template), so a user's message
and an assistant's answer are scored alike. The LM's transformer (its LM head dropped) reads the text; its
last layer's states, averaged over the tokens, go through one linear layer to one logit per category, each
its own sigmoid (a text can be in several: "illicit/violent" is also "illicit"), plus one logit for "any
category", which decides `flagged`: it learns from every harmful text, where a category learns from its few
(on the small world it told held-out harmful from harmless texts with an AUC of about 0.95, where the highest
category score gave 0.8). Binary cross-entropy trains the head and the backbone (the head alone separated far
worse); the epoch with the lowest validation loss is kept.

The validation split holds out WHOLE acts or templates (`meta.group` of the world's rows; a row without one
is its own group), so thresholds are set on phrasings the classifier never saw, which is how it will meet
text. The "any category" threshold best separates harmful from harmless texts there (highest true-positive
rate minus false-positive rate, whatever their shares); each category's threshold maximises its F1. A flagged
text's categories are those at or above their thresholds, or else its highest-scoring one; a text that is not
flagged has none.
`report.json` has per-category precision, recall and F1 on the file's test split, the share of harmful
test texts flagged, the share of benign-but-scary requests flagged (`meta.kind == "benign_scary"`), and, when
the world's eval.jsonl lies beside the data, the share of its held-out prompts flagged per kind (what a chat
that refuses flagged input would refuse).
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from chatrlhf.config import ModerationConfig, UserError, validate
from chatrlhf.data import MODERATION_CATEGORIES, batch_indices, read_conversations, read_validated
from chatrlhf.model import (
    CheckpointError,
    check_tokenizer_matches,
    count_params,
    load_model,
    pad_right,
    pick_device,
    resolve_checkpoint,
)
from chatrlhf.tokenizer import END, EOS, encode_text, load_tokenizer

log = logging.getLogger("chatrlhf.moderation")

CATEGORIES: list[str] = list(MODERATION_CATEGORIES)  # OpenAI's 13 names, in docs/design.md section 4's order
ANY = "flagged"  # the head's last output: the text is in some category (its threshold is saved under this name)
HEAD_FILE = "moderation_head.safetensors"
INFO_FILE = "moderation.json"
REPORT_FILE = "report.json"


class Classifier(torch.nn.Module):
    """A transformer backbone and a linear head: one logit per category from the pooled last-layer states."""

    def __init__(self, backbone: PreTrainedModel, pooling: str = "mean", head: torch.nn.Linear | None = None):
        super().__init__()
        self.backbone = backbone
        self.pooling = pooling
        self.head = head or torch.nn.Linear(backbone.config.hidden_size, len(CATEGORIES) + 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Logits (B, categories + 1: the last is "any category") of right-padded `ids` (B, T); `last` indexes each
        row's final token."""
        hidden = self.backbone(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        if self.pooling == "last":  # the appended <|end|> has attended to the whole text
            pooled = hidden[torch.arange(len(ids), device=ids.device), last]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1)
        return self.head(pooled)


@dataclass
class Moderation:
    """A trained moderation classifier, ready for `moderate`."""

    model: Classifier
    tokenizer: PreTrainedTokenizerBase
    thresholds: dict[str, float]
    device: torch.device
    max_len: int = 128


# ---- scoring ------------------------------------------------------------------------------------------------


def encode(tok: PreTrainedTokenizerBase, texts: list[str], max_len: int) -> list[list[int]]:
    """<|endoftext|> text <|end|>: a document start as in pretraining, and a closing token that last-token
    pooling reads; a long text keeps its first max_len - 2 tokens."""
    start, end = tok.convert_tokens_to_ids(EOS), tok.convert_tokens_to_ids(END)
    return [[start, *encode_text(tok, t)[: max_len - 2], end] for t in texts]


@torch.no_grad()
def predict(model: Classifier, seqs: list[list[int]], pad_id: int, device: torch.device, batch_size: int = 64) -> torch.Tensor:
    """Probabilities (N, categories + 1: the last is "any category") on the CPU."""
    model.eval()
    out = [torch.sigmoid(model(*pad_right(seqs[i : i + batch_size], pad_id, device)).float())
           for i in range(0, len(seqs), batch_size)]
    return torch.cat(out).cpu() if out else torch.zeros(0, len(CATEGORIES) + 1)


def moderate(mod: Moderation, texts: list[str]) -> list[dict[str, Any]]:
    """One result per text in the shape of OpenAI's moderation API:
    {"flagged": bool, "categories": {name: bool}, "category_scores": {name: float in [0, 1]}}."""
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise UserError(f"text {i}: expected a string, got {type(t).__name__}")
    probs = predict(mod.model, encode(mod.tokenizer, texts, mod.max_len), mod.tokenizer.pad_token_id, mod.device)
    results = []
    for row, marked in zip(probs.tolist(), flags(probs, mod.thresholds).tolist(), strict=True):
        results.append({"flagged": any(marked), "categories": dict(zip(CATEGORIES, marked, strict=True)),
                        "category_scores": dict(zip(CATEGORIES, row[: len(CATEGORIES)], strict=True))})
    return results


# ---- validation split, thresholds and figures -----------------------------------------------------------------


def labels_of(rows: list[dict]) -> torch.Tensor:
    """(N, categories + 1) 0/1, the last column "any category"; a category a row leaves out is false."""
    cats = torch.tensor([[float(r["categories"].get(c, False)) for c in CATEGORIES] for r in rows])
    cats = cats.reshape(len(rows), len(CATEGORIES))
    return torch.cat([cats, cats.amax(1, keepdim=True)], 1)


def split_validation(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, validation): whole groups (`meta.group`, else the text) go to validation, about `fraction` of the
    groups of every label set, but never a label set's only group."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(str(r["meta"].get("group", r["text"])), []).append(r)
    by_labels: dict[tuple, list[str]] = {}
    for name, members in groups.items():
        key = tuple(c for c in CATEGORIES if members[0]["categories"].get(c, False))
        by_labels.setdefault(key, []).append(name)
    rng = random.Random(seed)
    val_groups = set()
    for key in sorted(by_labels):
        names = sorted(by_labels[key])
        rng.shuffle(names)
        n = min(len(names) - 1, max(1, round(len(names) * fraction)))
        val_groups.update(names[:n])
    return ([r for g, m in groups.items() if g not in val_groups for r in m],
            [r for g, m in groups.items() if g in val_groups for r in m])


def best_cut(scores: torch.Tensor, truth: torch.Tensor, gain: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
             ) -> float:
    """The threshold that flags the top k scores for the k maximising `gain(true positives, k)` (tensors over every
    k), halfway between the lowest score flagged and the highest one not flagged."""
    order = torch.argsort(scores, descending=True)
    s, tp = scores[order], torch.cumsum(truth[order], 0)
    k = int(torch.argmax(gain(tp, torch.arange(1, len(s) + 1))))
    below = s[k + 1].item() if k + 1 < len(s) else 0.0
    return (s[k].item() + below) / 2


def best_threshold(scores: torch.Tensor, truth: torch.Tensor) -> float | None:
    """The threshold with the highest F1 of `scores` against 0/1 `truth`; None without a positive example."""
    if truth.sum() == 0:
        return None
    return best_cut(scores, truth, lambda tp, k: 2 * tp / (k + truth.sum()))  # F1 = 2 TP / (flagged + positives)


def classifier_loss(outputs: torch.Tensor, labels: torch.Tensor, logits: bool) -> torch.Tensor:
    """Binary cross-entropy, the categories' mean plus the "any category" output's own: the decision that flags a
    text weighs as much as all 13 categories together, not 1/14 of the loss."""
    bce = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
    per_output = bce(outputs, labels, reduction="none").mean(0)
    return per_output[:-1].mean() + per_output[-1]


def separating_threshold(scores: torch.Tensor, truth: torch.Tensor) -> float | None:
    """The threshold with the highest true-positive rate minus false-positive rate (Youden's J): unlike F1, it does
    not drift down when positives outnumber negatives. None without both classes."""
    pos = truth.sum()
    if pos == 0 or pos == len(truth):
        return None
    return best_cut(scores, truth, lambda tp, k: tp / pos - (k - tp) / (len(truth) - pos))


def choose_thresholds(probs: torch.Tensor, labels: torch.Tensor, default: float) -> dict[str, float]:
    """The "any category" threshold that best separates harmful from harmless validation texts, and per category
    the threshold with the best validation F1 (`default` where validation lacks the examples)."""
    out = {}
    for j, c in enumerate(CATEGORIES):
        t = best_threshold(probs[:, j], labels[:, j])
        out[c] = default if t is None else t
    t = separating_threshold(probs[:, -1], labels[:, -1])
    out[ANY] = default if t is None else t
    return out


def flags(probs: torch.Tensor, thresholds: dict[str, float]) -> torch.Tensor:
    """(N, categories) bool, compared in float64 as saved: nothing unless "any category" reaches its threshold;
    then the categories at or above theirs, or the highest-scoring category when none is."""
    flagged = probs[:, -1].double() >= thresholds[ANY]
    cats = probs[:, :-1]
    marked = cats.double() >= torch.tensor([thresholds[c] for c in CATEGORIES], dtype=torch.float64)
    top = torch.zeros_like(marked).scatter_(1, cats.argmax(1, keepdim=True), True)
    return torch.where(marked.any(1, keepdim=True), marked, top) & flagged[:, None]


def flagged_by_kind(model: Classifier, tok: PreTrainedTokenizerBase, thresholds: dict[str, float], max_len: int,
                    path: Path, device: torch.device) -> dict[str, float]:
    """Share of the prompts in `path` (the world's held-out eval.jsonl) whose last user message is flagged, by
    `meta.kind`: what a chat that refuses flagged input would refuse."""
    rows = read_conversations(path, prompt=True)
    probs = predict(model, encode(tok, [r["messages"][-1]["content"] for r in rows], max_len), tok.pad_token_id, device)
    flagged = flags(probs, thresholds).any(1).tolist()
    kinds: dict[str, list[bool]] = {}
    for r, f in zip(rows, flagged, strict=True):
        kinds.setdefault(r["meta"].get("kind", "unknown"), []).append(f)
    return {k: sum(v) / len(v) for k, v in sorted(kinds.items())}


def figures(probs: torch.Tensor, labels: torch.Tensor, thresholds: dict[str, float], kinds: list[str]) -> dict[str, Any]:
    """Per-category precision/recall/F1 (categories with an example or a flag), the share of harmful texts
    flagged (any category), and the shares of benign-but-scary and of all benign texts flagged."""
    pred = flags(probs, thresholds)
    truth = labels.bool()
    per_category = {}
    for j, c in enumerate(CATEGORIES):
        tp, n_pred, n_true = (pred[:, j] & truth[:, j]).sum().item(), pred[:, j].sum().item(), truth[:, j].sum().item()
        if n_pred or n_true:
            p = tp / n_pred if n_pred else None
            r = tp / n_true if n_true else None
            f1 = 2 * tp / (n_pred + n_true)
            per_category[c] = {"precision": p, "recall": r, "f1": f1, "support": n_true, "flagged": n_pred}
    flagged, harmful = pred.any(1), truth.any(1)
    scary = torch.tensor([k == "benign_scary" for k in kinds], dtype=torch.bool)

    def share(mask: torch.Tensor) -> float | None:
        return flagged[mask].float().mean().item() if mask.any() else None

    return {"texts": len(kinds), "harmful": int(harmful.sum()), "benign_scary": int(scary.sum()),
            "harmful_recall": share(harmful), "benign_scary_flagged": share(scary), "benign_flagged": share(~harmful),
            "per_category": per_category}


def format_report(report: dict[str, Any]) -> str:
    """The held-out figures as a plain-text table."""
    test = report["test"]
    pct = lambda v: "n/a" if v is None else f"{v:.1%}"  # noqa: E731
    num = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [f"held-out test split: {test['texts']} texts ({test['harmful']} harmful, {test['benign_scary']} "
             "benign-but-scary)", f"{'category':26}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}"]
    for c, m in test["per_category"].items():
        lines.append(f"{c:26}{num(m['precision']):>10}{num(m['recall']):>8}{num(m['f1']):>8}{m['support']:>9}")
    lines += [f"harmful texts flagged (any category): {pct(test['harmful_recall'])}",
              f"benign-but-scary requests flagged:    {pct(test['benign_scary_flagged'])}",
              f"all benign texts flagged:             {pct(test['benign_flagged'])}"]
    if "eval_prompts_flagged" in report:
        lines.append("world eval prompts flagged, by kind: " + ", ".join(
            f"{k} {pct(v)}" for k, v in report["eval_prompts_flagged"].items()))
    return "\n".join(lines)


# ---- training -------------------------------------------------------------------------------------------------


def train_moderation(cfg: ModerationConfig, model: str | Path, data: str | Path, out: str | Path) -> Path:
    """Train a classifier on the LM at `model` with the rows of `data` (split "test" held out for the report),
    choose thresholds on a validation split of whole templates, and write the directory `out`; returns it."""
    from chatrlhf.train import common  # trainer code: imported here so that serving `moderate` never loads it

    validate({"moderation": cfg})  # a dataclass built in Python gets the checks --set gets
    out, data = Path(out), Path(data)
    rows = read_validated(data, "moderation")
    test = [r for r in rows if r["split"] == "test"]
    train, val = split_validation([r for r in rows if r["split"] != "test"], cfg.val_fraction, cfg.seed)
    if not train or not val:
        raise UserError(f"{data}: {len(rows) - len(test)} training rows are too few to hold out a validation split")
    device = pick_device(cfg.device)
    ckpt = resolve_checkpoint(model)
    tok = load_tokenizer(ckpt)
    backbone = load_model(ckpt).base_model  # the transformer without its LM head
    check_tokenizer_matches(backbone, tok, ckpt)
    common.seed_everything(cfg.seed)
    clf = Classifier(backbone, cfg.pooling).to(device)
    backbone.requires_grad_(cfg.train_backbone)
    seqs, labels = encode(tok, [r["text"] for r in train], cfg.max_len), labels_of(train)
    val_seqs, val_labels = encode(tok, [r["text"] for r in val], cfg.max_len), labels_of(val)

    optimizer = common.make_optimizer(clf, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2))
    steps_per_epoch = -(-len(seqs) // cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    log.info("moderation classifier on %s (%.2fM parameters, backbone %s): %d training texts, %d validation, "
             "%d test; %d steps", ckpt, count_params(clf) / 1e6, "trained" if cfg.train_backbone else "frozen",
             len(train), len(val), len(test), total)
    tmp = out.parent / f".tmp-{out.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    metrics = common.Metrics(tmp)
    started = time.time()
    bar = common.progress(total, 0, True, "moderation")
    losses, best = [], (float("inf"), 0, {})
    for step in range(total):
        clf.train()
        common.set_lr(optimizer, common.cosine_lr(step, total, cfg.warmup_steps, cfg.lr, cfg.min_lr_ratio))
        idx = batch_indices(len(seqs), cfg.batch_size, step, cfg.seed).tolist()
        logits = clf(*pad_right([seqs[i] for i in idx], tok.pad_token_id, device))
        loss = classifier_loss(logits.float(), labels[idx].to(device), logits=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(clf.parameters(), cfg.grad_clip or float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.update(1)
        if (step + 1) % steps_per_epoch == 0:  # keep the epoch with the lowest validation loss (it overfits later)
            epoch = (step + 1) // steps_per_epoch
            val_probs = predict(clf, val_seqs, tok.pad_token_id, device)
            val_loss = classifier_loss(val_probs.clamp(1e-6, 1 - 1e-6), val_labels, logits=False).item()
            if val_loss < best[0]:
                best = (val_loss, epoch, {k: v.detach().clone() for k, v in clf.state_dict().items()})
            metrics.log(step + 1, epoch=epoch, loss=sum(losses) / len(losses), val_loss=val_loss)
            bar.set_postfix(loss=f"{sum(losses) / len(losses):.4f}", val_loss=f"{val_loss:.4f}")
            losses = []
    bar.close()
    train_seconds = time.time() - started
    clf.load_state_dict(best[2])
    log.info("kept epoch %d of %d (validation loss %.4f)", best[1], cfg.epochs, best[0])

    val_probs = predict(clf, val_seqs, tok.pad_token_id, device)
    thresholds = choose_thresholds(val_probs, val_labels, cfg.default_threshold)
    report = {"backbone": str(ckpt), "train_texts": len(train), "train_seconds": round(train_seconds, 1), "epoch": best[1],
              "validation": figures(val_probs, val_labels, thresholds, [r["meta"].get("kind", "") for r in val]),
              "thresholds": thresholds}
    if test:
        test_probs = predict(clf, encode(tok, [r["text"] for r in test], cfg.max_len), tok.pad_token_id, device)
        report["test"] = figures(test_probs, labels_of(test), thresholds, [r["meta"].get("kind", "") for r in test])
    if (data.parent / "eval.jsonl").is_file():  # the world's held-out prompts, beside its moderation.jsonl
        report["eval_prompts_flagged"] = flagged_by_kind(clf, tok, thresholds, cfg.max_len, data.parent / "eval.jsonl",
                                                         device)
    save_moderation(clf.cpu(), tok, thresholds, cfg.max_len, tmp, report)
    (tmp / "config.yaml").write_text(yaml.safe_dump({"moderation": asdict(cfg)}, sort_keys=False))
    metrics.close()
    publish(tmp, out)
    if test:
        t, pct = report["test"], lambda v: "n/a" if v is None else f"{v:.1%}"
        log.info("held-out test split: %s of harmful texts flagged, %s of benign-but-scary requests (%s of all benign); "
                 "trained in %.0f s", pct(t["harmful_recall"]), pct(t["benign_scary_flagged"]), pct(t["benign_flagged"]),
                 train_seconds)
    return out


def publish(tmp: Path, out: Path) -> None:
    """Move the complete directory `tmp` to `out`; an existing `out` is swapped out only once `tmp` is whole."""
    if out.exists():
        old = out.parent / f".old-{out.name}-{os.getpid()}"
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out)


# ---- saving and loading ---------------------------------------------------------------------------------------


def save_moderation(clf: Classifier, tok: PreTrainedTokenizerBase, thresholds: dict[str, float], max_len: int,
                    path: Path, report: dict[str, Any]) -> None:
    """Backbone (transformers format), tokenizer, head weights, thresholds and how to load them, and the report."""
    from safetensors.torch import save_file

    clf.backbone.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    save_file({k: v.contiguous() for k, v in clf.head.state_dict().items()}, str(path / HEAD_FILE))
    info = {"categories": CATEGORIES, "thresholds": thresholds, "pooling": clf.pooling, "max_len": max_len,
            "how_to_load": "chatrlhf.moderation.load_moderation(dir); by hand: backbone = AutoModel.from_pretrained(dir); "
            f"head = nn.Linear(hidden_size, {len(CATEGORIES) + 1}) with the weights in {HEAD_FILE}; scores = "
            "sigmoid(head(mean-pooled last_hidden_state)) of <|endoftext|> + text + <|end|>, one per category and last "
            f"one for any category; the text is flagged when that last score reaches thresholds['{ANY}'], and then its "
            "categories are those at or above their thresholds, or else its highest-scoring one"}
    (path / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    (path / REPORT_FILE).write_text(json.dumps(report, indent=1) + "\n")
    (path / "README.md").write_text(
        "# Moderation classifier (chatrlhf)\n\n"
        f"Scores text in OpenAI's {len(CATEGORIES)} moderation categories.\n\n"
        "```python\nfrom chatrlhf.moderation import load_moderation, moderate\n"
        "mod = load_moderation(\"THIS_DIR\")\nprint(moderate(mod, [\"How do I kill a stuck process?\"]))\n```\n\n"
        "or `chatrlhf moderate --model THIS_DIR \"text\"`. Without chatrlhf: " + info["how_to_load"] + ". "
        f"Thresholds and pooling are in `{INFO_FILE}`; held-out figures in `{REPORT_FILE}`.\n")


def load_moderation(path: str | Path, device: str = "cpu") -> Moderation:
    """A classifier directory written by `train_moderation`."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    path = Path(path)
    if not (path / INFO_FILE).is_file():
        raise CheckpointError(f"{path}: no {INFO_FILE}; not a moderation classifier (train one with "
                              "`chatrlhf moderate train`)")
    try:
        info = json.loads((path / INFO_FILE).read_text())
        backbone = AutoModel.from_pretrained(str(path), dtype=torch.float32)
        head = torch.nn.Linear(backbone.config.hidden_size, len(CATEGORIES) + 1)
        head.load_state_dict(load_file(str(path / HEAD_FILE)))
        thresholds = {c: float(info["thresholds"][c]) for c in [*CATEGORIES, ANY]}
    except Exception as e:  # json, safetensors and shape errors all mean the same to a user
        raise CheckpointError(f"{path}: cannot load moderation classifier: {type(e).__name__}: {e}") from None
    dev = pick_device(device)
    return Moderation(Classifier(backbone, info["pooling"], head).to(dev).eval(), load_tokenizer(path), thresholds, dev,
                      info["max_len"])
