"""The shared sampler: greedy equals `model.generate`, padding does not change a row, stops are exact."""

from __future__ import annotations

import pytest
import torch

from chatrlhf.sampling import filter_logits, has_fast_path, left_pad, next_tokens, sample


@pytest.fixture(scope="module")
def tiny(tiny_lm):
    return tiny_lm


def ragged_prompts(n: int = 6) -> list[list[int]]:
    g = torch.Generator().manual_seed(1)
    return [torch.randint(10, 300, (2 + 3 * i,), generator=g).tolist() for i in range(n)]


@pytest.mark.parametrize("fast", [True, False])
def test_greedy_equals_generate(tiny, fast):
    model, tok = tiny
    assert has_fast_path(model)
    prompts = ragged_prompts()
    ids, mask = left_pad(prompts, tok.pad_token_id)
    # A stop token that some rows emit early (found by looking at the greedy output), so stopping is exercised.
    probe = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=30, do_sample=False, eos_token_id=None,
                           pad_token_id=tok.pad_token_id)[:, ids.shape[1]:]
    stop = int(probe[0, 5])
    expected = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=30, do_sample=False, eos_token_id=stop,
                              pad_token_id=tok.pad_token_id)[:, ids.shape[1]:]
    out = sample(model, prompts, max_new_tokens=30, stop_ids=[stop], pad_id=tok.pad_token_id, temperature=0, fast=fast)
    assert torch.equal(out.response_ids, expected)
    assert bool(out.finished[0]) and out.mask[0].sum() == 6  # five tokens and the stop token
    assert out.responses()[0] == expected[0, :5].tolist()


def test_padding_does_not_change_a_row(tiny):
    model, tok = tiny
    prompts = ragged_prompts()
    batch = sample(model, prompts, max_new_tokens=12, stop_ids=[], pad_id=tok.pad_token_id, temperature=0)
    for i, p in enumerate(prompts):
        alone = sample(model, [p], max_new_tokens=12, stop_ids=[], pad_id=tok.pad_token_id, temperature=0)
        assert batch.response_ids[i].tolist() == alone.response_ids[0].tolist()


def test_sampling_is_seeded_and_follows_the_distribution(tiny):
    model, tok = tiny
    prompts = ragged_prompts(3)
    kw = {"max_new_tokens": 10, "stop_ids": [], "pad_id": tok.pad_token_id, "temperature": 1.0}
    a = sample(model, prompts, generator=torch.Generator().manual_seed(7), **kw).response_ids
    b = sample(model, prompts, generator=torch.Generator().manual_seed(7), **kw).response_ids
    c = sample(model, prompts, generator=torch.Generator().manual_seed(8), **kw).response_ids
    assert torch.equal(a, b) and not torch.equal(a, c)
    # Inverse-CDF draws match the probabilities: 20k draws from a known distribution.
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(20_000, 1)
    draws = next_tokens(logits, 1.0, 0, 1.0, torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4) / len(draws)
    torch.testing.assert_close(freq, torch.tensor([0.5, 0.3, 0.15, 0.05]), atol=0.015, rtol=0)


def test_top_k_and_top_p_filters():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True]]
    # Nucleus 0.75: 0.5 + 0.3 reaches it, so the two least likely go.
    assert torch.isinf(filter_logits(logits, top_p=0.75)).tolist() == [[False, False, True, True]]
    # The most likely token always survives, however small p.
    assert torch.isinf(filter_logits(logits, top_p=0.01)).tolist() == [[False, True, True, True]]
    draws = next_tokens(logits.repeat(500, 1), 1.0, 2, 1.0, torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {0, 1}


def test_max_new_tokens_and_unfinished_rows(tiny):
    model, tok = tiny
    out = sample(model, ragged_prompts(2), max_new_tokens=7, stop_ids=[], pad_id=tok.pad_token_id, temperature=0)
    assert out.response_ids.shape == (2, 7)
    assert not out.finished.any() and out.mask.sum().item() == 14
    with pytest.raises(ValueError, match="at least one token"):
        sample(model, [[]], max_new_tokens=3, stop_ids=[], pad_id=0)


@pytest.mark.parametrize(("top_k", "top_p"), [(0, 1.0), (20, 0.9)])
def test_fast_path_samples_what_the_generic_path_samples(tiny, top_k, top_p):
    model, tok = tiny
    prompts = ragged_prompts()
    kw = {"max_new_tokens": 12, "stop_ids": [], "pad_id": tok.pad_token_id, "temperature": 0.8, "top_k": top_k,
          "top_p": top_p}
    fast = sample(model, prompts, generator=torch.Generator().manual_seed(3), fast=True, **kw)
    generic = sample(model, prompts, generator=torch.Generator().manual_seed(3), fast=False, **kw)
    assert torch.equal(fast.response_ids, generic.response_ids)


@pytest.mark.parametrize("fast", [True, False])
def test_rows_pad_after_their_stop_token(tiny, fast):
    model, tok = tiny
    prompts = ragged_prompts()
    kw = {"max_new_tokens": 20, "pad_id": tok.pad_token_id, "temperature": 1.0, "fast": fast}
    free = sample(model, prompts, stop_ids=[], generator=torch.Generator().manual_seed(5), **kw)
    stop = int(free.response_ids[0, 3])  # a token that row 0 draws, so at least one row stops early
    out = sample(model, prompts, stop_ids=[stop], generator=torch.Generator().manual_seed(5), **kw)
    assert bool(out.finished[0])
    for row, ids, m, done in zip(free.response_ids, out.response_ids, out.mask, out.finished, strict=True):
        hits = (row == stop).nonzero().flatten().tolist()
        n = hits[0] + 1 if hits else len(row)  # the same draws up to and including the stop token
        assert bool(done) == bool(hits) and int(m.sum()) == n
        assert ids[:n].tolist() == row[:n].tolist()
        assert (ids[n:] == tok.pad_token_id).all() and not m[n:].any()
