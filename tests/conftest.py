"""Shared fixtures: a small corpus from the repo, a tiny tokenizer and the tiny model/training settings."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import chatrlhf  # noqa: F401  (flush-denormal)
from chatrlhf.tokenizer import save_tokenizer, train_tokenizer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "examples" / "corpus.txt"

# A model of ~0.1M parameters and a schedule that takes a second or two per run.
TINY = [
    "model.hidden_size=48",
    "model.num_layers=2",
    "model.num_heads=4",
    "model.num_kv_heads=2",
    "model.intermediate_size=128",
    "pretrain.seq_len=32",
    "pretrain.batch_size=8",
    "pretrain.warmup_steps=2",
    "pretrain.lr=3e-3",
    "pretrain.log_every=1",
    "pretrain.eval_every=4",
    "pretrain.eval_batches=2",
]


def sets(*items: str) -> list[str]:
    """--set arguments for the CLI."""
    return [arg for item in items for arg in ("--set", item)]


def run_cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m chatrlhf.cli ARGS` as a user would; output captured."""
    full_env = {k: v for k, v in os.environ.items() if k != "CHATRLHF_KILL_AT_STEP"}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    proc = subprocess.run(
        [sys.executable, "-m", "chatrlhf.cli", *args], capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"chatrlhf {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def attention_dropouts(model) -> list[float]:
    """The dropout of each attention layer of `model` and of each config in it."""
    from transformers import PreTrainedModel

    return [m.config.attention_dropout if isinstance(m, PreTrainedModel) else m.attention_dropout
            for m in model.modules() if isinstance(m, PreTrainedModel) or hasattr(m, "attention_dropout")]


@contextlib.contextmanager
def live_server(app) -> Iterator[str]:
    """Serve the ASGI `app` with uvicorn in a thread on a free port of 127.0.0.1; yields its URL, stopped on exit."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """About 20k characters of the example corpus."""
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text(CORPUS.read_text()[:20_000])
    return path


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, corpus) -> Path:
    path = tmp_path_factory.mktemp("tok")
    save_tokenizer(train_tokenizer([corpus.read_text()], vocab_size=320), path)
    return path


@pytest.fixture(scope="session")
def tiny_lm(tokenizer_dir):
    """A random ~0.1M Llama in eval mode, and its tokenizer. Never trained by a test: share it read-only."""
    import torch

    from chatrlhf.config import ModelConfig
    from chatrlhf.model import build_model
    from chatrlhf.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer_dir)
    torch.manual_seed(0)
    # A large init std gives peaked, varied next-token distributions instead of one repeated token.
    cfg = ModelConfig(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=128, init_std=0.3)
    return build_model(cfg, tok).eval(), tok
