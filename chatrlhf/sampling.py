"""Batched autoregressive sampling over a KV cache: the one generator every stage uses.

Prompts of different lengths are left-padded so that every row's next token sits in the last column;
position ids count real tokens only, so a padded row computes exactly what it would alone. Temperature
0 is greedy decoding and reproduces `model.generate(do_sample=False)` token for token.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache, PreTrainedModel

from chatrlhf.tokenizer import encode_chat, stop_token_ids


@dataclass
class Samples:
    """A batch of generations. Responses are right-padded; `mask` marks real tokens, stop token included."""

    prompt_ids: torch.Tensor  # (B, P) left-padded prompts
    prompt_mask: torch.Tensor  # (B, P) 1 on real prompt tokens
    response_ids: torch.Tensor  # (B, T) generated tokens, pad after the stop token
    mask: torch.Tensor  # (B, T) 1 on generated tokens up to and including the stop token
    finished: torch.Tensor  # (B,) True where a stop token was emitted within the limit

    def responses(self) -> list[list[int]]:
        """Generated ids per row, without the stop token."""
        out = []
        for ids, m, done in zip(self.response_ids.tolist(), self.mask.tolist(), self.finished.tolist(), strict=True):
            n = sum(m) - int(done)
            out.append(ids[:n])
        return out


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask) of shape (B, longest prompt), real tokens flush right."""
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token")
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.as_tensor(p, dtype=torch.long)
        mask[i, width - len(p) :] = 1
    return ids, mask


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set logits outside the top-k and outside the top-p nucleus to -inf (the most likely token survives)."""
    if top_k > 0 and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cum - sorted_logits.softmax(-1) >= top_p  # mass before this token already reaches p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def next_tokens(
    logits: torch.Tensor, temperature: float, top_k: int, top_p: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Greedy at temperature 0; else one draw per row from softmax(logits / temperature) after filtering.

    Drawn by inverting the CDF with one uniform number per row: exact, and far cheaper on CPU than
    `torch.multinomial`, which spends ~2 ms drawing a 16 x 4096 batch.
    """
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    if temperature != 1.0:  # dividing by 1 changes nothing but costs a pass over (B, vocab)
        logits = logits / temperature
    probs = filter_logits(logits, top_k, top_p).softmax(-1)
    cdf = probs.cumsum(-1)
    u = torch.rand(len(probs), 1, generator=generator, device=probs.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp_(max=probs.size(-1) - 1)


# ---- the fast path for Llama-architecture models -------------------------------------------------------
# The same arithmetic as transformers' LlamaForCausalLM, without its per-step mask building and cache
# bookkeeping: a static KV buffer per layer, q/k/v in one matmul, one additive mask, and the whole decoding
# loop compiled with TorchScript. At the sizes trained here per-op overhead, not FLOPs, bounds decoding.
# Other models take the generic path through their own forward.


def has_fast_path(model: PreTrainedModel) -> bool:
    c = model.config
    return (
        type(model).__name__ == "LlamaForCausalLM"
        and c.hidden_act == "silu"
        and getattr(c, "rope_parameters", {}).get("rope_type", "default") == "default"
        and not getattr(c, "attention_bias", False)
    )


class _LlamaDecoder:
    """The fused weights, rotary tables and static KV cache of one `sample` call, and the decoding step.
    A TorchScript class, so that the whole decoding loop below compiles and Python runs once per call."""

    def __init__(
        self,
        embed: torch.Tensor,
        qkv: list[torch.Tensor],
        o_proj: list[torch.Tensor],
        gate_up: list[torch.Tensor],
        down: list[torch.Tensor],
        norm1: list[torch.Tensor],
        norm2: list[torch.Tensor],
        norm_f: torch.Tensor,
        lm_head: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        key_mask: torch.Tensor,
        heads: int,
        kv_heads: int,
        scale: float,
        eps: float,
    ):
        # Projections keep the model's (out, in) layout, and a decoding step works on transposed activations,
        # (hidden, B): W @ x with a few columns is ~1.3x faster in MKL than x @ W.T with a few rows (16 x 128
        # by 128 x 2429: 91 against 134 us). An RMSNorm's weight scales the inputs of the projection after
        # it, so it is folded into that projection's columns: W @ (w * x) == (W * w) @ x, one op fewer per norm.
        self.qkv = [w * n for w, n in zip(qkv, norm1, strict=True)]
        self.gate_up = [w * n for w, n in zip(gate_up, norm2, strict=True)]
        self.o_proj, self.down = o_proj, down
        self.embed, self.lm_head = embed, lm_head * norm_f
        self.cos, self.sin, self.key_mask = cos, sin, key_mask
        self.heads, self.kv_heads, self.scale, self.eps = heads, kv_heads, scale, eps
        batch, max_len, d = key_mask.size(0), key_mask.size(1), cos.size(-1)
        shape = [batch, kv_heads, max_len, d]
        # Uninitialised: attention reads only slots already written (prefill writes every prompt column, padding
        # included), and zeroing the cache cost ~2% of a call.
        self.k = [torch.empty(shape, dtype=embed.dtype, device=embed.device) for _ in qkv]
        self.v = [torch.empty(shape, dtype=embed.dtype, device=embed.device) for _ in qkv]
        # Decoding sees the caches as (B * kv_heads, slots, d) views for batched matmuls.
        self.k_flat = [k.view(batch * kv_heads, max_len, d) for k in self.k]
        self.v_flat = [v.view(batch * kv_heads, max_len, d) for v in self.v]
        # The decoding mask, additive, one row per (batch, kv head) and built once.
        self.additive = torch.zeros(key_mask.shape, dtype=embed.dtype, device=embed.device).masked_fill_(
            key_mask == 0, float("-inf")).repeat_interleave(kv_heads, 0)[:, None]
        # rotate_half(x) * sin == cat(x2, x1) * signed_sin, exactly: one negation per call, not per layer and step.
        signed_sin = torch.cat([-sin[:, : d // 2], sin[:, d // 2 :]], -1)
        self.cos_t, self.signed_sin_t = cos.t().contiguous(), signed_sin.t().contiguous()  # (d, slots)

    def step(self, ids: torch.Tensor, positions: torch.Tensor, start: int) -> torch.Tensor:
        """Logits of the last position after feeding `ids` (B, S) at cache slots start..start+S."""
        s = ids.size(1)
        if s == 1:
            return self.decode_step(ids[:, 0], positions[:, 0], start)
        end = start + s
        x = torch.nn.functional.embedding(ids, self.embed)
        # Causal within the new tokens; a query always sees itself so padded rows stay finite.
        causal = torch.ones([s, end], dtype=torch.bool, device=ids.device).tril(start)
        itself = causal & ~causal.tril(start - 1)
        visible = ((self.key_mask[:, None, None, :end] != 0) & causal) | itself
        mask = torch.zeros(visible.shape, dtype=x.dtype, device=x.device).masked_fill_(~visible, float("-inf"))
        cos, sin = self.cos[positions].unsqueeze(1), self.sin[positions].unsqueeze(1)
        return self.prefill(x, cos, sin, mask, start)

    def prefill(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor, start: int
                ) -> torch.Tensor:
        """Logits of the last position after running embeddings `x` (B, S, H) through every layer, writing
        keys and values into cache slots start..start+S. Decoding takes `decode_step`."""
        b, s = x.size(0), x.size(1)
        heads, kv_heads = self.heads, self.kv_heads
        end = start + s
        d = self.k[0].size(-1)
        half = d // 2
        inter = self.down[0].size(1)
        for i in range(len(self.qkv)):
            y = torch.nn.functional.linear(self.rms_norm(x, -1), self.qkv[i])
            qk = y[..., : (heads + kv_heads) * d].view(b, s, heads + kv_heads, d).transpose(1, 2)
            qk = qk * cos + torch.cat((-qk[..., half:], qk[..., :half]), -1) * sin  # rotary on q and k in one pass
            self.k[i][:, :, start:end] = qk[:, heads:]
            self.v[i][:, :, start:end] = y[..., (heads + kv_heads) * d :].view(b, s, kv_heads, d).transpose(1, 2)
            a = torch.nn.functional.scaled_dot_product_attention(
                qk[:, :heads], self.k[i][:, :, :end], self.v[i][:, :, :end], attn_mask=mask, scale=self.scale,
                enable_gqa=kv_heads != heads,
            )
            x = x + torch.nn.functional.linear(a.transpose(1, 2).reshape(b, s, heads * d), self.o_proj[i])
            g = torch.nn.functional.linear(self.rms_norm(x, -1), self.gate_up[i])
            x = x + torch.nn.functional.linear(torch.nn.functional.silu(g[..., :inter]) * g[..., inter:], self.down[i])
        return torch.nn.functional.linear(self.rms_norm(x[:, -1], -1), self.lm_head)

    def decode_step(self, ids: torch.Tensor, positions: torch.Tensor, pos: int) -> torch.Tensor:
        """`step` for one token per row (B,) at cache slot `pos`, on transposed activations (hidden, B) and
        attention as two batched matmuls. The prefill's general path costs ~40 small ops a layer more, and at
        these sizes a decode step is bound by per-op overhead and small-matmul efficiency, not FLOPs."""
        b, kv, d = ids.size(0), self.kv_heads, self.cos.size(-1)
        group, half, nqk = self.heads // kv, d // 2, (self.heads + kv) * d
        inter = self.down[0].size(1)
        x = torch.nn.functional.embedding(ids, self.embed).t().contiguous()
        cos, sin = self.cos_t[:, positions], self.signed_sin_t[:, positions]  # (d, B)
        mask = self.additive[:, :, : pos + 1]
        for i in range(len(self.qkv)):
            y = torch.mm(self.qkv[i], self.rms_norm(x, 0))
            qk = y[:nqk].view(self.heads + kv, d, b)
            qk = qk * cos + torch.cat((qk[:, half:], qk[:, :half]), 1) * sin  # rotary on q and k at once
            self.k[i][:, :, pos] = qk[self.heads :].permute(2, 0, 1)
            self.v[i][:, :, pos] = y[nqk:].view(kv, d, b).permute(2, 0, 1)
            q = qk[: self.heads].permute(2, 0, 1).reshape(b * kv, group, d)
            k, v = self.k_flat[i][:, : pos + 1], self.v_flat[i][:, : pos + 1]
            scores = torch.baddbmm(mask, q, k.transpose(1, 2), alpha=self.scale)
            a = torch.bmm(scores.softmax(-1), v).view(b, self.heads * d)
            x = torch.addmm(x, self.o_proj[i], a.t())
            g = torch.mm(self.gate_up[i], self.rms_norm(x, 0))
            x = torch.addmm(x, self.down[i], torch.nn.functional.silu(g[:inter]) * g[inter:])
        return torch.mm(self.lm_head, self.rms_norm(x, 0)).t()

    def rms_norm(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """transformers' LlamaRMSNorm op for op (fp32) over `dim` (0 for transposed activations), without its
        weight, which the next projection holds; cheaper than torch.rms_norm on CPU."""
        return x * torch.rsqrt(x.pow(2).mean(dim, keepdim=True) + self.eps)


def _llama_decoder(model: PreTrainedModel, key_mask: torch.Tensor) -> _LlamaDecoder:
    """A decoder over the model's current weights (fused anew each call: training changes them)."""
    c = model.config
    m = model.model
    attns = [layer.self_attn for layer in m.layers]
    mlps = [layer.mlp for layer in m.layers]
    w = m.embed_tokens.weight
    # cos/sin for every position this call can reach, from the model's own rotary module.
    cos, sin = m.rotary_emb(w[:1, None], torch.arange(key_mask.size(1), device=w.device)[None])
    return _LlamaDecoder(
        w,
        [torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]) for a in attns],
        [a.o_proj.weight for a in attns],
        [torch.cat([f.gate_proj.weight, f.up_proj.weight]) for f in mlps],
        [f.down_proj.weight for f in mlps],
        [layer.input_layernorm.weight for layer in m.layers],
        [layer.post_attention_layernorm.weight for layer in m.layers],
        m.norm.weight,
        model.lm_head.weight,
        cos[0],
        sin[0],
        key_mask,
        c.num_attention_heads,
        c.num_key_value_heads,
        float(attns[0].scaling),
        float(c.rms_norm_eps),
    )


class _HFDecoder:
    """The generic path: the model's own forward over a transformers DynamicCache."""

    def __init__(self, model: PreTrainedModel, key_mask: torch.Tensor):
        self.model = model
        self.key_mask = key_mask
        self.cache = DynamicCache(config=model.config)

    def step(self, ids: torch.Tensor, positions: torch.Tensor, start: int) -> torch.Tensor:
        out = self.model(
            input_ids=ids,
            attention_mask=self.key_mask[:, : start + ids.size(1)],
            position_ids=positions,
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1]


def _decode(
    decoder: _LlamaDecoder,
    prompt_ids: torch.Tensor,
    positions: torch.Tensor,
    max_new_tokens: int,
    stop: torch.Tensor,
    pad_id: int,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Generated tokens (B, n), pad after each row's stop token; n < max_new_tokens once every row stopped.

    Scripted for `_LlamaDecoder`; the generic path runs it eagerly with an `_HFDecoder`, whose `step` is alike.
    """
    batch = prompt_ids.size(0)
    out = torch.full([batch, max_new_tokens], pad_id, dtype=torch.long, device=prompt_ids.device)
    finished = torch.zeros([batch], dtype=torch.bool, device=prompt_ids.device)
    inputs, start, n = prompt_ids, 0, 0
    for n in range(max_new_tokens):
        logits = decoder.step(inputs, positions, start)
        token = next_tokens(logits, temperature, top_k, top_p, generator)
        token = torch.where(finished, pad_id, token)
        out[:, n] = token
        finished |= torch.isin(token, stop)
        if bool(finished.all()):
            break
        start += inputs.size(1)
        inputs = token[:, None]
        positions = positions[:, -1:] + 1
    return out[:, : n + 1]


@functools.cache
def _scripted_decode() -> Callable:
    """The decoding loop over a `_LlamaDecoder`, TorchScript-compiled. TorchScript is deprecated in recent
    torch but still the cheapest way to cut per-op overhead on CPU (torch.compile costs ~30 s a shape here);
    where it fails, the loop runs eagerly."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(_decode)
    except Exception as e:  # noqa: BLE001  (any scripting failure means: run it eagerly)
        warnings.warn(f"sampling runs eagerly, ~1.3x slower: TorchScript failed ({e})", RuntimeWarning, stacklevel=2)
        return _decode


def _start(model: PreTrainedModel, prompts: Sequence[Sequence[int]], max_new_tokens: int, stop_ids: Sequence[int],
           pad_id: int, fast: bool | None) -> tuple:
    """What a decoding call starts from: the decoder (fast or generic), left-padded prompts, their mask, the
    position ids of the last prompt column onwards, and the stop ids as a tensor."""
    device = next(model.parameters()).device
    prompt_ids, prompt_mask = left_pad(prompts, pad_id)
    prompt_ids, prompt_mask = prompt_ids.to(device), prompt_mask.to(device)
    stop = torch.as_tensor(list(stop_ids), dtype=torch.long, device=device)
    # Key mask over every cache slot: prompt padding is 0, generated slots are 1.
    key_mask = torch.cat([prompt_mask, prompt_mask.new_ones(len(prompts), max_new_tokens)], dim=1)
    use_fast = fast if fast is not None else has_fast_path(model)
    decoder = _llama_decoder(model, key_mask) if use_fast else _HFDecoder(model, key_mask)
    positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
    return decoder, prompt_ids, prompt_mask, positions, stop


@torch.inference_mode()  # lighter than no_grad per op; outputs are token ids, never differentiated
def sample(
    model: PreTrainedModel,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    stop_ids: Sequence[int],
    pad_id: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    fast: bool | None = None,
) -> Samples:
    """Generate up to `max_new_tokens` for each prompt (token ids), stopping a row at any of `stop_ids`.

    `fast=None` takes the Llama fast path where the model allows it; False forces the model's own forward.
    """
    was_training = model.training
    model.eval()  # no dropout while sampling, whatever the caller's mode
    decoder, prompt_ids, prompt_mask, positions, stop = _start(model, prompts, max_new_tokens, stop_ids, pad_id, fast)
    decode = _scripted_decode() if isinstance(decoder, _LlamaDecoder) else _decode
    response = decode(decoder, prompt_ids, positions, max_new_tokens, stop, pad_id, float(temperature), top_k,
                      float(top_p), generator)
    # Real tokens: everything up to the first stop token (inclusive), or all when none was emitted.
    is_stop = torch.isin(response, stop).long()
    before_stop = (is_stop.cumsum(-1) - is_stop) == 0
    finished = is_stop.any(-1)
    model.train(was_training)
    return Samples(prompt_ids, prompt_mask, response, before_stop.long(), finished)


@torch.inference_mode()  # applied around each resumption of the generator, not across the caller's code
def stream(
    model: PreTrainedModel,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    stop_ids: Sequence[int],
    pad_id: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    fast: bool | None = None,
    pick: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Iterator[torch.Tensor]:
    """`sample` one step at a time, for streaming: yields each step's tokens (B,), `pad_id` once a row has
    stopped, and ends when every row has stopped or after `max_new_tokens` steps. Stacked, the steps are
    `sample(...).response_ids` for the same arguments and generator.

    The loop is `_decode`'s, run from Python so that each token can leave as soon as it is drawn (Python once
    per token rather than once per call). `pick(logits) -> tokens` replaces the draw, e.g. to give each request
    of a shared batch its own temperature and generator.
    """
    was_training = model.training
    model.eval()
    try:
        decoder, inputs, _, positions, stop = _start(model, prompts, max_new_tokens, stop_ids, pad_id, fast)
        finished = torch.zeros(len(prompts), dtype=torch.bool, device=inputs.device)
        start = 0
        for _ in range(max_new_tokens):
            logits = decoder.step(inputs, positions, start)
            token = pick(logits) if pick else next_tokens(logits, temperature, top_k, top_p, generator)
            token = torch.where(finished, pad_id, token)
            finished |= torch.isin(token, stop)
            yield token
            if bool(finished.all()):
                return
            start += inputs.size(1)
            inputs = token[:, None]
            positions = positions[:, -1:] + 1
    finally:
        model.train(was_training)


# ---- log-probabilities of sampled tokens: RL's ratios and KL, and the evaluation's KL --------------------


def joined(s: Samples) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prompts and responses as one (B, P + T) batch: ids, attention mask, and position ids that count real
    tokens only (so a padded row computes what it would alone)."""
    ids = torch.cat([s.prompt_ids, s.response_ids], dim=1)
    attention_mask = torch.cat([s.prompt_mask, s.mask], dim=1)
    return ids, attention_mask, (attention_mask.cumsum(-1) - 1).clamp(min=0)


def response_logits(model: PreTrainedModel, ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor,
                    prompt_width: int, temperature: float) -> torch.Tensor:
    """Logits (B, T, V) that predicted each token after the first `prompt_width`, divided by the sampling
    temperature as the sampler divided them (a mismatch shows up as a negative KL)."""
    logits = model(input_ids=ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False).logits
    return logits[:, prompt_width - 1 : -1].float() / temperature


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log softmax(logits) at `tokens`: (B, T, V), (B, T) -> (B, T)."""
    return torch.gather(torch.log_softmax(logits, dim=-1), 2, tokens[..., None]).squeeze(-1)


@torch.no_grad()
def response_logprobs(model: PreTrainedModel, ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor,
                      prompt_width: int, temperature: float, batch_size: int = 64) -> torch.Tensor:
    """Log-probabilities (B, T) under `model` of the tokens after `prompt_width`, in batches, without gradients.
    Positions after a row's stop token hold junk: multiply by the response mask."""
    out = []
    for i in range(0, len(ids), batch_size):
        rows = slice(i, i + batch_size)
        logits = response_logits(model, ids[rows], attention_mask[rows], position_ids[rows], prompt_width, temperature)
        out.append(token_logprobs(logits, ids[rows, prompt_width:]))
    return torch.cat(out)


def chat_answers(model: PreTrainedModel, tok, rows: Sequence[dict], max_new_tokens: int, temperature: float = 0.0,
                 generator: torch.Generator | None = None, batch_size: int = 64) -> list[str]:
    """The assistant's answer to each conversation row (`{"messages": [...]}` ending with a user turn), decoded
    without special tokens; greedy by default."""
    stop = stop_token_ids(tok)
    answers = []
    for i in range(0, len(rows), batch_size):
        ids = [encode_chat(tok, r["messages"], add_generation_prompt=True)[0] for r in rows[i : i + batch_size]]
        out = sample(model, ids, max_new_tokens=max_new_tokens, stop_ids=stop, pad_id=tok.pad_token_id,
                     temperature=temperature, generator=generator)
        answers += [tok.decode(a, skip_special_tokens=True).strip() for a in out.responses()]
    return answers
