"""Config loading: defaults, YAML files, `--set` overrides, validation messages and `describe`."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chatrlhf.config import (
    SECTIONS,
    ConfigError,
    ModelConfig,
    PPOConfig,
    PretrainConfig,
    SampleConfig,
    SFTConfig,
    TokenizerConfig,
    UserError,
    describe,
    field_comments,
    field_rules,
    load_config,
)


def write_yaml(tmp_path, text: str, name: str = "cfg.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- defaults ---------------------------------------------------------------------------------------------


def test_defaults_load_for_every_section():
    cfg = load_config(list(SECTIONS))
    assert list(cfg) == ["model", "tokenizer", "pretrain", "sft", "reward", "sample", "ppo", "moderation", "serve"]
    assert cfg["model"] == ModelConfig()
    assert cfg["tokenizer"] == TokenizerConfig()
    assert cfg["pretrain"] == PretrainConfig()
    assert cfg["sample"] == SampleConfig()
    assert cfg["sft"] == SFTConfig()
    assert cfg["ppo"] == PPOConfig() and cfg["ppo"].clip_range == 0.2 and cfg["ppo"].lam == 0.95
    assert cfg["model"].hidden_size == 256
    assert cfg["pretrain"].lr == 2e-3


def test_only_requested_sections_are_built():
    cfg = load_config(["pretrain"])
    assert list(cfg) == ["pretrain"]
    assert isinstance(cfg["pretrain"], PretrainConfig)


def test_config_error_is_a_user_error():
    with pytest.raises(UserError):
        load_config(["model"], overrides=["model.hidden_size=abc"])


# --- YAML file --------------------------------------------------------------------------------------------


def test_yaml_file_overrides_defaults(tmp_path):
    path = write_yaml(
        tmp_path,
        "model:\n  hidden_size: 128\n  tie_embeddings: false\npretrain:\n  lr: 0.0005\n  device: cpu\n",
    )
    cfg = load_config(["model", "pretrain"], config_file=path)
    assert cfg["model"].hidden_size == 128
    assert cfg["model"].tie_embeddings is False
    assert cfg["pretrain"].lr == 0.0005
    assert cfg["pretrain"].device == "cpu"
    # untouched keys keep their defaults
    assert cfg["model"].num_layers == ModelConfig().num_layers
    assert cfg["pretrain"].batch_size == PretrainConfig().batch_size


def test_yaml_int_for_float_key_becomes_float(tmp_path):
    path = write_yaml(tmp_path, "pretrain:\n  grad_clip: 2\n")
    cfg = load_config(["pretrain"], config_file=path)
    assert cfg["pretrain"].grad_clip == 2.0
    assert isinstance(cfg["pretrain"].grad_clip, float)


def test_yaml_file_exponent_without_dot_is_a_float(tmp_path):
    # YAML 1.1 (PyYAML) reads 3e-3 as a string; the config must still take it as a float
    path = write_yaml(tmp_path, "pretrain:\n  lr: 3e-3\n  min_lr_ratio: 5e-1\n")
    cfg = load_config(["pretrain"], config_file=path)
    assert cfg["pretrain"].lr == 0.003
    assert cfg["pretrain"].min_lr_ratio == 0.5


def test_empty_yaml_file_gives_defaults(tmp_path):
    path = write_yaml(tmp_path, "")
    assert load_config(["model"], config_file=path)["model"] == ModelConfig()


def test_missing_config_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as e:
        load_config(["model"], config_file=path)
    assert str(e.value) == f"{path}: config file not found"


def test_invalid_yaml_file_names_the_file(tmp_path):
    path = write_yaml(tmp_path, "model: [unclosed\n")
    with pytest.raises(ConfigError) as e:
        load_config(["model"], config_file=path)
    assert str(e.value).startswith(f"{path}: not valid YAML")


def test_config_file_that_is_not_a_mapping(tmp_path):
    path = write_yaml(tmp_path, "- model\n- pretrain\n")
    with pytest.raises(ConfigError) as e:
        load_config(["model", "pretrain"], config_file=path)
    assert str(e.value) == f"{path}: expected a mapping of sections (model, pretrain), got list"


def test_config_file_section_that_is_not_a_mapping(tmp_path):
    path = write_yaml(tmp_path, "model: 3\n")
    with pytest.raises(ConfigError) as e:
        load_config(["model"], config_file=path)
    assert str(e.value) == f"{path}: section 'model' must be a mapping of keys to values"


def test_unknown_key_in_file(tmp_path):
    path = write_yaml(tmp_path, "model:\n  hidden: 128\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'model\.hidden'"):
        load_config(["model"], config_file=path)


def test_unknown_section_in_file(tmp_path):
    path = write_yaml(tmp_path, "ppo:\n  lr: 0.1\n")
    with pytest.raises(ConfigError) as e:
        load_config(["model", "pretrain"], config_file=path)
    assert str(e.value) == "unknown config section 'ppo'; valid sections here: model, pretrain"


# --- --set overrides --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "section", "key", "expected"),
    [
        ("model.num_layers=7", "model", "num_layers", 7),
        ("pretrain.lr=0.001", "pretrain", "lr", 0.001),
        ("pretrain.lr=1.0e-3", "pretrain", "lr", 0.001),
        ("pretrain.lr=1e-3", "pretrain", "lr", 0.001),
        ("pretrain.lr=3E-4", "pretrain", "lr", 0.0003),
        ("pretrain.weight_decay=1e2", "pretrain", "weight_decay", 100.0),
        ("pretrain.lr=3", "pretrain", "lr", 3.0),
        ("model.dropout=0.25", "model", "dropout", 0.25),
        ("model.tie_embeddings=false", "model", "tie_embeddings", False),
        ("model.tie_embeddings=true", "model", "tie_embeddings", True),
        ("pretrain.device=cpu", "pretrain", "device", "cpu"),
        ("model.init_from=some/dir=with=equals", "model", "init_from", "some/dir=with=equals"),
        ("sample.temperature=0", "sample", "temperature", 0.0),
    ],
)
def test_set_overrides_are_parsed(item, section, key, expected):
    cfg = load_config(["model", "pretrain", "sample"], overrides=[item])
    value = getattr(cfg[section], key)
    assert value == expected
    assert type(value) is type(expected)


def test_later_override_wins():
    cfg = load_config(["model"], overrides=["model.num_layers=2", "model.num_layers=6"])
    assert cfg["model"].num_layers == 6


def test_precedence_base_then_file_then_overrides(tmp_path):
    base = {
        "model": {"hidden_size": 128, "num_layers": 2, "intermediate_size": 320},
        "pretrain": {"lr": 0.01},
        "run": {"out": "somewhere"},  # a saved run's extra section is ignored
    }
    path = write_yaml(tmp_path, "model:\n  num_layers: 3\n  intermediate_size: 384\npretrain:\n  lr: 0.02\n")
    cfg = load_config(["model", "pretrain"], config_file=path, overrides=["model.intermediate_size=512"], base=base)
    assert cfg["model"].hidden_size == 128  # base only
    assert cfg["model"].num_layers == 3  # file beats base
    assert cfg["pretrain"].lr == 0.02  # file beats base
    assert cfg["model"].intermediate_size == 512  # override beats file and base
    assert "run" not in cfg


def test_unknown_key_exact_message():
    with pytest.raises(ConfigError) as e:
        load_config(["sample"], overrides=["sample.topk=5"])
    assert str(e.value) == (
        "unknown config key 'sample.topk'; valid keys of 'sample': max_new_tokens, seed, temperature, top_k, top_p"
    )


def test_unknown_key_lists_every_valid_key():
    with pytest.raises(ConfigError) as e:
        load_config(["pretrain"], overrides=["pretrain.learning_rate=0.1"])
    msg = str(e.value)
    assert "'pretrain.learning_rate'" in msg
    for field in dataclasses.fields(PretrainConfig):
        assert field.name in msg


def test_unknown_section_names_valid_sections():
    with pytest.raises(ConfigError) as e:
        load_config(["model", "sample"], overrides=["modle.hidden_size=64"])
    assert str(e.value) == "unknown config section 'modle'; valid sections here: model, sample"


def test_ill_typed_value_exact_message():
    with pytest.raises(ConfigError) as e:
        load_config(["model"], overrides=["model.hidden_size=abc"])
    assert str(e.value) == "config key 'model.hidden_size': expected int, got 'abc'"


@pytest.mark.parametrize(
    ("item", "key"),
    [
        ("model.hidden_size=1.5", "model.hidden_size"),
        ("model.num_layers=true", "model.num_layers"),
        ("model.tie_embeddings=1", "model.tie_embeddings"),
        ("pretrain.lr=fast", "pretrain.lr"),
        ("pretrain.lr=true", "pretrain.lr"),
        ("pretrain.lr=", "pretrain.lr"),
    ],
)
def test_ill_typed_values_name_the_key(item, key):
    with pytest.raises(ConfigError, match=rf"config key '{key}': expected "):
        load_config(["model", "pretrain"], overrides=[item])


@pytest.mark.parametrize(
    ("item", "key"),
    [
        ("pretrain.lr=-1", "pretrain.lr"),
        ("pretrain.lr=0", "pretrain.lr"),
        ("model.dropout=1.5", "model.dropout"),
        ("model.dropout=1.0", "model.dropout"),
        ("sample.top_p=0", "sample.top_p"),
        ("sample.top_p=1.01", "sample.top_p"),
        ("pretrain.seq_len=1", "pretrain.seq_len"),
        ("pretrain.val_fraction=0.5", "pretrain.val_fraction"),
        ("pretrain.device=tpu", "pretrain.device"),
        ("tokenizer.vocab_size=299", "tokenizer.vocab_size"),
        ("model.hidden_size=0", "model.hidden_size"),
        ("sample.temperature=-0.1", "sample.temperature"),
    ],
)
def test_out_of_range_values_name_the_key(item, key):
    with pytest.raises(ConfigError, match=rf"^config key '{key}': expected "):
        load_config(list(SECTIONS), overrides=[item])


def test_out_of_range_exact_message():
    with pytest.raises(ConfigError) as e:
        load_config(["pretrain"], overrides=["pretrain.lr=-1"])
    assert str(e.value) == "config key 'pretrain.lr': expected a positive number, got -1.0"


def test_boundary_values_are_accepted():
    cfg = load_config(
        list(SECTIONS),
        overrides=["model.dropout=0", "sample.top_p=1", "tokenizer.vocab_size=300", "pretrain.seq_len=2"],
    )
    assert cfg["model"].dropout == 0.0
    assert cfg["sample"].top_p == 1.0
    assert cfg["tokenizer"].vocab_size == 300
    assert cfg["pretrain"].seq_len == 2


def test_out_of_range_value_in_file_is_rejected(tmp_path):
    path = write_yaml(tmp_path, "model:\n  dropout: 1.5\n")
    with pytest.raises(ConfigError, match=r"config key 'model\.dropout'"):
        load_config(["model"], config_file=path)


def test_num_heads_must_divide_hidden_size():
    with pytest.raises(ConfigError) as e:
        load_config(["model"], overrides=["model.num_heads=3"])
    assert str(e.value) == "config key 'model.num_heads': must divide model.hidden_size=256, got 3"


def test_num_kv_heads_must_divide_num_heads():
    with pytest.raises(ConfigError, match=r"config key 'model\.num_kv_heads'"):
        load_config(["model"], overrides=["model.num_heads=8", "model.num_kv_heads=3"])


def test_grouped_query_attention_is_accepted():
    cfg = load_config(["model"], overrides=["model.num_heads=8", "model.num_kv_heads=2"])
    assert (cfg["model"].num_heads, cfg["model"].num_kv_heads) == (8, 2)


@pytest.mark.parametrize("item", ["pretrain.lr", "pretrain_lr=0.1", "lr=0.1", ""])
def test_malformed_set_is_rejected(item):
    with pytest.raises(ConfigError) as e:
        load_config(["pretrain"], overrides=[item])
    assert str(e.value) == f"--set {item!r}: expected section.key=value, e.g. pretrain.lr=1e-3"


# --- describe ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", list(SECTIONS))
def test_describe_is_yaml_with_the_defaults(section):
    text = describe(section)
    assert yaml.safe_load(text) == {section: dataclasses.asdict(SECTIONS[section]())}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_describe_comments_every_key(section):
    lines = describe(section).splitlines()
    assert lines[0] == f"{section}:"
    keys = [f.name for f in dataclasses.fields(SECTIONS[section])]
    assert len(lines) == 1 + len(keys)
    for key, line in zip(keys, lines[1:], strict=True):
        assert line.startswith(f"  {key}: ")
        value_part, sep, comment = line.partition("  # ")
        assert sep, f"no comment on {line!r}"
        assert comment.strip(), f"empty comment on {line!r}"


def test_describe_pretrain_output_round_trips_through_load_config(tmp_path):
    path = write_yaml(tmp_path, describe("pretrain"))
    assert load_config(["pretrain"], config_file=path)["pretrain"] == PretrainConfig()


# --- property ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_num_layers_override_property(n):
    item = f"model.num_layers={n}"
    if n > 0:
        assert load_config(["model"], overrides=[item])["model"].num_layers == n
    else:
        with pytest.raises(ConfigError, match=r"model\.num_layers"):
            load_config(["model"], overrides=[item])


def test_every_numeric_field_declares_its_range_and_a_comment():
    """A field is declared once, with its range in its type and its meaning in a comment: a new numeric field
    without either fails here, and so does a default outside its own range."""
    for section, cls in SECTIONS.items():
        comments, rules = field_comments(cls), field_rules(cls)
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            assert comments.get(f.name), f"{key}: no comment"
            if typing.get_type_hints(cls)[f.name] in (int, float):
                assert f.name in rules, f"{key}: no valid range in its type"
            if f.name in rules:
                test, expected = rules[f.name]
                assert test(f.default), f"{key}: default {f.default!r} is not {expected}"


def test_a_range_in_a_fields_type_is_enforced():
    with pytest.raises(ConfigError) as e:
        load_config(["ppo"], overrides=["ppo.gamma=1.5"])
    assert str(e.value) == "config key 'ppo.gamma': expected a number in [0, 1], got 1.5"
    with pytest.raises(ConfigError) as e:
        load_config(["moderation"], overrides=["moderation.pooling=max"])
    assert str(e.value) == "config key 'moderation.pooling': expected one of mean, last, got 'max'"


def test_a_stage_checks_a_config_built_in_python(tmp_path):
    """`train_sft(SFTConfig(epochs=0), ...)` stops with the error `--set sft.epochs=0` gives, before reading a file."""
    from chatrlhf.config import ModerationConfig, RewardConfig
    from chatrlhf.moderation import train_moderation
    from chatrlhf.train.ppo import train_ppo
    from chatrlhf.train.pretrain import train_pretrain
    from chatrlhf.train.reward import train_reward
    from chatrlhf.train.sft import train_sft

    missing = tmp_path / "missing"
    cases = [
        (lambda: train_sft(SFTConfig(epochs=0), missing, missing, tmp_path / "o1"),
         "'sft.epochs': expected a positive integer, got 0"),
        (lambda: train_reward(RewardConfig(lr=-1.0), missing, missing, tmp_path / "o2"), "'reward.lr': expected a positive"),
        (lambda: train_ppo(PPOConfig(gamma=2.0), missing, "judge", missing, tmp_path / "o3"),
         "'ppo.gamma': expected a number in [0, 1]"),
        (lambda: train_moderation(ModerationConfig(pooling="max"), missing, missing, tmp_path / "o4"), "'moderation.pooling'"),
        (lambda: train_pretrain(PretrainConfig(), [missing], tmp_path / "o5", ModelConfig(num_heads=3)), "'model.num_heads'"),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError) as e:
            call()
        assert message in str(e.value)
