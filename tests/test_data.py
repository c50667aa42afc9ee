"""Data reading (error messages with file:line), window packing and the deterministic batch order."""

from __future__ import annotations

import json
import re

import pytest
import torch

from chatrlhf.config import UserError
from chatrlhf.data import DataError, batch_indices, read_texts, split_windows

# --- read_texts -------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "missing.jsonl"
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value) == f"{path}: no such file"


def test_data_error_is_a_user_error(tmp_path):
    with pytest.raises(UserError):
        read_texts([tmp_path / "missing.txt"])


def test_no_paths():
    with pytest.raises(DataError, match="no data files given"):
        read_texts([])


@pytest.mark.parametrize("name", ["empty.txt", "empty.jsonl"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_text("")
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value).startswith(f"{path}: file is empty")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(DataError) as e:
        read_texts([tmp_path])
    assert str(e.value) == f"{tmp_path}: not a file"


def test_whitespace_only_txt(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n\t \n")
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value).startswith(f"{path}: ")
    assert "whitespace" in str(e.value)


def test_non_utf8_txt(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value).startswith(f"{path}: not UTF-8 text")


def test_bad_json_line_number_counts_blank_lines(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "first"}\n\n{"text": oops}\n{"text": "fourth"}\n')
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value).startswith(f"{path}:3: not valid JSON")


def test_row_missing_text(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "ok"}\n{"prompt": "no text here"}\n')
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value) == f"{path}:2: expected a non-empty string field 'text', got None"


@pytest.mark.parametrize("row", ['{"text": 5}', '{"text": "   "}', '{"text": ["a"]}'])
def test_row_with_unusable_text(tmp_path, row):
    path = tmp_path / "rows.jsonl"
    path.write_text(f'{{"text": "ok"}}\n{row}\n')
    with pytest.raises(DataError, match="^" + re.escape(f"{path}:2: expected a non-empty string field 'text'")):
        read_texts([path])


def test_row_that_is_a_list(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "ok"}\n["text", "not an object"]\n')
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value) == f"{path}:2: expected a JSON object, got list"


def test_jsonl_with_only_blank_lines(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_text("\n\n  \n")
    with pytest.raises(DataError) as e:
        read_texts([path])
    assert str(e.value).startswith(f"{path}: no rows")


def test_valid_jsonl_and_txt_are_read(tmp_path):
    jsonl = tmp_path / "docs.jsonl"
    rows = [{"text": "First doc."}, {"text": "ウニとイクラは違います", "source": "x"}, {"text": "Line one\nline two"}]
    jsonl.write_text(json.dumps(rows[0]) + "\n\n" + "\n".join(json.dumps(r, ensure_ascii=False) for r in rows[1:]) + "\n")
    txt = tmp_path / "book.txt"
    txt.write_text("Paragraph one.\n\nParagraph two.\n", encoding="utf-8")
    docs = read_texts([jsonl, txt])
    assert docs == ["First doc.", "ウニとイクラは違います", "Line one\nline two", "Paragraph one.\n\nParagraph two.\n"]


def test_errors_in_a_later_file_name_that_file(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("fine")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{\n")
    with pytest.raises(DataError, match="^" + re.escape(f"{bad}:1: not valid JSON")):
        read_texts([good, bad])


# --- split_windows ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "seq_len", "val_fraction"), [(101, 10, 0.1), (1000, 7, 0.2), (64, 8, 0.05), (9, 4, 0.1)])
def test_split_windows_shapes_and_overlap(length, seq_len, val_fraction):
    stream = torch.arange(length) * 3 + 1
    train, val = split_windows(stream, seq_len, val_fraction)
    n = (length - 1) // seq_len
    assert train.shape[1] == seq_len + 1 and val.shape[1] == seq_len + 1
    assert len(train) + len(val) == n
    assert len(val) == max(1, round(n * val_fraction))
    assert len(train) >= 1
    windows = torch.cat([train, val])
    for i in range(n):
        assert torch.equal(windows[i], stream[i * seq_len : i * seq_len + seq_len + 1])
    for a, b in zip(windows[:-1], windows[1:], strict=True):
        assert a[-1] == b[0]  # consecutive windows share exactly one token
        assert not set(a[:-1].tolist()) & set(b.tolist())  # and no other


def test_split_windows_val_is_the_tail():
    stream = torch.arange(201)
    train, val = split_windows(stream, 10, 0.1)
    assert len(val) == 2
    assert torch.equal(val[-1], stream[190:201])
    assert torch.equal(val[0], stream[180:191])
    assert int(train.max()) == 180 and int(val.min()) == 180
    assert torch.equal(train[0], stream[:11])


@pytest.mark.parametrize(("length", "seq_len"), [(8, 4), (0, 4), (1, 2), (10, 9), (128, 128)])
def test_split_windows_too_short(length, seq_len):
    with pytest.raises(DataError, match=rf"^data has {length} tokens: too few for two sequences of {seq_len}"):
        split_windows(torch.arange(length), seq_len, 0.1)


# --- batch_indices ----------------------------------------------------------------------------------------


def test_batch_indices_deterministic():
    a = batch_indices(50, 8, step=3, seed=7)
    b = batch_indices(50, 8, step=3, seed=7)
    assert torch.equal(a, b)
    assert a.dtype == torch.long
    # a fresh call after other steps (cache churn) gives the same rows
    for s in range(20):
        batch_indices(50, 8, step=s, seed=s)
    assert torch.equal(batch_indices(50, 8, step=3, seed=7), a)


def test_batch_indices_depend_on_step():
    assert not torch.equal(batch_indices(50, 8, step=0, seed=7), batch_indices(50, 8, step=1, seed=7))


def test_batches_within_an_epoch_are_disjoint_and_cover_every_row_once():
    n, bs = 48, 8
    batches = [batch_indices(n, bs, step, seed=3).tolist() for step in range(n // bs)]
    flat = [i for b in batches for i in b]
    assert all(len(b) == bs for b in batches)
    assert sorted(flat) == list(range(n))
    for b1, b2 in zip(batches[:-1], batches[1:], strict=True):
        assert not set(b1) & set(b2)


def test_every_epoch_is_a_permutation_even_when_batches_straddle_epochs():
    n, bs, epochs = 10, 4, 6
    flat = [i for step in range(n * epochs // bs) for i in batch_indices(n, bs, step, seed=11).tolist()]
    assert len(flat) == n * epochs
    epoch_orders = [flat[e * n : (e + 1) * n] for e in range(epochs)]
    for order in epoch_orders:
        assert sorted(order) == list(range(n))
    assert len({tuple(o) for o in epoch_orders}) > 1  # epochs are reshuffled


def test_different_seeds_give_different_orders():
    n = 64
    orders = {tuple(torch.cat([batch_indices(n, 16, s, seed=seed) for s in range(4)]).tolist()) for seed in range(5)}
    assert len(orders) == 5


def test_batch_crossing_epoch_boundary_has_batch_size_rows():
    n, bs = 10, 4
    batch = batch_indices(n, bs, step=2, seed=0)  # rows 8, 9 of epoch 0 and 0, 1 of epoch 1
    assert batch.shape == (bs,)
    assert all(0 <= i < n for i in batch.tolist())
    first_epoch = torch.cat([batch_indices(n, bs, s, seed=0) for s in range(2)]).tolist()
    assert set(batch[:2].tolist()) == set(range(n)) - set(first_epoch)


def test_batch_larger_than_dataset():
    batch = batch_indices(3, 7, step=0, seed=1)
    assert batch.shape == (7,)
    assert sorted(batch[:3].tolist()) == [0, 1, 2]
    assert sorted(batch[3:6].tolist()) == [0, 1, 2]
