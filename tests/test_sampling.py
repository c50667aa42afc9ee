"""The shared sampler: greedy equals `model.generate`, padding does not change a row, stops are exact."""

from __future__ import annotations

import pytest
import torch

from chatrlhf.config import ModelConfig
from chatrlhf.model import build_model
from chatrlhf.sampling import filter_logits, has_fast_path, left_pad, next_tokens, sample
from chatrlhf.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def tiny(tokenizer_dir):
    tok = load_tokenizer(tokenizer_dir)
    torch.manual_seed(0)
    # A large init std gives peaked, varied next-token distributions instead of one repeated token.
    cfg = ModelConfig(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=128, init_std=0.3)
    return build_model(cfg, tok).eval(), tok


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
