"""Step 3: the pieces of PPO that are easy to get subtly wrong, each against a hand computation, and the
loop end to end: a simple reward and a learned reward model's score rise, resume after SIGKILL is exact, bad
input is one clear line."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import chatrlhf.sampling as sampling
from chatrlhf.config import ModelConfig, load_config
from chatrlhf.model import (
    build_model,
    load_model,
    load_reward_model,
    reward_model_from_lm,
    save_reward_model,
)
from chatrlhf.sampling import token_logprobs
from chatrlhf.tokenizer import END, EOS, encode_text, load_tokenizer, special_id
from chatrlhf.train.ppo import (
    adaptive_kl_coef,
    gae,
    masked_mean,
    masked_whiten,
    no_dropout,
    policy_loss,
    train_ppo,
    value_from_rm,
    value_loss,
)
from chatrlhf.train.reward import train_reward
from chatrlhf.train.rollout import (
    generate,
    kl_penalised_rewards,
    logprobs_of,
    response_logits,
    response_tokens,
    rm_reward,
    select,
    sequences_for_rm,
    with_no_eos_penalty,
)
from chatrlhf.train.sft import train_sft
from tests.conftest import attention_dropouts, run_cli, sets
from tests.rewards import letter_e


def test_gae_matches_a_hand_computation():
    # One response of 3 tokens (then padding), gamma 0.9, lambda 0.8.
    rewards = torch.tensor([[0.1, -0.2, 1.0, 0.0]])
    values = torch.tensor([[0.5, 0.4, 0.3, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    g, lam = 0.9, 0.8
    d2 = 1.0 - 0.3  # the state after the last token is terminal: no bootstrap
    d1 = -0.2 + g * 0.3 - 0.4
    d0 = 0.1 + g * 0.4 - 0.5
    a2 = d2
    a1 = d1 + g * lam * a2
    a0 = d0 + g * lam * a1
    adv, ret = gae(rewards, values, mask, g, lam)
    torch.testing.assert_close(adv, torch.tensor([[a0, a1, a2, 0.0]]))
    torch.testing.assert_close(ret, torch.tensor([[a0 + 0.5, a1 + 0.4, a2 + 0.3, 0.0]]))
    # With gamma = lambda = 1 the advantage is the sum of the rewards to go minus the value.
    adv1, _ = gae(rewards, values, mask, 1.0, 1.0)
    torch.testing.assert_close(adv1, torch.tensor([[0.9 - 0.5, 0.8 - 0.4, 1.0 - 0.3, 0.0]]))


def test_kl_penalty_is_per_token_and_the_score_sits_on_the_last_real_token():
    logprobs = torch.tensor([[-1.0, -2.0, -0.5, 0.0], [-1.0, -1.0, 0.0, 0.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5, -3.0], [-0.5, -2.0, -9.0, -9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    scores = torch.tensor([2.0, -1.0])
    rewards, kl = kl_penalised_rewards(scores, logprobs, ref, mask, beta=0.1)
    torch.testing.assert_close(kl, torch.tensor([[0.5, -1.0, 0.0, 0.0], [-0.5, 1.0, 0.0, 0.0]]))
    torch.testing.assert_close(rewards, torch.tensor([[-0.05, 0.1, 2.0, 0.0], [0.05, -0.1 - 1.0, 0.0, 0.0]]))


def test_no_eos_penalty_replaces_the_score():
    out = with_no_eos_penalty(torch.tensor([3.0, 3.0]), torch.tensor([True, False]), -1.0)
    assert out.tolist() == [3.0, -1.0]


def test_whitening_uses_only_real_tokens():
    x = torch.tensor([[1.0, 2.0, 3.0, 100.0], [4.0, 5.0, -50.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    w = masked_whiten(x, mask)
    real = w[mask.bool()]
    assert abs(real.mean().item()) < 1e-6
    assert real.pow(2).mean().item() == pytest.approx(1.0, rel=1e-4)  # population std 1
    assert w[~mask.bool()].abs().sum() == 0
    kept = masked_whiten(x, mask, shift_mean=False)[mask.bool()]
    assert kept.mean().item() == pytest.approx(3.0, rel=1e-5)  # the mean of 1..5 survives


def test_clipped_policy_loss():
    old = torch.zeros(1, 3)
    mask = torch.ones(1, 3)
    adv = torch.tensor([[1.0, 1.0, -1.0]])
    # Ratios 1.5 (positive advantage: clipped to 1.2), 0.9 (inside), 0.5 (negative advantage: clipped at 0.8).
    new = torch.log(torch.tensor([[1.5, 0.9, 0.5]])).requires_grad_()
    loss, stats = policy_loss(new, old, adv, mask, clip=0.2)
    assert loss.item() == pytest.approx((-1.2 - 0.9 + 0.8) / 3)
    assert stats["clipfrac"] == pytest.approx(2 / 3)
    loss.backward()
    # Clipped entries give no gradient; the free one gives -A * ratio / n.
    torch.testing.assert_close(new.grad, torch.tensor([[0.0, -0.9 / 3, 0.0]]))
    # Where the clip is pessimistic in the other direction the unclipped term is kept (and has a gradient).
    new2 = torch.log(torch.tensor([[0.5]])).requires_grad_()
    loss2, _ = policy_loss(new2, torch.zeros(1, 1), torch.tensor([[1.0]]), torch.ones(1, 1), clip=0.2)
    assert loss2.item() == pytest.approx(-0.5)
    loss2.backward()
    assert new2.grad.item() == pytest.approx(-0.5)


def test_clipped_value_loss_is_pessimistic():
    old = torch.tensor([[0.0, 0.0]])
    returns = torch.tensor([[1.0, 1.0]])
    values = torch.tensor([[0.5, 2.0]])
    mask = torch.ones(1, 2)
    # Entry 0: unclipped (0.5-1)^2=0.25, clipped (0.2-1)^2=0.64 -> 0.64. Entry 1: (2-1)^2=1, (0.2-1)^2=0.64 -> 1.
    assert value_loss(values, old, returns, mask, clip=0.2).item() == pytest.approx(0.5 * (0.64 + 1.0) / 2)
    assert masked_mean(torch.tensor([[1.0, 5.0]]), torch.tensor([[1.0, 0.0]])).item() == 1.0


def test_adaptive_kl_moves_beta_toward_the_target():
    assert adaptive_kl_coef(0.1, kl=12.0, target=6.0, horizon=100, n=10) == pytest.approx(0.1 * (1 + 0.2 * 0.1))
    assert adaptive_kl_coef(0.1, kl=3.0, target=6.0, horizon=100, n=10) == pytest.approx(0.1 * (1 - 0.2 * 0.1))
    assert adaptive_kl_coef(0.1, kl=6.3, target=6.0, horizon=100, n=10) == pytest.approx(0.1 * (1 + 0.05 * 0.1))


# ---- rollouts on a tiny model --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tiny_lm):
    return tiny_lm


def prompt_rows(n: int) -> list[dict]:
    words = ["the capital", "a river of the north and the south", "why", "tell me about the sea and its creatures"]
    return [{"messages": [{"role": "user", "content": words[i % len(words)]}], "meta": {}} for i in range(n)]


def test_recomputed_logprobs_are_what_the_sampler_drew_from(tiny, monkeypatch):
    """The logits the sampler drew each token from, divided by its temperature, equal the rollout's
    recomputed ones: same positions, same padding, same temperature (else the KL goes negative)."""
    model, tok = tiny
    seen = []
    draw = sampling.next_tokens

    def spy(logits, temperature, top_k, top_p, generator):
        seen.append(logits.float() / temperature)
        return draw(logits, temperature, top_k, top_p, generator)

    monkeypatch.setattr(sampling, "next_tokens", spy)
    # The generic path calls next_tokens from Python (the fast path compiles it in; it is tested to draw
    # exactly what the generic path draws, in test_sampling.py).
    monkeypatch.setattr(sampling, "has_fast_path", lambda model: False)
    r = generate(model, tok, prompt_rows(5), max_new_tokens=8, temperature=0.7, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        recomputed = response_logits(model, r, temperature=0.7)
    assert len(seen) == r.mask.size(1) > 0
    for t, logits in enumerate(seen):
        live = r.mask[:, t].bool()
        torch.testing.assert_close(recomputed[live, t].log_softmax(-1), logits[live].log_softmax(-1), atol=2e-4, rtol=1e-4)
    lp = logprobs_of(model, r, temperature=0.7)
    assert lp.shape == r.mask.shape and lp[r.mask == 0].abs().sum() == 0  # padding after the stop contributes nothing
    assert torch.all(lp[r.mask.bool()] < 0)


def test_a_row_scores_the_same_alone_as_in_a_ragged_batch(tiny):
    """Prompt padding and response padding are masked: a row's logprobs do not depend on its neighbours."""
    model, tok = tiny
    r = generate(model, tok, prompt_rows(4), max_new_tokens=6, temperature=1.0, generator=torch.Generator().manual_seed(1))
    batch = logprobs_of(model, r, 1.0)
    for i in range(4):  # row i recomputed alone, its prompt padding stripped
        one = select(r, slice(i, i + 1))
        width = int(one.attention_mask[0, : r.prompt_width].sum())
        one.ids = one.ids[:, r.prompt_width - width :]
        one.attention_mask = one.attention_mask[:, r.prompt_width - width :]
        one.position_ids = one.position_ids[:, r.prompt_width - width :]
        one.prompt_width = width
        with torch.no_grad():
            solo = token_logprobs(response_logits(model, one, 1.0), response_tokens(one)) * one.mask
        torch.testing.assert_close(solo[0], batch[i], atol=1e-5, rtol=1e-5)


def test_a_turn_ends_at_end_of_turn_only(tiny, monkeypatch):
    """The reward model was trained to score a turn at its closing <|end|>: a response that emits <|endoftext|>
    has not ended there, and one that never reaches <|end|> gets the no-EOS penalty."""
    model, tok = tiny
    eos, end, word = special_id(tok, EOS), special_id(tok, END), encode_text(tok, " the")[0]
    script = torch.tensor([[eos, word, word, word, word, word],  # <|endoftext|>, then no <|end|> within the limit
                           [word, eos, end, word, word, word],  # <|endoftext|>, then <|end|>
                           [word, word, end, word, word, word]])
    steps = iter(range(script.size(1)))
    monkeypatch.setattr(sampling, "has_fast_path", lambda model: False)  # the generic path draws from Python
    monkeypatch.setattr(sampling, "next_tokens", lambda *args: script[:, next(steps)])
    r = generate(model, tok, prompt_rows(3), max_new_tokens=6, temperature=1.0, generator=None)
    assert r.finished.tolist() == [False, True, True]
    assert r.lengths.tolist() == [6, 3, 3]
    assert with_no_eos_penalty(torch.tensor([2.0, 2.0, 2.0]), r.finished, -1.0).tolist() == [-1.0, 2.0, 2.0]
    assert [seq[-1] for seq in sequences_for_rm(r)] == [word, end, end]  # each finished turn is scored at its <|end|>


def test_the_value_model_starts_on_the_scale_of_the_normalised_reward(tiny, tmp_path):
    """PPO divides the RM's scores by the std saved with it; the value model, a copy of the RM, predicts on the
    same scale: at the last token it gives exactly the reward PPO uses."""
    model, tok = tiny
    model.save_pretrained(tmp_path / "lm")
    torch.manual_seed(0)
    save_reward_model(reward_model_from_lm(tmp_path / "lm"), tmp_path / "rm", {"score_mean": 0.0, "score_std": 4.0})
    r = generate(model, tok, prompt_rows(6), max_new_tokens=6, temperature=1.0, generator=torch.Generator().manual_seed(0))
    last = r.prompt_width + r.lengths.long() - 1
    for normalize in (True, False):
        reward, _ = rm_reward(tmp_path / "rm", tok, "cpu", normalize)
        value = value_from_rm(tmp_path / "rm", normalize)
        with torch.no_grad():
            values = value.token_values(r.ids, r.attention_mask, r.position_ids)[torch.arange(6), last]
        scores = reward(r)
        assert scores.abs().min() > 1e-3  # a ratio to check
        torch.testing.assert_close(values / scores, torch.ones(6), atol=1e-4, rtol=1e-4)


def test_rl_turns_off_the_dropout_a_checkpoint_was_saved_with(tokenizer_dir, tmp_path):
    tok = load_tokenizer(tokenizer_dir)
    lm = build_model(ModelConfig(hidden_size=32, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=64,
                                 dropout=0.3), tok)
    lm.save_pretrained(tmp_path / "lm")
    save_reward_model(reward_model_from_lm(tmp_path / "lm"), tmp_path / "rm", {"score_std": 2.0})
    models = [load_model(tmp_path / "lm"), reward_model_from_lm(tmp_path / "lm"), load_reward_model(tmp_path / "rm")[0],
              value_from_rm(tmp_path / "rm", True), rm_reward(tmp_path / "rm", tok, "cpu")[1]]
    assert all(set(attention_dropouts(m)) == {0.3} for m in models)
    no_dropout(*models)
    assert all(set(attention_dropouts(m)) == {0.0} and not m.training for m in models)


# ---- the loop, through the CLI ------------------------------------------------------------------------------

TINY_PPO = ["ppo.rollout_batch=8", "ppo.minibatch_size=4", "ppo.max_new_tokens=12", "ppo.lr=3e-3", "ppo.value_lr=3e-3",
            "ppo.sample_every=5", "ppo.save_every=5", "ppo.keep_checkpoints=5"]


@pytest.fixture(scope="module")
def policy(tmp_path_factory, tokenizer_dir) -> Path:
    """A tiny random-init policy saved as a checkpoint (PPO only needs a causal LM and its tokenizer)."""
    path = tmp_path_factory.mktemp("policy") / "sft"
    tok = load_tokenizer(tokenizer_dir)
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden_size=48, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=96,
                                    init_std=0.1), tok)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def prompts(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prompts") / "prompts.jsonl"
    path.write_text("".join(json.dumps({"messages": r["messages"]}) + "\n" for r in prompt_rows(16)))
    return path


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_ppo_raises_a_simple_reward(policy, prompts, tmp_path):
    """Reward: the share of the letter e in the answer (tests/rewards.py), a dense signal a random policy can climb."""
    out = tmp_path / "ppo"
    run_cli("ppo", "--policy", str(policy), "--reward", "tests.rewards:letter_e", "--prompts", str(prompts),
            "--out", str(out), *sets(*TINY_PPO, "ppo.iterations=20", "ppo.kl_coef=0.01", "ppo.penalize_no_eos=false"))
    m = metrics(out)
    assert len(m) == 20 and all(math.isfinite(r["kl"]) and math.isfinite(r["value_loss"]) for r in m)
    first = sum(r["score"] for r in m[:4]) / 4
    last = sum(r["score"] for r in m[-4:]) / 4
    print("score first 4:", first, "last 4:", last)
    assert last > first + 0.3
    assert m[0]["kl"] == pytest.approx(0.0, abs=1e-5)  # the first rollout comes from the reference itself
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert {s["step"] for s in samples} == {1, 5, 10, 15, 20}
    assert (out / "latest" / "value" / "reward_head.safetensors").is_file()


def test_ppo_resume_after_sigkill_is_exact(policy, prompts, tmp_path):
    args = ["ppo", "--policy", str(policy), "--reward", "tests.rewards:letter_e", "--prompts", str(prompts)]
    settings = sets(*TINY_PPO, "ppo.iterations=8", "ppo.save_every=4", "ppo.ptx_coef=0.5", "ppo.ptx_seq_len=16",
                    "ppo.ptx_batch=2", "ppo.kl_target=1.0", "ppo.kl_horizon=50",
                    "ppo.penalize_no_eos=false")
    ptx = ["--ptx-data", str(Path(__file__).resolve().parent.parent / "examples" / "corpus.txt")]
    run_cli(*args, "--out", str(tmp_path / "full"), *ptx, *settings)
    killed = run_cli(*args, "--out", str(tmp_path / "killed"), *ptx, *settings, env={"CHATRLHF_KILL_AT_STEP": "6"},
                     check=False)
    assert killed.returncode == -9
    run_cli(*args, "--out", str(tmp_path / "killed"), *ptx, "--resume")
    for name in ("model.safetensors", "value/model.safetensors", "value/reward_head.safetensors"):
        a, b = load_file(tmp_path / "full" / "latest" / name), load_file(tmp_path / "killed" / "latest" / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
    full, resumed = metrics(tmp_path / "full"), metrics(tmp_path / "killed")
    assert [r["step"] for r in resumed] == list(range(1, 9))
    assert [r["kl_coef"] for r in full] == [r["kl_coef"] for r in resumed]
    assert full[-1]["kl_coef"] != 0.05  # the adaptive controller moved beta, and its state was restored
    assert "ptx_loss" in full[-1]


def test_bad_ppo_input_is_one_clear_line(policy, prompts, tmp_path):
    bad = run_cli("ppo", "--policy", str(policy), "--reward", "nowhere", "--prompts", str(prompts), "--out",
                  str(tmp_path / "a"), check=False)
    assert bad.returncode == 2 and "--reward nowhere: not a reward-model directory, 'judge', or module:function" in bad.stderr
    bad = run_cli("ppo", "--policy", str(policy), "--reward", "tests.rewards:letter_e", "--prompts", str(prompts), "--out",
                  str(tmp_path / "b"), *sets("ppo.ptx_coef=1.0"), check=False)
    assert bad.returncode == 2 and "needs --ptx-data" in bad.stderr
    bad = run_cli("ppo", "--policy", str(policy), "--reward", "tests.rewards:letter_e", "--prompts", str(prompts), "--out",
                  str(tmp_path / "c"), *sets("ppo.minibatch_size=3"), check=False)
    assert bad.returncode == 2 and "config key 'ppo.minibatch_size': must divide ppo.rollout_batch=32" in bad.stderr


# ---- against a learned reward model, in process -------------------------------------------------------------

# Answers of one to four of these words (one or two tokens each), for a policy and a reward model learned in seconds.
WORDS = ["the", "and", "is", "in", "it", "of", "to", "you", "a", "he", "we", "be", "me"]
QUESTIONS = ["the capital", "a river of the north and the south", "why", "tell me about the sea and its creatures",
             "what is a crow", "how do you cook eggs", "where is the farm", "name a tool"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def learned(policy, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(SFT model, reward model, prompts), as the pipeline makes them in miniature: the tiny policy fine-tuned to
    answer in a few words and end its turn, and a reward model trained on rankings of such answers by their share
    of the letter e (tests/rewards.py), normalised on the demonstrations."""
    root = tmp_path_factory.mktemp("learned")
    rng = random.Random(0)
    prompts = [[{"role": "user", "content": q}] for q in QUESTIONS]

    def answer() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))

    demos = write_jsonl(root / "demos.jsonl", [{"messages": [*p, {"role": "assistant", "content": answer()}]}
                                               for p in prompts for _ in range(4)])
    rankings = []
    for p in prompts:
        for _ in range(8):
            answers = [answer() for _ in range(4)]
            rankings.append({"prompt": p, "responses": answers,
                             "ranking": sorted(range(4), key=lambda i: -letter_e(p, answers[i]))})
    write_jsonl(root / "rankings.jsonl", rankings)
    train_sft(load_config(["sft"], overrides=["sft.epochs=8", "sft.batch_size=8", "sft.lr=1e-2", "sft.warmup_steps=2",
                                              "sft.eval_prompts=0", "sft.keep_checkpoints=1"])["sft"], policy, demos,
              root / "sft")
    train_reward(load_config(["reward"], overrides=["reward.epochs=6", "reward.lr=3e-3", "reward.batch_size=8"])["reward"],
                 root / "sft", root / "rankings.jsonl", root / "rm", demos=demos)
    return root / "sft", root / "rm", write_jsonl(root / "prompts.jsonl", [{"messages": p} for p in prompts * 2])


def test_ppo_raises_the_score_of_a_learned_reward_model(learned, tmp_path):
    """PPO as the pipeline runs it: against a trained RM, the value model initialised from it, the no-EOS penalty on."""
    sft, rm, prompts = learned
    out = tmp_path / "ppo"
    train_ppo(load_config(["ppo"], overrides=[*TINY_PPO, "ppo.rollout_batch=16", "ppo.minibatch_size=8", "ppo.iterations=12",
                                              "ppo.kl_coef=0.01", "ppo.sample_every=0", "ppo.save_every=12"])["ppo"],
              sft, str(rm), prompts, out)
    m = metrics(out)
    first = sum(r["rm_score"] for r in m[:4]) / 4
    last = sum(r["rm_score"] for r in m[-4:]) / 4
    print("RM score first 4:", first, "last 4:", last, "explained variance:", [r["explained_variance"] for r in m])
    assert last > first + 0.25
    # Values start on the scale of the normalised reward: explained variance near 0 at the first iteration, not
    # the -2 to -6 of a value model score_std (4 here) times too large. Not clearly above 0: the head is read at
    # every response token but was trained only at <|end|>.
    assert json.loads((rm / "reward_model.json").read_text())["score_std"] > 2
    assert m[0]["explained_variance"] > -1
