"""Step 3: PPO against the reward model under a per-token KL penalty, with PPO-ptx as an option.

    chatrlhf ppo --policy runs/sft --reward runs/rm --prompts world/prompts_ppo.jsonl --out runs/ppo
    chatrlhf ppo ... --ptx-coef 1.0 --ptx-data world/corpus.txt --out runs/ppo_ptx

Four models, as InstructGPT: the policy and a frozen reference, both from SFT; a value model, a whole
reward model (not a head on the policy) initialised from the RM; and the frozen RM. All four run without
dropout. Every iteration reads as the numbered steps below; the comments name the equation or detail
of InstructGPT (Ouyang et al. 2022) or "The N Implementation Details of RLHF with PPO" (Huang et al.)
that each implements. Sampling and minibatch order come from a generator seeded by (seed, iteration),
so a resumed run replays exactly what an uninterrupted one does.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

from chatrlhf.config import PPOConfig, UserError, validate
from chatrlhf.data import batch_indices, read_conversations, read_texts, split_windows, tokenize_stream
from chatrlhf.model import (
    RewardModel,
    autocast,
    check_tokenizer_matches,
    count_params,
    load_model,
    load_reward_model,
    pick_dtype,
    resolve_checkpoint,
    reward_model_from_lm,
    save_reward_model,
    set_attention_dropout,
)
from chatrlhf.sampling import token_logprobs
from chatrlhf.tokenizer import load_tokenizer
from chatrlhf.train import common
from chatrlhf.train.rollout import (
    Rollout,
    callable_reward,
    entropy,
    generate,
    judge_reward,
    kl_penalised_rewards,
    logprobs_of,
    response_logits,
    response_tokens,
    response_values,
    reward_scale,
    rm_reward,
    select,
    values_of,
    with_no_eos_penalty,
)

log = logging.getLogger("chatrlhf.ppo")
VALUE_DIR = "value"  # the value model inside each checkpoint, in reward-model format


# ---- the pieces that are easy to get subtly wrong, each unit-tested ----------------------------------------


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x - mean) / std over the masked entries; with shift_mean=False the mean is kept."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return (out if shift_mean else out + mean) * mask


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over each response (Schulman et al. 2016); the state after the
    last real token is terminal. Returns (advantages, returns = advantages + values)."""
    next_mask = torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)
    next_values = torch.cat([values[:, 1:], torch.zeros_like(values[:, :1])], dim=1) * next_mask
    deltas = rewards + gamma * next_values - values
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.size(1))):
        running = deltas[:, t] + gamma * lam * next_mask[:, t] * running
        advantages[:, t] = running
    advantages = advantages * mask
    return advantages, (advantages + values) * mask


def policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                clip: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The clipped surrogate objective (PPO, eq. 7 of Schulman et al. 2017), as a loss; plus clip fraction
    and approximate KL between the policy before and after the update."""
    log_ratio = logprobs - old_logprobs
    ratio = log_ratio.exp()
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1 - clip, 1 + clip)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    stats = {"clipfrac": masked_mean((clipped > unclipped).float(), mask).item(),
             "approx_kl": masked_mean(0.5 * log_ratio.detach() ** 2, mask).item()}
    return loss, stats


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip: float) -> torch.Tensor:
    """Squared error to the returns, pessimistic over predictions clipped around the rollout's values."""
    clipped = old_values + (values - old_values).clamp(-clip, clip)
    return 0.5 * masked_mean(torch.maximum((values - returns) ** 2, (clipped - returns) ** 2), mask)


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> float:
    var = masked_mean((returns - masked_mean(returns, mask)) ** 2, mask)
    err = returns - values
    var_err = masked_mean((err - masked_mean(err, mask)) ** 2, mask)
    return (1 - var_err / var).item() if var > 0 else float("nan")


def adaptive_kl_coef(beta: float, kl: float, target: float, horizon: int, n: int) -> float:
    """Ziegler et al. (2019): move beta by at most 20% of n/horizon toward the KL target."""
    error = max(-0.2, min(0.2, kl / target - 1))
    return beta * (1 + error * n / horizon)


def lm_loss(model, windows: torch.Tensor) -> torch.Tensor:
    """Next-token loss on pretraining windows: PPO-ptx's term (InstructGPT eq. 2, gamma * E[log pi(x)])."""
    logits = model(input_ids=windows[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.float().flatten(0, 1), windows[:, 1:].flatten())


# ---- setup ---------------------------------------------------------------------------------------------------


def make_reward(spec: str, tok, device, prompts: Path, normalize: bool):
    """(reward function, RM or None) for `--reward`: an RM directory, `judge`, or `module:function`."""
    if spec == "judge":
        world = prompts.parent / "world.json"
        if not world.is_file():
            raise UserError(f"--reward judge: no world.json beside {prompts}; the gold judge needs the world's facts")
        return judge_reward(world), None
    if Path(spec).exists():
        return rm_reward(spec, tok, device, normalize)
    if ":" in spec:
        return callable_reward(spec), None
    raise UserError(f"--reward {spec}: not a reward-model directory, 'judge', or module:function")


def gold_judge_for(prompts: Path, rows: list[dict]):
    """The world's judge when the prompts are world prompts (to log the gold score beside the RM's)."""
    world = prompts.parent / "world.json"
    if not world.is_file() or not all("kind" in r["meta"] for r in rows):
        return None
    return judge_reward(world, center=0.0)


def ptx_windows(tok, data: str | Path | None, seq_len: int) -> torch.Tensor | None:
    if data is None:
        return None
    train, val = split_windows(tokenize_stream(tok, read_texts([data])), seq_len, 0.0)
    return torch.cat([train, val])


def value_from_rm(path: str | Path, normalize: bool) -> RewardModel:
    """The value model as InstructGPT starts it, a copy of the reward model, with its head divided by what the
    reward is divided by: its first predictions are then on the scale of the returns, not `score_std` times it."""
    value, info = load_reward_model(path)
    scale = reward_scale(info, normalize)
    with torch.no_grad():
        value.head.weight /= scale
        value.head.bias /= scale
    return value


def freeze(model: torch.nn.Module) -> torch.nn.Module:
    model.eval().requires_grad_(False)
    return model


def no_dropout(*models) -> None:
    """Huang et al.: dropout off in every model, or the logprobs of the update and the rollout disagree."""
    for m in models:
        set_attention_dropout(m, 0.0).eval()


# ---- the loop -------------------------------------------------------------------------------------------------


def train_ppo(
    cfg: PPOConfig, policy: str | Path, reward: str, prompts: str | Path, out: str | Path,
    resume: bool = False, ptx_data: str | Path | None = None,
) -> Path:
    """Optimise the policy at `policy` (the SFT model) against `reward`; returns the final checkpoint."""
    validate({"ppo": cfg})  # a dataclass built in Python gets the checks --set gets
    run_dir, prompts = Path(out), Path(prompts)
    d = common.setup_distributed(cfg.device)
    if d.world > 1:
        raise UserError("chatrlhf ppo runs in one process; launch it without torchrun")
    if cfg.ptx_coef > 0 and ptx_data is None:
        raise UserError("ppo.ptx_coef > 0 needs --ptx-data (the pretraining corpus, e.g. world/corpus.txt)")
    run_dir.mkdir(parents=True, exist_ok=True)
    existing = common.latest_checkpoint(run_dir)
    if existing and not resume:
        raise UserError(f"{run_dir}: already holds checkpoints ({existing.name}); pass --resume to continue it")
    common.remove_stale_temporaries(run_dir)
    device, dtype = d.device, pick_dtype(cfg.dtype, d.device)

    rows = read_conversations(prompts, prompt=True)
    common.seed_everything(cfg.seed)  # a value head made fresh (no RM given) starts the same every run
    sft_ckpt = resolve_checkpoint(policy)
    tok = load_tokenizer(sft_ckpt)
    actor = load_model(existing or sft_ckpt, device)
    ref = freeze(load_model(sft_ckpt, device))
    check_tokenizer_matches(ref, tok, sft_ckpt)
    reward_fn, rm = make_reward(reward, tok, device, prompts, cfg.normalize_reward)
    gold_fn = gold_judge_for(prompts, rows)
    if existing:
        value = load_reward_model(existing / VALUE_DIR)[0]
    elif rm is not None:
        value = value_from_rm(reward, cfg.normalize_reward)  # a separate copy: the RM itself stays frozen
    else:
        value = reward_model_from_lm(sft_ckpt)
    value.to(device)
    no_dropout(actor, ref, value, *([rm] if rm is not None else []))
    windows = ptx_windows(tok, ptx_data, cfg.ptx_seq_len) if cfg.ptx_coef > 0 else None

    betas = (cfg.beta1, cfg.beta2)
    opt_policy = common.make_optimizer(actor, cfg.lr, cfg.weight_decay, betas)
    opt_value = common.make_optimizer(value, cfg.value_lr, cfg.weight_decay, betas)
    start, beta = 0, cfg.kl_coef
    if existing:
        state = common.load_trainer_state(existing)
        opt_policy.load_state_dict(state["optimizer"])
        opt_value.load_state_dict(state["value_optimizer"])
        start, beta = state["step"], state["kl_coef"]
        for name in ("metrics.jsonl", "samples.jsonl"):
            common.truncate_metrics(run_dir / name, start)
        log.info("resuming %s at iteration %d (beta %.4f)", run_dir, start, beta)
    if start >= cfg.iterations:
        return existing

    config_yaml = yaml.safe_dump({"ppo": asdict(cfg), "run": {"policy": str(sft_ckpt), "reward": reward,
                                                          "prompts": str(prompts), "ptx_data": str(ptx_data)}},
                                 sort_keys=False)
    (run_dir / "config.yaml").write_text(config_yaml)
    log.info("PPO%s of %s (%.2fM parameters) against %s on %d prompts: %d iterations of %d responses; device %s, %s",
             "-ptx" if windows is not None else "", sft_ckpt, count_params(actor) / 1e6, reward, len(rows),
             cfg.iterations, cfg.rollout_batch, device, str(dtype).removeprefix("torch."))
    metrics = common.Metrics(run_dir)
    bar = common.progress(cfg.iterations, start, True, "ppo")

    for it in range(start, cfg.iterations):
        t0 = time.perf_counter()
        lr_scale = common.cosine_lr(it, cfg.iterations, cfg.warmup_steps, 1.0, cfg.min_lr_ratio)
        common.set_lr(opt_policy, cfg.lr * lr_scale)
        common.set_lr(opt_value, cfg.value_lr * lr_scale)
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + it)
        batch_rows = [rows[i] for i in batch_indices(len(rows), cfg.rollout_batch, it, cfg.seed).tolist()]

        # 1. Sample one response per prompt from the current policy, from the full distribution.
        r = to_device(generate(actor, tok, batch_rows, cfg.max_new_tokens, cfg.temperature, gen), device)

        # 2. Score with the frozen reward model at the closing end-of-turn token; a response cut off at
        #    the length limit gets a fixed penalty instead (Huang et al.).
        raw = reward_fn(r)
        scores = with_no_eos_penalty(raw, r.finished.cpu(), cfg.no_eos_penalty) if cfg.penalize_no_eos else raw
        scores = scores.to(device)

        # 3. Per-token KL against the SFT reference, with the sampling temperature (InstructGPT eq. 2):
        #    reward_t = -beta * (log pi(y_t) - log pi_SFT(y_t)), plus the score at the last token.
        with autocast(device, dtype):
            old_logprobs = logprobs_of(actor, r, cfg.temperature)
            ref_logprobs = logprobs_of(ref, r, cfg.temperature)
            old_values = values_of(value, r)
        rewards, kl = kl_penalised_rewards(scores, old_logprobs, ref_logprobs, r.mask, beta)

        # 4. Advantages by GAE (gamma 1, lambda 0.95), whitened over the batch (Huang et al.).
        advantages, returns = gae(rewards, old_values, r.mask, cfg.gamma, cfg.lam)
        if cfg.whiten_advantages:
            advantages = masked_whiten(advantages, r.mask)

        # 5. Several epochs of clipped policy and value updates over shuffled minibatches (+ PPO-ptx).
        stats = update(actor, value, opt_policy, opt_value, r, old_logprobs, old_values, advantages, returns,
                       windows, cfg, it, gen, device, dtype)

        # 6. Adapt beta toward the KL target (Ziegler et al.), then log, sample and checkpoint.
        kl_per_response = kl.sum(-1).mean().item()
        if cfg.kl_target > 0:
            beta = adaptive_kl_coef(beta, kl_per_response, cfg.kl_target, cfg.kl_horizon, cfg.rollout_batch)
        done = it + 1
        record = {
            "score": scores.mean().item(), "rm_score": raw.mean().item(), "kl": kl_per_response, "kl_coef": beta,
            "response_length": r.lengths.mean().item(), "no_eos": 1 - r.finished.float().mean().item(),
            "explained_variance": explained_variance(old_values, returns, r.mask), **stats,
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if gold_fn is not None:
            record["gold_score"] = gold_fn(r).mean().item()
        warn_if_unhealthy(record, cfg, done, bar)
        if done % cfg.log_every == 0 or done == cfg.iterations:
            metrics.log(done, **record)
        bar.set_postfix(score=f"{record['score']:.2f}", kl=f"{record['kl']:.2f}",
                        **({"gold": f"{record['gold_score']:.2f}"} if "gold_score" in record else {}))
        if cfg.sample_every and (done % cfg.sample_every == 0 or done == 1):
            write_samples(run_dir / "samples.jsonl", done, r, scores, kl)
        if done % cfg.save_every == 0 or done == cfg.iterations:
            state = {"step": done, "optimizer": opt_policy.state_dict(), "value_optimizer": opt_value.state_dict(),
                     "kl_coef": beta}
            common.save_checkpoint(run_dir, done, actor, tok, state, config_yaml, cfg.keep_checkpoints,
                                   extra=lambda tmp: save_reward_model(value, tmp / VALUE_DIR, {"role": "PPO value model"}))
        bar.update(1)
        common.kill_if_requested(done)
    bar.close()
    metrics.close()
    return common.latest_checkpoint(run_dir)


def update(actor, value, opt_policy, opt_value, r: Rollout, old_logprobs, old_values, advantages, returns, windows,
           cfg, it: int, gen: torch.Generator, device, dtype) -> dict[str, float]:
    """PPO epochs over minibatches; returns the means of the losses and diagnostics."""
    train_policy = it >= cfg.value_warmup  # a value-only warm-up first, when asked
    sums: dict[str, float] = {}
    n = 0
    for epoch in range(cfg.ppo_epochs):
        order = torch.randperm(len(r.rows), generator=gen).to(r.ids.device)
        for k in range(0, len(order), cfg.minibatch_size):
            idx = order[k : k + cfg.minibatch_size]
            part, mask = select(r, idx), r.mask[idx]
            stats: dict[str, float] = {}
            if train_policy:
                with autocast(device, dtype):
                    logits = response_logits(actor, part, cfg.temperature)
                logprobs = token_logprobs(logits, response_tokens(part))
                p_loss, stats = policy_loss(logprobs, old_logprobs[idx], advantages[idx], mask, cfg.clip_range)
                stats["policy_loss"] = p_loss.item()
                stats["entropy"] = masked_mean(entropy(logits.detach()), mask).item()
                loss = p_loss
                if windows is not None:
                    step = (it * cfg.ppo_epochs + epoch) * (len(order) // cfg.minibatch_size) + k // cfg.minibatch_size
                    batch = windows[batch_indices(len(windows), cfg.ptx_batch, step, cfg.seed)].to(device)
                    with autocast(device, dtype):
                        ptx = lm_loss(actor, batch)
                    loss = loss + cfg.ptx_coef * ptx  # PPO-ptx: InstructGPT eq. 2, gamma * pretraining log-likelihood
                    stats["ptx_loss"] = ptx.item()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(actor.parameters(), cfg.grad_clip or float("inf"))
                opt_policy.step()
                opt_policy.zero_grad(set_to_none=True)

            with autocast(device, dtype):
                values = response_values(value, part)
            v_loss = value_loss(values, old_values[idx], returns[idx], mask, cfg.value_clip)
            v_loss.backward()
            torch.nn.utils.clip_grad_norm_(value.parameters(), cfg.grad_clip or float("inf"))
            opt_value.step()
            opt_value.zero_grad(set_to_none=True)

            for key, v in {"value_loss": v_loss.item(), **stats}.items():
                sums[key] = sums.get(key, 0.0) + v
            n += 1
    return {k: v / n for k, v in sums.items()}


def to_device(r: Rollout, device) -> Rollout:
    return Rollout(r.rows, r.texts, r.ids.to(device), r.attention_mask.to(device), r.position_ids.to(device),
                   r.mask.to(device), r.finished.to(device), r.prompt_width)


def warn_if_unhealthy(record: dict[str, float], cfg, iteration: int, bar) -> None:
    """Say so as it happens when the KL estimate goes negative or responses run to the length limit."""
    if record["kl"] < -0.5:
        bar.write(f"warning: iteration {iteration}: KL estimate {record['kl']:.2f} < 0; the sampler and the "
                  "recomputed logprobs disagree (temperature, top-k/top-p or dropout)")
    if record["no_eos"] > 0.5:
        bar.write(f"warning: iteration {iteration}: {record['no_eos']:.0%} of responses reach the {cfg.max_new_tokens}-token "
                  "limit without an end of turn; lengths are running away")


def write_samples(path: Path, iteration: int, r: Rollout, scores: torch.Tensor, kl: torch.Tensor, n: int = 4) -> None:
    """A few (prompt, response, score, KL) rows so a person can read what the policy does."""
    with path.open("a", encoding="utf-8") as f:
        for i in range(min(n, len(r.rows))):
            f.write(json.dumps({"step": iteration, "prompt": r.rows[i]["messages"][-1]["content"],
                                "response": r.texts[i], "score": round(scores[i].item(), 4),
                                "kl": round(kl[i].sum().item(), 4), "kind": r.rows[i]["meta"].get("kind")},
                               ensure_ascii=False) + "\n")
