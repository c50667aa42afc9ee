"""Reading, validating and packing data. Every error names `file:line` and what was expected.

Formats (DESIGN.md section 4): text is `{"text": ...}` JSONL or plain `.txt` (one document per
blank-line-separated paragraph block, or the whole file).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from chatrlhf.config import UserError
from chatrlhf.tokenizer import EOS


class DataError(UserError):
    """Bad input data; the message starts with `file:line:` where a line is to blame."""


def check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty; expected text (.txt) or JSONL rows like {{\"text\": \"...\"}}")
    return path


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is an error."""
    path = check_file(path)
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{lineno}: not UTF-8 text ({e.reason} at byte {e.start})") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row


def read_texts(paths: Sequence[str | Path]) -> list[str]:
    """Documents from `.txt` files (whole file) and `.jsonl` files (`{"text": ...}` rows)."""
    if not paths:
        raise DataError("no data files given; pass --data FILE (.txt or .jsonl)")
    docs: list[str] = []
    for path in paths:
        path = check_file(path)
        if path.suffix == ".jsonl":
            n = 0
            for lineno, row in read_jsonl(path):
                text = row.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise DataError(f"{path}:{lineno}: expected a non-empty string field 'text', got {text!r}")
                docs.append(text)
                n += 1
            if n == 0:
                raise DataError(f"{path}: no rows; expected JSONL rows like {{\"text\": \"...\"}}")
        else:
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
            if not text.strip():
                raise DataError(f"{path}: contains only whitespace; expected text")
            docs.append(text)
    return docs


def tokenize_stream(tok, docs: Sequence[str]) -> torch.Tensor:
    """All documents as one token stream, each followed by `<|endoftext|>` (the packing separator)."""
    eos = tok.convert_tokens_to_ids(EOS)
    ids: list[int] = []
    for doc_ids in tok(list(docs), add_special_tokens=False, split_special_tokens=True)["input_ids"]:
        ids += doc_ids
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def split_windows(stream: torch.Tensor, seq_len: int, val_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the stream into windows of seq_len+1 tokens (input and shifted target); the tail is held out.

    Windows overlap by one token so no target is lost. Returns (train, val) of shape (n, seq_len+1).
    """
    n = (len(stream) - 1) // seq_len
    if n < 2:
        raise DataError(f"data has {len(stream)} tokens: too few for two sequences of {seq_len}; add text or lower seq_len")
    windows = stream[: n * seq_len + 1].unfold(0, seq_len + 1, seq_len)
    n_val = max(1, round(n * val_fraction))
    return windows[: n - n_val], windows[n - n_val :]


@functools.lru_cache(maxsize=2)
def _epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def batch_indices(n: int, batch_size: int, step: int, seed: int) -> torch.Tensor:
    """Rows of the batch for optimizer step `step`: a fixed function of (seed, step), so resuming at a step
    replays exactly the data an uninterrupted run would have seen. Epochs are seeded permutations."""
    start = step * batch_size
    out = []
    while len(out) < batch_size:
        epoch, offset = divmod(start, n)
        perm = _epoch_permutation(n, seed, epoch)
        take = perm[offset : offset + batch_size - len(out)]
        out += take.tolist()
        start += len(take)
    return torch.tensor(out, dtype=torch.long)
