"""The JSONL formats of docs/design.md section 4: conversations, prompts, rankings, ratings and moderation rows.

Every bad row must give `file:line: what is wrong; what was expected` with the right line number; bad rows
are written after a good row and a blank line, so they sit on line 3.
"""

from __future__ import annotations

import json
import logging
import random

import pytest

from chatrlhf.data import (
    DATA_KINDS,
    MODERATION_CATEGORIES,
    RATING_FLAGS,
    TOXICITY_KEYS,
    DataError,
    ranking_pairs,
    read_conversations,
    read_rankings,
    read_validated,
    validate_conversation,
    validate_moderation,
    validate_ranking,
    validate_rating,
)

USER = {"role": "user", "content": "Hi"}
ASSISTANT = {"role": "assistant", "content": "Hello!"}
SYSTEM = {"role": "system", "content": "Be brief."}
CONVERSATION = {"messages": [SYSTEM, USER, ASSISTANT], "meta": {"source": "test"}}
PROMPT = {"messages": [SYSTEM, USER]}
RANKING = {"prompt": [USER], "responses": ["a", "b", "c", "d"], "ranking": [2, 0, 3, 1], "labeler": "L7", "meta": {"k": 1}}
RATING = {"prompt": [USER], "response": "Hello!", "likert": 6, "flags": {"hallucination": False}}
MODERATION = {"text": "some text", "categories": {"violence": True, "hate": False}, "split": "train"}
GOOD = {"conversation": CONVERSATION, "prompt": PROMPT, "ranking": RANKING, "rating": RATING, "moderation": MODERATION}

ROLES_EXPECTED = "expected one of system, user, assistant"
NO_MESSAGES = "missing 'messages'; expected a list of {role, content} objects"
NOT_INDEX = "is not a response index; expected an integer, or a list of integers for a tie"
NOT_CATEGORY = f"expected one of {', '.join(MODERATION_CATEGORIES)}"


def write(tmp_path, rows, name="data.jsonl"):
    """A JSONL file of `rows` (objects, or raw strings written as they are), one a line."""
    path = tmp_path / name
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def bad_file(tmp_path, kind, bad_row):
    """A good row, a blank line, then the bad row on line 3."""
    return write(tmp_path, [GOOD[kind], "", bad_row])


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(DataError) as e:
        fn(*args, **kwargs)
    return str(e.value)


# --- valid rows -------------------------------------------------------------------------------------------


def test_constants():
    assert MODERATION_CATEGORIES == (
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent", "self-harm",
        "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
    )  # fmt: skip
    assert len(RATING_FLAGS) == 9 and "expresses_moral_judgment" in RATING_FLAGS
    assert set(TOXICITY_KEYS) == {"absolute", "relative", "continuity"}
    assert DATA_KINDS == ("text", "conversation", "prompt", "ranking", "rating", "moderation")


def test_valid_conversations(tmp_path):
    path = write(tmp_path, [CONVERSATION, "", {"messages": [USER, ASSISTANT, USER, ASSISTANT]}])
    rows = read_conversations(path, require_assistant=True)
    assert rows == [
        {"messages": [SYSTEM, USER, ASSISTANT], "meta": {"source": "test"}},
        {"messages": [USER, ASSISTANT, USER, ASSISTANT], "meta": {}},
    ]
    assert read_validated(path, "conversation") == rows


def test_valid_prompts(tmp_path):
    path = write(tmp_path, [PROMPT, {"messages": [USER, ASSISTANT, USER]}, {"prompt": "Tell me a joke."}])
    rows = read_conversations(path, prompt=True)
    assert [row["messages"][-1]["role"] for row in rows] == ["user"] * 3
    assert rows[2] == {"messages": [{"role": "user", "content": "Tell me a joke."}], "meta": {}}
    assert read_validated(path, "prompt") == rows


def test_prompt_completion_rows_become_conversations(tmp_path):
    path = write(tmp_path, [{"prompt": "2+2?", "completion": "4", "meta": {"id": 3}}])
    assert read_conversations(path, require_assistant=True) == [
        {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}], "meta": {"id": 3}}
    ]


def test_validate_conversation_returns_messages_and_uses_where():
    assert validate_conversation(CONVERSATION, "x.jsonl:9") == CONVERSATION["messages"]
    message = error_of(validate_conversation, {"messages": [ASSISTANT]}, "x.jsonl:9", prompt=True)
    assert message == "x.jsonl:9: a prompt must end with a user turn; the last message is assistant"


def test_valid_rankings_with_ties(tmp_path):
    tied = {"prompt": "Why?", "responses": ["w", "x", "y", "z"], "ranking": [[2, 0], 3, 1]}
    path = write(tmp_path, [RANKING, "", tied])
    rows = read_rankings(path)
    assert rows[0] == {
        "prompt": [USER],
        "responses": ["a", "b", "c", "d"],
        "ranking": [[2], [0], [3], [1]],
        "labeler": "L7",
        "meta": {"k": 1},
    }
    assert rows[1] == {
        "prompt": [{"role": "user", "content": "Why?"}],
        "responses": ["w", "x", "y", "z"],
        "ranking": [[2, 0], [3], [1]],
        "labeler": "",
        "meta": {},
    }
    assert read_validated(path, "ranking") == rows


def test_pairwise_rows(tmp_path):
    path = write(tmp_path, [{"prompt": [SYSTEM, USER], "chosen": "good", "rejected": "bad"}])
    (row,) = read_rankings(path)
    assert row == {"prompt": [SYSTEM, USER], "responses": ["good", "bad"], "ranking": [[0], [1]], "labeler": "", "meta": {}}
    assert ranking_pairs(row["ranking"]) == [(0, 1)]


def test_valid_rating():
    full_flags = {name: False for name in RATING_FLAGS} | {"toxicity": {"absolute": 0, "relative": 1.5, "continuity": 2}}
    row = validate_rating(RATING | {"prompt": "Hi", "likert": 1, "flags": full_flags}, "r.jsonl:1")
    assert row == {"prompt": [USER], "response": "Hello!", "likert": 1, "flags": full_flags, "labeler": "", "meta": {}}
    assert validate_rating({k: v for k, v in RATING.items() if k != "flags"} | {"likert": 7}, "r.jsonl:1")["flags"] == {}


def test_valid_moderation():
    assert validate_moderation(MODERATION, "m.jsonl:1") == {
        "text": "some text",
        "categories": {"violence": True, "hate": False},
        "split": "train",
        "meta": {},
    }
    every = {"text": "t", "categories": dict.fromkeys(MODERATION_CATEGORIES, False)}
    assert validate_moderation(every, "m.jsonl:1")["split"] is None


def test_read_validated_every_kind(tmp_path):
    for kind, row in GOOD.items():
        path = write(tmp_path, [row, "", row], name=f"{kind}.jsonl")
        rows = read_validated(path, kind)
        assert len(rows) == 2 and rows[0] == rows[1]
    text = write(tmp_path, [{"text": "one"}, "", {"text": "two"}], name="text.jsonl")
    assert read_validated(text, "text") == [{"text": "one"}, {"text": "two"}]
    plain = tmp_path / "doc.txt"
    plain.write_text("a whole document\n")
    assert read_validated(plain, "text") == [{"text": "a whole document\n"}]


def test_read_validated_unknown_kind(tmp_path):
    path = write(tmp_path, [CONVERSATION])
    assert error_of(read_validated, path, "sft") == (
        "unknown data kind 'sft'; expected one of text, conversation, prompt, ranking, rating, moderation"
    )


# --- bad rows: exact messages with file:line ---------------------------------------------------------------


@pytest.mark.parametrize(
    "row, kwargs, message",
    [
        ({"messages": [USER, {"role": "bot", "content": "x"}]}, {}, f"message 2: unknown role 'bot'; {ROLES_EXPECTED}"),
        ({"messages": [{"role": 3, "content": "x"}]}, {}, f"message 1: unknown role 3; {ROLES_EXPECTED}"),
        ({"messages": [{"content": "x"}]}, {}, f"message 1: missing 'role'; {ROLES_EXPECTED}"),
        ({"messages": [USER, {"role": "assistant"}]}, {}, "message 2: missing 'content'; expected a non-empty string"),
        ({"messages": [{"role": "user", "content": " \n"}]}, {}, "message 1: empty 'content'; expected a non-empty string"),
        ({"messages": [{"role": "user", "content": ["x"]}]}, {}, "message 1: 'content' must be a string, got a list"),
        ({"messages": [USER, "hi"]}, {}, "message 2: expected an object with 'role' and 'content', got 'hi'"),
        ({"messages": []}, {}, "'messages' is empty; expected at least one {role, content} message"),
        ({"messages": "hi"}, {}, "'messages' must be a non-empty list of {role, content} objects, got 'hi'"),
        ({"messages": [USER, ASSISTANT], "meta": []}, {}, "'meta' must be an object, got a list"),
        ({"messages": [USER, ASSISTANT], "meta": None}, {}, "'meta' must be an object, got null"),
        (
            {"messages": [SYSTEM, USER]},
            {"require_assistant": True},
            "conversation has no assistant turn; expected at least one assistant message",
        ),
        ({"messages": [USER, ASSISTANT]}, {"prompt": True}, "a prompt must end with a user turn; the last message is assistant"),
        ({"text": "hi"}, {}, f"{NO_MESSAGES} (or 'prompt' and 'completion' strings); got keys 'text'"),
        ({"text": "hi"}, {"prompt": True}, f"{NO_MESSAGES} (or a 'prompt' string); got keys 'text'"),
        ({"prompt": "hi"}, {}, '\'prompt\' without \'completion\'; expected {"prompt": "...", "completion": "..."}'),
        (
            {"prompt": "hi", "completion": "yo"},
            {"prompt": True},
            "a prompt must end with a user turn; the last message is assistant",
        ),
        ({"prompt": "", "completion": "yo"}, {}, "'prompt' is empty; expected a non-empty string"),
        ({"prompt": "hi", "completion": 4}, {}, "'completion' must be a string, got 4"),
        ({"prompt": "hi", "completion": "  "}, {}, "'completion' is empty; expected a non-empty string"),
        ({"prompt": [USER], "completion": "x"}, {}, "'prompt' must be a string (use 'messages' for a conversation), got a list"),
        (
            {"messages": [USER, ASSISTANT], "prompt": "hi"},
            {},
            "row has both 'messages' and 'prompt'/'completion'; expected one or the other",
        ),
    ],
)
def test_bad_conversation_rows(tmp_path, row, kwargs, message):
    path = bad_file(tmp_path, "prompt" if kwargs.get("prompt") else "conversation", row)
    assert error_of(read_conversations, path, **kwargs) == f"{path}:3: {message}"


def test_bad_json_lines_keep_read_jsonl_messages(tmp_path):
    path = write(tmp_path, [CONVERSATION, "", "{not json"])
    assert error_of(read_conversations, path) == f"{path}:3: not valid JSON (Expecting property name enclosed in double quotes)"
    path = write(tmp_path, [RANKING, "", "[1, 2]"])
    assert error_of(read_rankings, path) == f"{path}:3: expected a JSON object, got list"


RANK_EXPECTED = "expected every response index 0..3 exactly once, best first, ties as nested lists"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"ranking": [2, 0, 3]}, f"'ranking' does not mention response 1; {RANK_EXPECTED}"),
        ({"ranking": [[2, 0]]}, f"'ranking' does not mention responses 1, 3; {RANK_EXPECTED}"),
        ({"ranking": [2, 0, 3, 1, 0]}, f"'ranking' mentions response 0 twice; {RANK_EXPECTED}"),
        ({"ranking": [[2, 0], 3, [1, 2]]}, f"'ranking' mentions response 2 twice; {RANK_EXPECTED}"),
        ({"ranking": [2, 0, 4, 1]}, "'ranking' index 4 is out of range; expected 0..3 for 4 responses"),
        ({"ranking": [2, 0, -1, 1]}, "'ranking' index -1 is out of range; expected 0..3 for 4 responses"),
        ({"ranking": [2, 0, "3", 1]}, f"'ranking' entry '3' {NOT_INDEX}"),
        ({"ranking": [2, 0, 3.0, 1]}, f"'ranking' entry 3.0 {NOT_INDEX}"),
        ({"ranking": [2, 0, True, 3]}, f"'ranking' entry true {NOT_INDEX}"),
        ({"ranking": [[2, [0]], 3, 1]}, f"'ranking' entry a list {NOT_INDEX}"),
        ({"ranking": [[], 2, 0, 3, 1]}, "'ranking' has an empty tie group []; expected a list of response indices"),
        ({"ranking": []}, f"'ranking' must be a non-empty list of response indices, got a list; {RANK_EXPECTED}"),
        ({"ranking": "2031"}, f"'ranking' must be a non-empty list of response indices, got '2031'; {RANK_EXPECTED}"),
        ({"ranking": None}, f"'ranking' must be a non-empty list of response indices, got null; {RANK_EXPECTED}"),
        ({"responses": ["a"], "ranking": [0]}, "'responses' has 1; expected at least 2 to rank"),
        ({"responses": ["a", 2, "c", "d"]}, "response 1: expected a string, got 2"),
        ({"responses": "abcd"}, "'responses' must be a list of at least 2 strings, got 'abcd'"),
        ({"responses": None}, "'responses' must be a list of at least 2 strings, got null"),
        ({"labeler": 7}, "'labeler' must be a string, got 7"),
        ({"meta": "x"}, "'meta' must be an object, got 'x'"),
        ({"prompt": [ASSISTANT]}, "a prompt must end with a user turn; the last prompt message is assistant"),
        ({"prompt": [{"role": "bot", "content": "x"}]}, f"prompt message 1: unknown role 'bot'; {ROLES_EXPECTED}"),
        ({"prompt": []}, "'prompt' is empty; expected at least one {role, content} message"),
        ({"prompt": "  "}, "'prompt' is empty; expected a non-empty string or a list of messages"),
        ({"prompt": 5}, "'prompt' must be a string or a list of messages, got 5"),
        (
            {"chosen": "a", "rejected": "b"},
            "row has both 'chosen'/'rejected' and 'responses'/'ranking'; expected one or the other",
        ),
    ],
)
def test_bad_ranking_rows(tmp_path, changes, message):
    path = bad_file(tmp_path, "ranking", RANKING | changes)
    assert error_of(read_rankings, path) == f"{path}:3: {message}"


@pytest.mark.parametrize(
    "row, message",
    [
        (
            {"responses": ["a", "b"], "ranking": [0, 1]},
            "missing 'prompt'; expected a string or a list of messages ending with a user turn",
        ),
        (
            {"prompt": "p", "ranking": [0, 1]},
            "missing 'responses'; expected a list of at least 2 strings (or pairwise 'chosen' and 'rejected')",
        ),
        (
            {"prompt": "p", "responses": ["a", "b"]},
            "missing 'ranking'; expected every response index 0..1 exactly once, best first, ties as nested lists",
        ),
        ({"prompt": "p", "chosen": "a"}, "missing 'rejected'; expected a string (the worse response)"),
        ({"prompt": "p", "rejected": "a"}, "missing 'chosen'; expected a string (the preferred response)"),
        ({"prompt": "p", "chosen": ["a"], "rejected": "b"}, "'chosen' must be a string, got a list"),
    ],
)
def test_bad_ranking_rows_missing_fields(tmp_path, row, message):
    path = bad_file(tmp_path, "ranking", row)
    assert error_of(read_rankings, path) == f"{path}:3: {message}"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"likert": 0}, "'likert' must be an integer 1..7, got 0"),
        ({"likert": 8}, "'likert' must be an integer 1..7, got 8"),
        ({"likert": 4.5}, "'likert' must be an integer 1..7, got 4.5"),
        ({"likert": "5"}, "'likert' must be an integer 1..7, got '5'"),
        ({"likert": True}, "'likert' must be an integer 1..7, got true"),
        ({"response": None}, "'response' must be a string, got null"),
        ({"flags": []}, "'flags' must be an object, got a list"),
        ({"flags": {"toxic": True}}, f"unknown flag 'toxic'; expected one of {', '.join(RATING_FLAGS)}, toxicity"),
        ({"flags": {"hallucination": 1}}, "flag 'hallucination' must be true or false, got 1"),
        ({"flags": {"harmful_advice": "no"}}, "flag 'harmful_advice' must be true or false, got 'no'"),
        ({"flags": {"toxicity": 1}}, "flag 'toxicity' must be an object with absolute, relative, continuity, got 1"),
        ({"flags": {"toxicity": {"severe": 1}}}, "unknown toxicity key 'severe'; expected one of absolute, relative, continuity"),
        ({"flags": {"toxicity": {"absolute": 3}}}, "toxicity 'absolute' must be a number in 0..2, got 3"),
        ({"flags": {"toxicity": {"relative": -0.5}}}, "toxicity 'relative' must be a number in 0..2, got -0.5"),
        ({"flags": {"toxicity": {"continuity": False}}}, "toxicity 'continuity' must be a number in 0..2, got false"),
        ({"labeler": ["x"]}, "'labeler' must be a string, got a list"),
        ({"prompt": [USER, {"role": "user", "content": ""}]}, "prompt message 2: empty 'content'; expected a non-empty string"),
    ],
)
def test_bad_rating_rows(tmp_path, changes, message):
    path = bad_file(tmp_path, "rating", RATING | changes)
    assert error_of(read_validated, path, "rating") == f"{path}:3: {message}"


def test_rating_missing_fields():
    assert error_of(validate_rating, {"prompt": "p", "response": "r"}, "r:2") == "r:2: missing 'likert'; expected an integer 1..7"
    assert error_of(validate_rating, {"prompt": "p", "likert": 3}, "r:2") == "r:2: missing 'response'; expected a string"
    toxicity_nan = RATING | {"flags": {"toxicity": {"absolute": float("nan")}}}
    assert error_of(validate_rating, toxicity_nan, "r:2") == "r:2: toxicity 'absolute' must be a number in 0..2, got nan"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"categories": {"violent": True}}, f"unknown moderation category 'violent'; {NOT_CATEGORY}"),
        ({"categories": {"self_harm": True}}, f"unknown moderation category 'self_harm'; {NOT_CATEGORY}"),
        ({"categories": {"hate": 1}}, "category 'hate' must be true or false, got 1"),
        ({"categories": ["hate"]}, "'categories' must be an object of category: true/false, got a list"),
        ({"text": "   "}, "'text' is empty; expected a non-empty string"),
        ({"text": 12}, "'text' must be a string, got 12"),
        ({"split": "val"}, "'split' must be \"train\" or \"test\", got 'val'"),
        ({"split": None}, '\'split\' must be "train" or "test", got null'),
        ({"meta": 1}, "'meta' must be an object, got 1"),
    ],
)
def test_bad_moderation_rows(tmp_path, changes, message):
    path = bad_file(tmp_path, "moderation", MODERATION | changes)
    assert error_of(read_validated, path, "moderation") == f"{path}:3: {message}"


def test_moderation_missing_fields():
    assert error_of(validate_moderation, {"categories": {}}, "m:4") == "m:4: missing 'text'; expected a non-empty string"
    assert (
        error_of(validate_moderation, {"text": "t"}, "m:4")
        == "m:4: missing 'categories'; expected an object of category: true/false"
    )


@pytest.mark.parametrize("kind", ["conversation", "prompt", "ranking", "rating", "moderation"])
def test_empty_files_name_the_file(tmp_path, kind):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert error_of(read_validated, empty, kind).startswith(f"{empty}: file is empty; expected JSONL rows like {{")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n  \n\n")
    assert error_of(read_validated, blank, kind).startswith(f"{blank}: no rows; expected JSONL rows like {{")
    missing = tmp_path / "missing.jsonl"
    assert error_of(read_validated, missing, kind) == f"{missing}: no such file"


def test_empty_file_message_shows_the_expected_format(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    message = error_of(read_rankings, empty)
    assert (
        message
        == f'{empty}: file is empty; expected JSONL rows like {{"prompt": "...", "responses": ["a", "b"], "ranking": [1, 0]}}'
    )


# --- ranking_pairs -----------------------------------------------------------------------------------------


def test_ranking_pairs_counts():
    assert ranking_pairs([[2], [0], [3], [1]]) == [(2, 0), (2, 3), (2, 1), (0, 3), (0, 1), (3, 1)]
    assert sorted(ranking_pairs([[0, 1], [2]])) == [(0, 2), (1, 2)]
    assert ranking_pairs([[0, 1, 2, 3]]) == []
    assert sorted(ranking_pairs([[2, 0], [3], [1]])) == [(0, 1), (0, 3), (2, 1), (2, 3), (3, 1)]
    for k in range(2, 10):
        assert len(ranking_pairs([[i] for i in range(k)])) == k * (k - 1) // 2


def test_ranking_pairs_match_a_reference():
    rng = random.Random(0)
    for _ in range(200):
        k = rng.randint(2, 9)
        order = rng.sample(range(k), k)
        groups, i = [], 0
        while i < k:
            size = rng.randint(1, 3)
            groups.append(order[i : i + size])
            i += size
        rank = {index: g for g, group in enumerate(groups) for index in group}
        expected = {(a, b) for a in range(k) for b in range(k) if rank[a] < rank[b]}
        pairs = ranking_pairs(groups)
        assert len(pairs) == len(expected) and set(pairs) == expected


def test_ranking_pairs_of_a_read_ranking(tmp_path):
    path = write(tmp_path, [RANKING | {"ranking": [[2, 0], 3, 1]}])
    (row,) = read_rankings(path)
    assert sorted(ranking_pairs(row["ranking"])) == [(0, 1), (0, 3), (2, 1), (2, 3), (3, 1)]


# --- skip_bad_rows -----------------------------------------------------------------------------------------


def test_skip_bad_rows_counts_and_logs(tmp_path, caplog):
    bad_role = {"messages": [{"role": "bot", "content": "x"}]}
    path = write(tmp_path, [CONVERSATION, "", bad_role, "{not json", CONVERSATION, b"\xff".decode("latin-1"), {"messages": []}])
    first = f"{path}:3: message 1: unknown role 'bot'; {ROLES_EXPECTED}"
    assert error_of(read_conversations, path) == first
    with caplog.at_level(logging.WARNING, logger="chatrlhf.data"):
        rows = read_conversations(path, skip_bad_rows=True)
    assert rows == [{"messages": CONVERSATION["messages"], "meta": {"source": "test"}}] * 2
    warnings = [r for r in caplog.records if r.name == "chatrlhf.data"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert warnings[0].getMessage() == f"{path}: skipped 4 bad rows (first: {first})"


def test_skip_bad_rows_reports_unreadable_lines(tmp_path, caplog):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\xff\xfe\n" + json.dumps(RANKING).encode() + b"\n\n{truncated\n")
    assert error_of(read_rankings, path) == f"{path}:1: not UTF-8 text (invalid start byte at byte 0)"
    with caplog.at_level(logging.WARNING, logger="chatrlhf.data"):
        rows = read_rankings(path, skip_bad_rows=True)
    assert len(rows) == 1 and rows[0]["ranking"] == [[2], [0], [3], [1]]
    assert caplog.messages == [f"{path}: skipped 2 bad rows (first: {path}:1: not UTF-8 text (invalid start byte at byte 0))"]


def test_skip_one_bad_row_via_read_validated(tmp_path, caplog):
    path = bad_file(tmp_path, "moderation", MODERATION | {"categories": {"violent": True}})
    with caplog.at_level(logging.WARNING, logger="chatrlhf.data"):
        rows = read_validated(path, "moderation", skip_bad_rows=True)
    assert len(rows) == 1
    assert caplog.messages == [f"{path}: skipped 1 bad row (first: {error_of(read_validated, path, 'moderation')})"]
    assert caplog.messages[0].startswith(f"{path}: skipped 1 bad row (first: {path}:3: unknown moderation category 'violent'")


def test_skip_bad_text_rows(tmp_path, caplog):
    path = write(tmp_path, [{"text": "one"}, "", {"text": ""}, {"text": "two"}])
    assert error_of(read_validated, path, "text") == f"{path}:3: expected a non-empty string field 'text', got ''"
    with caplog.at_level(logging.WARNING, logger="chatrlhf.data"):
        assert read_validated(path, "text", skip_bad_rows=True) == [{"text": "one"}, {"text": "two"}]
    assert caplog.messages == [f"{path}: skipped 1 bad row (first: {path}:3: expected a non-empty string field 'text', got '')"]


def test_no_warning_without_bad_rows(tmp_path, caplog):
    path = write(tmp_path, [RATING, "", RATING])
    with caplog.at_level(logging.WARNING, logger="chatrlhf.data"):
        assert len(read_validated(path, "rating", skip_bad_rows=True)) == 2
    assert caplog.messages == []


def test_all_rows_bad_is_an_error_even_when_skipping(tmp_path):
    path = write(tmp_path, [{"messages": []}, "", "nope"])
    assert error_of(read_conversations, path, skip_bad_rows=True) == (
        f"{path}: no valid rows; all 2 rows are bad (first: {path}:1: 'messages' is empty; expected at least one "
        "{role, content} message)"
    )


# --- robustness: any JSON value gives a DataError naming the line, never another exception ------------------


JUNK = [None, True, 0, -1, 7, 2.5, float("nan"), "", " ", "x", "bot", [], [0], [[]], [None], ["a", "b"], {}, {"role": "user"}]


@pytest.mark.parametrize(
    "validate, good",
    [
        (lambda row, where: validate_conversation(row, where, require_assistant=True), CONVERSATION),
        (validate_ranking, RANKING),
        (validate_ranking, {"prompt": "p", "chosen": "a", "rejected": "b"}),
        (validate_rating, RATING | {"flags": {"toxicity": {"absolute": 1}, "sexual_content": False}}),
        (validate_moderation, MODERATION),
    ],
)
def test_junk_values_give_data_errors(validate, good):
    rng = random.Random(1)
    validate(json.loads(json.dumps(good)), "f.jsonl:5")  # the unmutated row is valid
    errors = 0
    for _ in range(300):
        row = json.loads(json.dumps(good))
        target = row
        while isinstance(target, (dict, list)) and target and rng.random() < 0.7:  # descend to a random spot
            key = rng.choice(list(target)) if isinstance(target, dict) else rng.randrange(len(target))
            if not isinstance(target[key], (dict, list)) or not target[key]:
                break
            target = target[key]
        if isinstance(target, dict) and target:
            target[rng.choice(list(target))] = rng.choice(JUNK)
        elif isinstance(target, list) and target:
            target[rng.randrange(len(target))] = rng.choice(JUNK)
        try:
            validate(row, "f.jsonl:5")
        except DataError as e:
            errors += 1
            assert str(e).startswith("f.jsonl:5: ") and ("expected" in str(e) or "got" in str(e)), str(e)
    assert errors > 100  # most mutations are caught
