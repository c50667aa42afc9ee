"""Hyper-parameters: one dataclass per stage, with YAML files and `--set section.key=value` overrides.

A config file is YAML with one mapping per section, e.g.

    model:
      hidden_size: 256
    pretrain:
      lr: 2.0e-3

Every key is checked against its dataclass: an unknown key or a value of the wrong type stops the run
with one line that names the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml


class UserError(ValueError):
    """Bad input from the user (a file, a flag, a config value): shown as one line, never a traceback."""


class ConfigError(UserError):
    """A config value that cannot be used; the message names the key and what was expected."""


# A numeric (or enumerated) field's valid range sits in its type: `batch_size: PosInt = 32`. `validate` checks every
# field against it after each override, and a test fails when a numeric field has none or has no comment.
Rule = tuple[typing.Callable[[Any], bool], str]  # (test, what was expected)


def more_than(n: int) -> Rule:
    return (lambda v: v > n, f"an integer > {n}")


def at_least(n: int, why: str = "") -> Rule:
    return (lambda v: v >= n, f"an integer >= {n}{f' ({why})' if why else ''}")


def between(lo: float, hi: float) -> Rule:
    return (lambda v: lo <= v <= hi, f"a number in [{lo:g}, {hi:g}]")


def one_of(*values: str) -> Rule:
    return (lambda v: v in values, f"one of {', '.join(values)}")


PosInt = Annotated[int, (lambda v: v > 0, "a positive integer")]
NonNegInt = Annotated[int, (lambda v: v >= 0, "an integer >= 0")]
PosFloat = Annotated[float, (lambda v: v > 0, "a positive number")]
NonNegFloat = Annotated[float, (lambda v: v >= 0, "a number >= 0")]
Fraction = Annotated[float, between(0, 1)]
BelowOne = Annotated[float, (lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")]
HoldOut = Annotated[float, (lambda v: 0.0 < v < 0.5, "a number in (0, 0.5)")]
Mass = Annotated[float, (lambda v: 0.0 < v <= 1.0, "a number in (0, 1]")]
Finite = Annotated[float, (math.isfinite, "a finite number")]
Seed = Annotated[int, (lambda v: v >= 0, "an integer >= 0")]
Device = Annotated[str, one_of("auto", "cpu", "cuda")]
DType = Annotated[str, one_of("auto", "float32", "bfloat16")]
VocabSize = Annotated[int, at_least(300, "256 bytes plus special tokens")]
Pooling = Annotated[str, one_of("mean", "last")]
ApiTemperature = Annotated[float, between(0, 2)]


@dataclass
class ModelConfig:
    """A small Llama-architecture decoder (about 4M parameters with the default 4096-token vocabulary)."""

    init_from: str = ""  # a local Hugging Face causal-LM directory to start from; empty builds from the sizes below
    hidden_size: PosInt = 256  # width of the residual stream
    num_layers: PosInt = 4  # transformer blocks
    num_heads: PosInt = 4  # attention heads
    num_kv_heads: PosInt = 4  # key/value heads (fewer than num_heads gives grouped-query attention)
    intermediate_size: PosInt = 704  # SwiGLU hidden width (about 8/3 of hidden_size, rounded to 64)
    max_seq_len: PosInt = 512  # longest sequence the rotary embedding is set up for
    rope_theta: PosFloat = 10000.0  # rotary embedding base
    dropout: BelowOne = 0.0  # attention dropout; RL turns it off whatever this says
    tie_embeddings: bool = True  # share input embedding and LM head: saves vocab x hidden parameters
    init_std: PosFloat = 0.02  # std of the normal weight initialisation


@dataclass
class TokenizerConfig:
    """Byte-level BPE trained with the `tokenizers` library."""

    vocab_size: VocabSize = 4096  # target size incl. special tokens; a small corpus may stop below it
    min_frequency: PosInt = 2  # a pair must occur this often to be merged


@dataclass
class PretrainConfig:
    """Step 0: next-token prediction on packed text."""

    seq_len: Annotated[int, more_than(1)] = 128  # tokens per packed training sequence
    batch_size: PosInt = 32  # sequences per optimizer step, summed over all processes
    grad_accum: PosInt = 1  # micro-batches per optimizer step on each process
    max_steps: PosInt = 2000  # optimizer steps
    lr: PosFloat = 2e-3  # peak learning rate (small models take large rates)
    min_lr_ratio: Fraction = 0.1  # cosine decays to lr * min_lr_ratio
    warmup_steps: NonNegInt = 100  # linear warmup from 0 to lr
    weight_decay: NonNegFloat = 0.1  # AdamW decoupled weight decay on matrices (not norms or biases)
    beta1: BelowOne = 0.9  # AdamW beta1
    beta2: BelowOne = 0.95  # AdamW beta2
    grad_clip: NonNegFloat = 1.0  # clip the global gradient norm to this (0 turns clipping off)
    val_fraction: HoldOut = 0.05  # share of the token stream held out for validation
    reading_share: Fraction = 0.0  # share of each batch from the generated reading stream (world/reading.py); 0: --data only
    reading_lang: str = "en"  # language of the reading stream's documents
    probe_items: NonNegInt = 64  # held-out reading-probe questions answered greedily at each evaluation (with reading_share > 0)
    eval_every: PosInt = 200  # steps between held-out loss evaluations
    eval_batches: PosInt = 8  # batches averaged for one held-out loss
    save_every: PosInt = 500  # steps between checkpoints (one is always written at the end)
    keep_checkpoints: PosInt = 2  # older step-* directories are deleted once a newer one is in place
    log_every: PosInt = 10  # steps between metrics.jsonl lines
    seed: Seed = 1337  # seeds init, data order and dropout
    device: Device = "auto"  # auto | cpu | cuda
    dtype: DType = "auto"  # auto | float32 | bfloat16 (auto: bf16 autocast where the hardware computes it natively)


@dataclass
class SampleConfig:
    """Decoding settings of the shared sampler."""

    max_new_tokens: PosInt = 128  # stop after this many generated tokens
    temperature: NonNegFloat = 1.0  # 0 means greedy decoding
    top_k: NonNegInt = 0  # keep the k most likely tokens (0 keeps all)
    top_p: Mass = 1.0  # nucleus sampling mass (1.0 keeps all)
    seed: Seed = 0  # seeds the sampling RNG


@dataclass
class SFTConfig:
    """Step 1: supervised fine-tuning on demonstrations, loss on assistant tokens only."""

    epochs: PosInt = 16  # passes over the demonstrations (InstructGPT: 16, choosing the checkpoint afterwards)
    batch_size: PosInt = 16  # conversations per optimizer step, summed over all processes
    grad_accum: PosInt = 1  # micro-batches per optimizer step on each process
    max_len: Annotated[int, more_than(8)] = 256  # longer conversations keep their first max_len tokens
    lr: PosFloat = 3e-4  # peak learning rate
    min_lr_ratio: Fraction = 0.0  # cosine decays to lr * min_lr_ratio (InstructGPT: cosine to 0)
    warmup_steps: NonNegInt = 10  # linear warmup
    weight_decay: NonNegFloat = 0.0  # AdamW weight decay on matrices
    beta1: BelowOne = 0.9  # AdamW beta1
    beta2: BelowOne = 0.95  # AdamW beta2
    grad_clip: NonNegFloat = 1.0  # global gradient-norm clip (0 turns it off)
    dropout: BelowOne = 0.0  # attention dropout while fine-tuning (InstructGPT used 0.2 residual dropout at scale)
    val_fraction: HoldOut = 0.1  # share of demonstrations held out for the loss that selects the checkpoint
    eval_prompts: NonNegInt = 64  # held-out prompts the gold judge scores after each epoch (0 turns it off)
    eval_max_new_tokens: PosInt = 64  # answer length limit when judging
    keep_checkpoints: PosInt = 3  # newest epoch checkpoints kept (the best one is always kept)
    log_every: PosInt = 10  # steps between metrics.jsonl lines
    seed: Seed = 1337  # seeds the split, data order and dropout
    device: Device = "auto"  # auto | cpu | cuda
    dtype: DType = "auto"  # auto | float32 | bfloat16


@dataclass
class RewardConfig:
    """Step 2: a reward model from rankings of K answers per prompt."""

    epochs: PosInt = 1  # passes over the rankings (InstructGPT: 1; more overfits)
    batch_size: PosInt = 8  # prompts per optimizer step; all K answers of a prompt form ONE batch element
    max_len: Annotated[int, more_than(8)] = 256  # prompt + answer tokens kept (from the end, so the closing <|end|> stays)
    lr: PosFloat = 1e-4  # peak learning rate (InstructGPT's 6B RM: 9e-6; small models take larger)
    min_lr_ratio: Fraction = 0.0  # cosine decays to lr * min_lr_ratio
    warmup_steps: NonNegInt = 5  # linear warmup
    weight_decay: NonNegFloat = 0.0  # AdamW weight decay on matrices
    beta1: BelowOne = 0.9  # AdamW beta1
    beta2: BelowOne = 0.95  # AdamW beta2
    grad_clip: NonNegFloat = 1.0  # global gradient-norm clip
    val_fraction: HoldOut = 0.1  # share of ranked prompts held out for accuracy and calibration
    log_every: PosInt = 10  # steps between metrics.jsonl lines
    seed: Seed = 1337  # seeds the split and the order
    device: Device = "auto"  # auto | cpu | cuda


@dataclass
class PPOConfig:
    """Step 3: PPO against the reward model under a per-token KL penalty, optionally with PPO-ptx."""

    iterations: PosInt = 100  # rollout-and-update rounds
    rollout_batch: PosInt = 32  # prompts sampled per iteration (one response each)
    minibatch_size: PosInt = 16  # responses per gradient step
    ppo_epochs: PosInt = 2  # passes over each rollout batch (Huang et al.: 4; fewer is cheaper on a CPU)
    max_new_tokens: PosInt = 48  # response length limit; a response cut here gets no_eos_penalty
    temperature: PosFloat = 1.0  # sampling temperature, applied identically when logprobs are recomputed
    lr: PosFloat = 3e-5  # policy learning rate (5e-5 collapsed a weak SFT model in docs/design.md 5a)
    value_lr: PosFloat = 1e-4  # value model learning rate
    warmup_steps: NonNegInt = 0  # linear warmup, in iterations
    min_lr_ratio: Fraction = 1.0  # cosine decays to lr * min_lr_ratio over the iterations (1.0: constant)
    weight_decay: NonNegFloat = 0.0  # AdamW weight decay on matrices
    beta1: BelowOne = 0.9  # AdamW beta1
    beta2: BelowOne = 0.95  # AdamW beta2
    grad_clip: NonNegFloat = 1.0  # global gradient-norm clip, each model separately
    clip_range: PosFloat = 0.2  # epsilon of the clipped policy objective (Schulman et al. 2017)
    value_clip: PosFloat = 0.2  # value predictions are clipped to this distance from the rollout's values
    gamma: Fraction = 1.0  # GAE discount (Huang et al.: 1)
    lam: Fraction = 0.95  # GAE lambda (Huang et al.: 0.95)
    kl_coef: NonNegFloat = 0.05  # beta: per-token KL penalty against the SFT model (InstructGPT eq. 2)
    kl_target: NonNegFloat = 0.0  # adaptive beta steers the KL per response toward this (0: beta stays fixed; Ziegler: 6)
    kl_horizon: PosInt = 10000  # adaptive controller horizon, in responses (Ziegler et al.)
    penalize_no_eos: bool = True  # a response with no end of turn within the limit scores no_eos_penalty (Huang et al.)
    no_eos_penalty: Finite = -1.0  # that fixed score, on the normalised scale (demonstrations score 0)
    normalize_reward: bool = True  # divide RM scores by the std saved with the RM (demonstrations score 0)
    whiten_advantages: bool = True  # advantages to mean 0, std 1 over each rollout batch
    ptx_coef: NonNegFloat = 0.0  # gamma of PPO-ptx: weight of the pretraining LM loss (0: plain PPO)
    ptx_batch: PosInt = 8  # pretraining windows per policy minibatch when ptx_coef > 0
    ptx_seq_len: Annotated[int, more_than(1)] = 128  # tokens per pretraining window
    value_warmup: NonNegInt = 0  # iterations that train only the value model before the policy moves
    sample_every: NonNegInt = 10  # iterations between samples written to samples.jsonl (0: never)
    save_every: PosInt = 20  # iterations between checkpoints (and always at the end)
    keep_checkpoints: PosInt = 2  # newest checkpoints kept
    log_every: PosInt = 1  # iterations between metrics.jsonl lines
    seed: Seed = 1337  # seeds prompt order, sampling and the ptx windows
    device: Device = "auto"  # auto | cpu | cuda
    dtype: DType = "auto"  # auto | float32 | bfloat16


@dataclass
class ModerationConfig:
    """Moderation: a multi-label classifier over OpenAI's 13 categories on a backbone we trained."""

    pooling: Pooling = "mean"  # mean | last: last-layer states averaged over the text, or read at the closing <|end|>
    train_backbone: bool = True  # fine-tune the transformer with the head (False: only the head learns; far worse)
    epochs: PosInt = 10  # passes over the training texts; the epoch with the lowest validation loss is kept
    batch_size: PosInt = 16  # texts per optimizer step
    max_len: Annotated[int, more_than(2)] = 128  # a longer text is scored on its first max_len tokens
    lr: PosFloat = 1e-3  # peak learning rate
    min_lr_ratio: Fraction = 0.0  # cosine decays to lr * min_lr_ratio
    warmup_steps: NonNegInt = 10  # linear warmup
    weight_decay: NonNegFloat = 0.0  # AdamW weight decay on matrices
    beta1: BelowOne = 0.9  # AdamW beta1
    beta2: BelowOne = 0.95  # AdamW beta2
    grad_clip: NonNegFloat = 1.0  # global gradient-norm clip (0 turns it off)
    val_fraction: HoldOut = 0.2  # share of training templates (meta.group) held out to choose the thresholds
    default_threshold: Fraction = 0.5  # threshold of a category with no validation example
    seed: Seed = 1337  # seeds the validation split, the head's init and the data order
    device: Device = "auto"  # auto | cpu | cuda


@dataclass
class ServeConfig:
    """The terminal chat and the OpenAI-compatible server (`chatrlhf chat`, `chatrlhf serve`)."""

    max_batch: PosInt = 32  # answers decoded together: requests waiting when a batch starts join it
    max_tokens: PosInt = 256  # answer length limit when a request names none (never past the model's context)
    temperature: ApiTemperature = 1.0  # when a request names none (OpenAI's default); the terminal chat's temperature
    top_p: Mass = 1.0  # nucleus mass when a request names none
    seed: Seed = 0  # seeds the terminal chat's sampling (an API request seeds itself with its `seed`)
    device: Device = "auto"  # auto | cpu | cuda
    threads: NonNegInt = 0  # CPU threads for decoding (0: all cores but one, which the HTTP event loop needs)


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "tokenizer": TokenizerConfig,
    "pretrain": PretrainConfig,
    "sft": SFTConfig,
    "reward": RewardConfig,
    "sample": SampleConfig,
    "ppo": PPOConfig,
    "moderation": ModerationConfig,
    "serve": ServeConfig,
}


def field_rules(cls: type) -> dict[str, Rule]:
    """The valid range of each field of a config dataclass that declares one in its type."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {name: hint.__metadata__[0] for name, hint in hints.items() if typing.get_origin(hint) is Annotated}


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(key: str, value: Any, typ: Any) -> Any:
    """Return `value` as `typ`, or raise ConfigError naming `key`. Strings from --set are parsed as YAML."""
    if isinstance(value, str) and typ is float:
        try:  # YAML 1.1 reads "3e-3" as a string; Python's float does not
            number = float(value)
        except ValueError:
            number = None
        if number is not None:
            if not math.isfinite(number):
                raise ConfigError(f"config key '{key}': expected a finite number, got {value!r}")
            return number
    if isinstance(value, str) and typ is not str:
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise ConfigError(f"config key '{key}': cannot parse {value!r}: {e}") from None
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None:
            return None
        typ = args[0]
    if typ is bool:
        if isinstance(value, bool):
            return value
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif typ is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif typing.get_origin(typ) is list:
        if isinstance(value, list):
            return value
    else:
        return value
    name = getattr(typ, "__name__", str(typ))
    raise ConfigError(f"config key '{key}': expected {name}, got {value!r}")


def _set(section_obj: Any, section: str, key: str, value: Any) -> None:
    types_ = _field_types(type(section_obj))
    if key not in types_:
        valid = ", ".join(sorted(types_))
        raise ConfigError(f"unknown config key '{section}.{key}'; valid keys of '{section}': {valid}")
    setattr(section_obj, key, _coerce(f"{section}.{key}", value, types_[key]))


def _section(cfg: dict[str, Any], section: str) -> Any:
    if section not in cfg:
        raise ConfigError(f"unknown config section '{section}'; valid sections here: {', '.join(cfg)}")
    return cfg[section]


def load_config(
    sections: list[str],
    config_file: str | Path | None = None,
    overrides: list[str] | None = None,
    base: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Defaults of `sections`, updated by `base` (a saved run's config), a YAML file and then
    `section.key=value` strings, in that order; validated."""
    cfg = {name: SECTIONS[name]() for name in sections}
    for section, values in (base or {}).items():
        if section in cfg:
            for key, value in values.items():
                _set(cfg[section], section, key, value)
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections ({', '.join(cfg)}), got {type(data).__name__}")
        for section, values in data.items():
            obj = _section(cfg, section)
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: section '{section}' must be a mapping of keys to values")
            for key, value in values.items():
                _set(obj, section, key, value)
    for item in overrides or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. pretrain.lr=1e-3")
        dotted, value = item.split("=", 1)
        section, key = dotted.split(".", 1)
        _set(_section(cfg, section), section, key, value)
    validate(cfg)
    return cfg


def validate(cfg: dict[str, Any]) -> None:
    """Check value ranges and cross-field rules; raise ConfigError naming the key."""
    for section, obj in cfg.items():
        for key, rule in field_rules(type(obj)).items():
            if not rule[0](getattr(obj, key)):
                raise ConfigError(f"config key '{section}.{key}': expected {rule[1]}, got {getattr(obj, key)!r}")
    if "ppo" in cfg and cfg["ppo"].rollout_batch % cfg["ppo"].minibatch_size:
        p = cfg["ppo"]
        raise ConfigError(
            f"config key 'ppo.minibatch_size': must divide ppo.rollout_batch={p.rollout_batch}, got {p.minibatch_size}"
        )
    if "model" in cfg:
        m = cfg["model"]
        if m.hidden_size % m.num_heads:
            raise ConfigError(
                f"config key 'model.num_heads': must divide model.hidden_size={m.hidden_size}, got {m.num_heads}"
            )
        if m.num_heads % m.num_kv_heads:
            raise ConfigError(
                f"config key 'model.num_kv_heads': must divide model.num_heads={m.num_heads}, got {m.num_kv_heads}"
            )


def to_dict(cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: dataclasses.asdict(obj) for name, obj in cfg.items()}


def save_config(cfg: dict[str, Any], path: str | Path, extra: dict[str, Any] | None = None) -> None:
    """Write the resolved config as YAML (plus run facts such as the command's paths)."""
    data = to_dict(cfg)
    if extra:
        data["run"] = extra
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))


def field_comments(cls: type) -> dict[str, str]:
    """The comment beside each field of a config dataclass, read from its source."""
    comments = {}
    for line in inspect.getsource(cls).splitlines():
        name, _, rest = line.strip().partition(":")
        if "#" in rest and name.isidentifier():
            comments[name] = rest.split("#", 1)[1].strip()
    return comments


def describe(section: str) -> str:
    """Defaults of one section as commented YAML (the dataclass's own comments), for `chatrlhf config`."""
    cls = SECTIONS[section]
    comments = field_comments(cls)
    lines = [f"{section}:"]
    for key, value in dataclasses.asdict(cls()).items():
        rendered = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        lines.append(f"  {key}: {rendered}  # {comments.get(key, '')}".rstrip(" #"))
    return "\n".join(lines) + "\n"


__all__ = [
    "UserError",
    "ConfigError",
    "ModelConfig",
    "TokenizerConfig",
    "PretrainConfig",
    "SampleConfig",
    "SFTConfig",
    "RewardConfig",
    "SECTIONS",
    "load_config",
    "validate",
    "save_config",
    "describe",
]
