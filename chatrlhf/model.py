"""The model: a small Llama built from `ModelConfig`, or any local Hugging Face causal-LM directory.

Every checkpoint is a directory that `AutoModelForCausalLM.from_pretrained` and
`AutoTokenizer.from_pretrained` load as is. A run directory holds several `step-N/` checkpoints and a
`latest` link; `resolve_checkpoint` turns a run directory into the checkpoint it means.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from chatrlhf.config import ModelConfig, UserError
from chatrlhf.tokenizer import END, EOS, encode_chat

log = logging.getLogger(__name__)
hf_logging.disable_progress_bar()  # transformers' per-load and per-save bars are noise beside ours


class CheckpointError(UserError):
    """A model directory that cannot be used; the message names the path and what was expected."""


def resolve_checkpoint(path: str | Path) -> Path:
    """`path` itself if it is a model directory, else the run's selected checkpoint (`best`, which SFT
    picks by held-out loss) or its last one (`latest`)."""
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    for link in ("best", "latest"):
        if (path / link).exists():
            return (path / link).resolve()
    if not path.exists():
        raise CheckpointError(f"{path}: no such model directory")
    raise CheckpointError(f"{path}: not a model directory (no config.json) and not a run directory (no latest/)")


def build_model(cfg: ModelConfig, tok: PreTrainedTokenizerBase) -> LlamaForCausalLM:
    """A freshly initialised Llama sized by `cfg`, with the vocabulary and special ids of `tok`."""
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_seq_len,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta},
        attention_dropout=cfg.dropout,
        tie_word_embeddings=cfg.tie_embeddings,
        initializer_range=cfg.init_std,
        rms_norm_eps=1e-5,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.convert_tokens_to_ids(EOS),
        eos_token_id=tok.convert_tokens_to_ids(END),
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.convert_tokens_to_ids(END)
    return model


def load_model(path: str | Path, device: str | torch.device = "cpu") -> PreTrainedModel:
    """Load a causal LM from a local directory in fp32 (the master weights), with a clear error if broken."""
    path = resolve_checkpoint(path)
    weights = list(path.glob("*.safetensors")) + list(path.glob("pytorch_model*.bin"))
    if not weights:
        raise CheckpointError(f"{path}: no model weights (*.safetensors) in this checkpoint")
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    except Exception as e:  # safetensors, json and shape errors all mean the same to a user
        raise CheckpointError(f"{path}: cannot load model: {type(e).__name__}: {e}") from None
    return model.to(device)


def set_attention_dropout(model: torch.nn.Module, p: float) -> torch.nn.Module:
    """Attention dropout `p` in every attention layer of `model` (a causal LM, backbone or reward model), and in
    its config so that a saved checkpoint says what was used. Setting the config alone changes nothing: each
    transformers attention layer copies `config.attention_dropout` when it is built."""
    for m in model.modules():
        if isinstance(m, PreTrainedModel):
            m.config.attention_dropout = p
        elif isinstance(getattr(m, "attention_dropout", None), int | float):  # the rate, as Llama's layers keep it
            m.attention_dropout = p
    return model


def check_tokenizer_matches(model: PreTrainedModel, tok: PreTrainedTokenizerBase, where: str | Path) -> None:
    """Stop early when a tokenizer and a model were not made for each other."""
    n_emb = model.get_input_embeddings().num_embeddings
    if len(tok) > n_emb:
        raise CheckpointError(
            f"{where}: tokenizer has {len(tok)} tokens but the model's embedding has {n_emb} rows; "
            "they were not trained together (pass the tokenizer saved with this model)"
        )


def count_params(model: torch.nn.Module) -> int:
    """Parameters counted once even when tied (the LM head shares the embedding)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


# ---- devices and precision ------------------------------------------------------------------------------


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CheckpointError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    return torch.device(name)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 matmuls in hardware (AVX512-BF16 or AMX); elsewhere bf16 is emulated
    and far slower than fp32 (measured 0.8 vs 107 GFLOP/s on an AVX2-only EPYC)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """The dtype that matmuls run in under autocast; master weights and optimizer stay fp32."""
    if name == "float32":
        return torch.float32
    if name == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# ---- reward (and later value) model: a transformer backbone with a scalar head ---------------------------

REWARD_HEAD = "reward_head.safetensors"
REWARD_INFO = "reward_model.json"


class RewardModel(torch.nn.Module):
    """The LM's transformer (no LM head) and a linear head giving one score per sequence, read at a given
    position (the end-of-turn token closing the response)."""

    def __init__(self, backbone: PreTrainedModel, head: torch.nn.Linear | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head or torch.nn.Linear(backbone.config.hidden_size, 1)
        if head is None:
            torch.nn.init.normal_(self.head.weight, std=1 / (backbone.config.hidden_size + 1) ** 0.5)
            torch.nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Scores (B,) of right-padded sequences `ids` (B, T), read at positions `last` (B,)."""
        hidden = self.backbone(input_ids=ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        return self.head(hidden[torch.arange(len(ids), device=ids.device), last]).squeeze(-1)

    def token_values(self, ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        """The head read at every position (B, T): PPO's value model is a reward model used this way."""
        hidden = self.backbone(input_ids=ids, attention_mask=attention_mask, position_ids=position_ids,
                               use_cache=False).last_hidden_state
        return self.head(hidden).squeeze(-1)


def encode_answers(tok: PreTrainedTokenizerBase, prompt: list[dict], responses: list[str], max_len: int) -> list[list[int]]:
    """Token ids of prompt + each answer, ending with the answer's closing <|end|> (kept when cutting)."""
    return [encode_chat(tok, [*prompt, {"role": "assistant", "content": r}])[0][-max_len:] for r in responses]


def pad_right(seqs: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids, attention mask, index of each sequence's last token)."""
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    last = torch.tensor([len(s) - 1 for s in seqs])
    return ids.to(device), mask.to(device), last.to(device)


@torch.no_grad()
def score_texts(rm: RewardModel, seqs: list[list[int]], pad_id: int, device, batch_size: int = 64) -> torch.Tensor:
    rm.eval()
    out = [rm(*pad_right(seqs[i : i + batch_size], pad_id, device)) for i in range(0, len(seqs), batch_size)]
    return torch.cat(out).float().cpu()


def reward_model_from_lm(path: str | Path) -> RewardModel:
    """A reward model whose backbone is the causal LM at `path` (the SFT model) and whose head is new."""
    from transformers import AutoModel

    path = resolve_checkpoint(path)
    try:
        backbone = AutoModel.from_pretrained(str(path), dtype=torch.float32)
    except Exception as e:
        raise CheckpointError(f"{path}: cannot load a backbone: {type(e).__name__}: {e}") from None
    return RewardModel(backbone)


def save_reward_model(model: RewardModel, out: str | Path, info: dict) -> None:
    """The backbone in transformers format plus our head and its normalisation; see `load_reward_model`."""
    from safetensors.torch import save_file

    out = Path(out)
    model.backbone.save_pretrained(str(out))
    save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, str(out / REWARD_HEAD))
    info = {**info, "how_to_load": "backbone = AutoModel.from_pretrained(dir); head = nn.Linear(hidden_size, 1) with "
            f"weights from {REWARD_HEAD}; score = head(last_hidden_state at the response's closing <|end|> token)"}
    (out / REWARD_INFO).write_text(json.dumps(info, indent=1) + "\n")


def load_reward_model(path: str | Path) -> tuple[RewardModel, dict]:
    from safetensors.torch import load_file
    from transformers import AutoModel

    path = resolve_checkpoint(path)
    if not (path / REWARD_HEAD).is_file():
        raise CheckpointError(f"{path}: no {REWARD_HEAD}; not a reward model (train one with `chatrlhf reward`)")
    try:
        backbone = AutoModel.from_pretrained(str(path), dtype=torch.float32)
        head = torch.nn.Linear(backbone.config.hidden_size, 1)
        head.load_state_dict(load_file(str(path / REWARD_HEAD)))
        info = json.loads((path / REWARD_INFO).read_text())
    except Exception as e:
        raise CheckpointError(f"{path}: cannot load reward model: {type(e).__name__}: {e}") from None
    return RewardModel(backbone, head), info
