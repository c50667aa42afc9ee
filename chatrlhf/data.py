"""Reading, validating and packing data. Every error names `file:line` and what was expected.

Formats (docs/design.md section 4): text is `{"text": ...}` JSONL or plain `.txt` (one document per
blank-line-separated paragraph block, or the whole file).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from chatrlhf.config import UserError
from chatrlhf.tokenizer import EOS, ROLES


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
            row = parse_line(path, lineno, raw)
            if row is not None:
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


# --- Structured JSONL formats (docs/design.md section 4) ----------------------------------------------------------
#
# Each validator takes one parsed row and `where` ("path:line") and returns the row normalised, or raises
# DataError("path:line: what is wrong; what was expected"). Messages in a conversation are numbered from 1
# ("message 2" is the second); responses are named by their 0-based index, as the ranking refers to them.

log = logging.getLogger("chatrlhf.data")

RATING_FLAGS = (
    "fails_to_follow_instruction",
    "inappropriate_for_assistant",
    "hallucination",
    "sexual_content",
    "violent_content",
    "encourages_violence",
    "denigrates_protected_class",
    "harmful_advice",
    "expresses_moral_judgment",
)
TOXICITY_KEYS = ("absolute", "relative", "continuity")
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
DATA_KINDS = ("text", "conversation", "prompt", "ranking", "rating", "moderation")

_EXAMPLES = {
    "text": '{"text": "..."}',
    "conversation": '{"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}',
    "prompt": '{"messages": [{"role": "user", "content": "..."}]}',
    "ranking": '{"prompt": "...", "responses": ["a", "b"], "ranking": [1, 0]}',
    "rating": '{"prompt": "...", "response": "...", "likert": 5, "flags": {}}',
    "moderation": '{"text": "...", "categories": {"violence": false}}',
}


def _describe(value: object) -> str:
    """A value as JSON would name it, short enough for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _meta(row: dict, where: str) -> dict:
    meta = row.get("meta", {})
    if not isinstance(meta, dict):
        raise DataError(f"{where}: 'meta' must be an object, got {_describe(meta)}")
    return meta


def _check_messages(messages: object, where: str, field: str, label: str) -> list[dict]:
    """A non-empty list of {"role", "content"} with a known role and non-blank string content."""
    if not isinstance(messages, list):
        raise DataError(f"{where}: '{field}' must be a non-empty list of {{role, content}} objects, got {_describe(messages)}")
    if not messages:
        raise DataError(f"{where}: '{field}' is empty; expected at least one {{role, content}} message")
    roles = ", ".join(ROLES)
    for i, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            raise DataError(f"{where}: {label} {i}: expected an object with 'role' and 'content', got {_describe(message)}")
        if "role" not in message:
            raise DataError(f"{where}: {label} {i}: missing 'role'; expected one of {roles}")
        role = message["role"]
        if not isinstance(role, str) or role not in ROLES:
            raise DataError(f"{where}: {label} {i}: unknown role {_describe(role)}; expected one of {roles}")
        if "content" not in message:
            raise DataError(f"{where}: {label} {i}: missing 'content'; expected a non-empty string")
        content = message["content"]
        if not isinstance(content, str):
            raise DataError(f"{where}: {label} {i}: 'content' must be a string, got {_describe(content)}")
        if not content.strip():
            raise DataError(f"{where}: {label} {i}: empty 'content'; expected a non-empty string")
    return messages


def _check_prompt(row: dict, where: str) -> list[dict]:
    """The `prompt` of a ranking or rating row: a non-blank string (one user turn) or messages ending with a user turn."""
    if "prompt" not in row:
        raise DataError(f"{where}: missing 'prompt'; expected a string or a list of messages ending with a user turn")
    prompt = row["prompt"]
    if isinstance(prompt, str):
        if not prompt.strip():
            raise DataError(f"{where}: 'prompt' is empty; expected a non-empty string or a list of messages")
        return [{"role": "user", "content": prompt}]
    if not isinstance(prompt, list):
        raise DataError(f"{where}: 'prompt' must be a string or a list of messages, got {_describe(prompt)}")
    messages = _check_messages(prompt, where, "prompt", "prompt message")
    if messages[-1]["role"] != "user":
        raise DataError(f"{where}: a prompt must end with a user turn; the last prompt message is {messages[-1]['role']}")
    return messages


def _check_string(row: dict, where: str, field: str, expected: str = "a string") -> str:
    if field not in row:
        raise DataError(f"{where}: missing '{field}'; expected {expected}")
    value = row[field]
    if not isinstance(value, str):
        raise DataError(f"{where}: '{field}' must be a string, got {_describe(value)}")
    return value


def validate_conversation(row: dict, where: str, require_assistant: bool = False, prompt: bool = False) -> list[dict]:
    """Check `row["messages"]` (and an optional `meta` object); return the messages.

    prompt=True: the last message must be a user turn. require_assistant=True: at least one assistant turn.
    """
    if "messages" not in row:
        raise DataError(f"{where}: missing 'messages'; expected a non-empty list of {{role, content}} objects")
    messages = _check_messages(row["messages"], where, "messages", "message")
    _meta(row, where)
    if prompt and messages[-1]["role"] != "user":
        raise DataError(f"{where}: a prompt must end with a user turn; the last message is {messages[-1]['role']}")
    if require_assistant and not any(m["role"] == "assistant" for m in messages):
        raise DataError(f"{where}: conversation has no assistant turn; expected at least one assistant message")
    return messages


def _conversation_row(row: dict, where: str, require_assistant: bool, prompt: bool) -> dict:
    """A conversation row, or a `{"prompt", "completion"}` row (`{"prompt"}` alone for prompts) converted to one."""
    if "messages" in row:
        if "prompt" in row or "completion" in row:
            raise DataError(f"{where}: row has both 'messages' and 'prompt'/'completion'; expected one or the other")
        messages = validate_conversation(row, where, require_assistant=require_assistant, prompt=prompt)
        return {"messages": messages, "meta": _meta(row, where)}
    if "prompt" not in row:
        alternative = "a 'prompt' string" if prompt else "'prompt' and 'completion' strings"
        keys = ", ".join(repr(k) for k in row) or "none"
        raise DataError(
            f"{where}: missing 'messages'; expected a list of {{role, content}} objects (or {alternative}); got keys {keys}"
        )
    text = row["prompt"]
    if not isinstance(text, str):
        raise DataError(f"{where}: 'prompt' must be a string (use 'messages' for a conversation), got {_describe(text)}")
    if not text.strip():
        raise DataError(f"{where}: 'prompt' is empty; expected a non-empty string")
    messages = [{"role": "user", "content": text}]
    if "completion" in row:
        completion = row["completion"]
        if not isinstance(completion, str):
            raise DataError(f"{where}: 'completion' must be a string, got {_describe(completion)}")
        if not completion.strip():
            raise DataError(f"{where}: 'completion' is empty; expected a non-empty string")
        messages.append({"role": "assistant", "content": completion})
    elif not prompt:
        raise DataError(f"{where}: 'prompt' without 'completion'; expected {{\"prompt\": \"...\", \"completion\": \"...\"}}")
    converted = {"messages": messages}
    if "meta" in row:
        converted["meta"] = row["meta"]
    validate_conversation(converted, where, require_assistant=require_assistant, prompt=prompt)
    return {"messages": messages, "meta": _meta(row, where)}


def parse_line(path: Path, lineno: int, raw: bytes) -> dict | None:
    """One JSONL line: None for a blank line, a DataError naming `path:lineno` for anything but a JSON object."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}:{lineno}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
    return row


def _jsonl_lines(path: Path, skip_bad_rows: bool) -> Iterator[tuple[int, dict | None, DataError | None]]:
    """(line number, row, error): read_jsonl's rows, or with skip_bad_rows every line, a bad one as its error."""
    if not skip_bad_rows:
        for lineno, row in read_jsonl(path):
            yield lineno, row, None
        return
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                row, error = parse_line(path, lineno, raw), None
            except DataError as e:
                row, error = None, e
            if row is not None or error is not None:
                yield lineno, row, error


def _read_rows(path: str | Path, validate, kind: str, skip_bad_rows: bool) -> list:
    """validate(row, "path:line") for each row; a bad row raises, or with skip_bad_rows is counted and logged."""
    example = _EXAMPLES[kind]
    p = Path(path)
    if p.is_file() and p.stat().st_size == 0:
        raise DataError(f"{p}: file is empty; expected JSONL rows like {example}")
    p = check_file(p)
    out, bad, first = [], 0, ""
    for lineno, row, error in _jsonl_lines(p, skip_bad_rows):
        try:
            if error is not None:
                raise error
            out.append(validate(row, f"{p}:{lineno}"))
        except DataError as e:
            if not skip_bad_rows:
                raise
            bad += 1
            first = first or str(e)
    if bad:
        if not out:
            raise DataError(f"{p}: no valid rows; all {bad} rows are bad (first: {first})")
        log.warning("%s: skipped %d bad row%s (first: %s)", p, bad, "" if bad == 1 else "s", first)
    if not out:
        raise DataError(f"{p}: no rows; expected JSONL rows like {example}")
    return out


def read_conversations(
    path: str | Path, require_assistant: bool = False, prompt: bool = False, skip_bad_rows: bool = False
) -> list[dict]:
    """Conversation rows `{"messages": [...], "meta": {...}}` (meta defaults to {}) from a JSONL file.

    `{"prompt": str, "completion": str}` rows become a user + assistant conversation; with prompt=True a
    `{"prompt": str}` row becomes one user turn.
    """
    kind = "prompt" if prompt else "conversation"
    return _read_rows(path, lambda row, where: _conversation_row(row, where, require_assistant, prompt), kind, skip_bad_rows)


def validate_ranking(row: dict, where: str) -> dict:
    """Check a ranking row (or a pairwise chosen/rejected row) and return it normalised:
    {"prompt": messages, "responses": [str, ...], "ranking": [[i, ...], ...] (tie-groups, best first),
    "labeler": str ("" when absent), "meta": dict}.
    """
    prompt = _check_prompt(row, where)
    pairwise = "chosen" in row or "rejected" in row
    if pairwise:
        if "responses" in row or "ranking" in row:
            raise DataError(f"{where}: row has both 'chosen'/'rejected' and 'responses'/'ranking'; expected one or the other")
        chosen = _check_string(row, where, "chosen", "a string (the preferred response)")
        rejected = _check_string(row, where, "rejected", "a string (the worse response)")
        responses, groups = [chosen, rejected], [[0], [1]]
    else:
        responses = _check_responses(row, where)
        groups = _check_ranking(row, where, len(responses))
    labeler = row.get("labeler", "")
    if not isinstance(labeler, str):
        raise DataError(f"{where}: 'labeler' must be a string, got {_describe(labeler)}")
    return {"prompt": prompt, "responses": responses, "ranking": groups, "labeler": labeler, "meta": _meta(row, where)}


def _check_responses(row: dict, where: str) -> list[str]:
    if "responses" not in row:
        raise DataError(
            f"{where}: missing 'responses'; expected a list of at least 2 strings (or pairwise 'chosen' and 'rejected')"
        )
    responses = row["responses"]
    if not isinstance(responses, list):
        raise DataError(f"{where}: 'responses' must be a list of at least 2 strings, got {_describe(responses)}")
    if len(responses) < 2:
        raise DataError(f"{where}: 'responses' has {len(responses)}; expected at least 2 to rank")
    for i, response in enumerate(responses):
        if not isinstance(response, str):
            raise DataError(f"{where}: response {i}: expected a string, got {_describe(response)}")
    return responses


def _check_ranking(row: dict, where: str, k: int) -> list[list[int]]:
    expected = f"every response index 0..{k - 1} exactly once, best first, ties as nested lists"
    if "ranking" not in row:
        raise DataError(f"{where}: missing 'ranking'; expected {expected}")
    ranking = row["ranking"]
    if not isinstance(ranking, list) or not ranking:
        raise DataError(
            f"{where}: 'ranking' must be a non-empty list of response indices, got {_describe(ranking)}; expected {expected}"
        )
    groups: list[list[int]] = []
    seen: set[int] = set()
    for entry in ranking:
        if isinstance(entry, list):
            if not entry:
                raise DataError(f"{where}: 'ranking' has an empty tie group []; expected a list of response indices")
            group = entry
        else:
            group = [entry]
        for index in group:
            if not _is_int(index):
                raise DataError(
                    f"{where}: 'ranking' entry {_describe(index)} is not a response index; expected an integer, or a list of "
                    "integers for a tie"
                )
            if not 0 <= index < k:
                raise DataError(f"{where}: 'ranking' index {index} is out of range; expected 0..{k - 1} for {k} responses")
            if index in seen:
                raise DataError(f"{where}: 'ranking' mentions response {index} twice; expected {expected}")
            seen.add(index)
        groups.append(list(group))
    missing = [i for i in range(k) if i not in seen]
    if missing:
        names = ("responses " if len(missing) > 1 else "response ") + ", ".join(map(str, missing))
        raise DataError(f"{where}: 'ranking' does not mention {names}; expected {expected}")
    return groups


def read_rankings(path: str | Path, skip_bad_rows: bool = False) -> list[dict]:
    """Ranking rows (and pairwise chosen/rejected rows) from a JSONL file, normalised by validate_ranking."""
    return _read_rows(path, validate_ranking, "ranking", skip_bad_rows)


def ranking_pairs(ranking_groups: list[list[int]]) -> list[tuple[int, int]]:
    """Every (winner, loser) pair a normalised ranking implies; tied responses give no pair."""
    return [
        (winner, loser)
        for a, better in enumerate(ranking_groups)
        for worse in ranking_groups[a + 1 :]
        for winner in better
        for loser in worse
    ]


def validate_rating(row: dict, where: str) -> dict:
    """Check a rating row and return {"prompt": messages, "response", "likert", "flags", "labeler", "meta"}.

    flags (optional, default {}) holds only RATING_FLAGS as booleans, plus optional "toxicity" with
    TOXICITY_KEYS each a number in 0..2.
    """
    prompt = _check_prompt(row, where)
    response = _check_string(row, where, "response")
    if "likert" not in row:
        raise DataError(f"{where}: missing 'likert'; expected an integer 1..7")
    likert = row["likert"]
    if not _is_int(likert) or not 1 <= likert <= 7:
        raise DataError(f"{where}: 'likert' must be an integer 1..7, got {_describe(likert)}")
    flags = row.get("flags", {})
    if not isinstance(flags, dict):
        raise DataError(f"{where}: 'flags' must be an object, got {_describe(flags)}")
    for name, value in flags.items():
        if name == "toxicity":
            _check_toxicity(value, where)
        elif name not in RATING_FLAGS:
            raise DataError(f"{where}: unknown flag {name!r}; expected one of {', '.join(RATING_FLAGS)}, toxicity")
        elif not isinstance(value, bool):
            raise DataError(f"{where}: flag {name!r} must be true or false, got {_describe(value)}")
    labeler = row.get("labeler", "")
    if not isinstance(labeler, str):
        raise DataError(f"{where}: 'labeler' must be a string, got {_describe(labeler)}")
    return {
        "prompt": prompt,
        "response": response,
        "likert": likert,
        "flags": flags,
        "labeler": labeler,
        "meta": _meta(row, where),
    }


def _check_toxicity(toxicity: object, where: str) -> None:
    if not isinstance(toxicity, dict):
        raise DataError(f"{where}: flag 'toxicity' must be an object with {', '.join(TOXICITY_KEYS)}, got {_describe(toxicity)}")
    for name, value in toxicity.items():
        if name not in TOXICITY_KEYS:
            raise DataError(f"{where}: unknown toxicity key {name!r}; expected one of {', '.join(TOXICITY_KEYS)}")
        if not _is_number(value) or not 0 <= value <= 2:
            raise DataError(f"{where}: toxicity {name!r} must be a number in 0..2, got {_describe(value)}")


def validate_moderation(row: dict, where: str) -> dict:
    """Check a moderation row and return {"text", "categories", "split" (None when absent), "meta"}."""
    text = _check_string(row, where, "text", "a non-empty string")
    if not text.strip():
        raise DataError(f"{where}: 'text' is empty; expected a non-empty string")
    if "categories" not in row:
        raise DataError(f"{where}: missing 'categories'; expected an object of category: true/false")
    categories = row["categories"]
    if not isinstance(categories, dict):
        raise DataError(f"{where}: 'categories' must be an object of category: true/false, got {_describe(categories)}")
    for name, value in categories.items():
        if name not in MODERATION_CATEGORIES:
            raise DataError(f"{where}: unknown moderation category {name!r}; expected one of {', '.join(MODERATION_CATEGORIES)}")
        if not isinstance(value, bool):
            raise DataError(f"{where}: category {name!r} must be true or false, got {_describe(value)}")
    split = row.get("split")
    if "split" in row and split not in ("train", "test"):
        raise DataError(f"{where}: 'split' must be \"train\" or \"test\", got {_describe(split)}")
    return {"text": text, "categories": categories, "split": split, "meta": _meta(row, where)}


def _validate_text(row: dict, where: str) -> dict:
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: expected a non-empty string field 'text', got {text!r}")
    return {"text": text}


def read_validated(path: str | Path, kind: str, skip_bad_rows: bool = False) -> list[dict]:
    """Rows of `path` checked as `kind` (one of DATA_KINDS); "text" gives [{"text": ...}] (a .txt file is one row)."""
    if kind == "text":
        if skip_bad_rows and Path(path).suffix == ".jsonl":
            return _read_rows(check_file(path), _validate_text, "text", True)
        return [{"text": text} for text in read_texts([path])]
    if kind in ("conversation", "prompt"):
        return read_conversations(path, prompt=kind == "prompt", skip_bad_rows=skip_bad_rows)
    if kind == "ranking":
        return read_rankings(path, skip_bad_rows=skip_bad_rows)
    if kind == "rating":
        return _read_rows(path, validate_rating, "rating", skip_bad_rows)
    if kind == "moderation":
        return _read_rows(path, validate_moderation, "moderation", skip_bad_rows)
    raise DataError(f"unknown data kind {kind!r}; expected one of {', '.join(DATA_KINDS)}")
