"""Step 0 end to end through the CLI: loss falls, checkpoints load with transformers, resume is exact
(also after SIGKILL between checkpoints), and two processes under torchrun match one."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.conftest import ROOT, TINY, run_cli, sets


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "latest" / "model.safetensors"))


def pretrain(corpus: Path, tok: Path, out: Path, *extra: str, env: dict | None = None, check: bool = True):
    return run_cli(
        "pretrain", "--data", str(corpus), "--tokenizer", str(tok), "--out", str(out), *sets(*TINY), *extra, env=env, check=check
    )


def test_loss_falls_and_checkpoint_loads_with_transformers(corpus, tokenizer_dir, tmp_path):
    run = tmp_path / "run"
    pretrain(corpus, tokenizer_dir, run, *sets("pretrain.max_steps=40", "pretrain.save_every=20", "pretrain.eval_every=10"))
    m = metrics(run)
    val = [r["val_loss"] for r in m if "val_loss" in r]
    assert len(val) == 4
    assert val[-1] < val[0], val
    assert val[-1] < math.log(320) - 1.0, val  # a uniform guess scores log(320) = 5.77
    assert [r["step"] for r in m if "loss" in r] == list(range(1, 41))
    assert all(r["tokens_per_s"] > 0 for r in m if "loss" in r)
    # Checkpoints: step-20 and step-40 kept, latest -> step-40, config saved beside them.
    assert sorted(p.name for p in run.glob("step-*")) == ["step-000020", "step-000040"]
    assert os.readlink(run / "latest") == "step-000040"
    assert "max_steps: 40" in (run / "config.yaml").read_text()
    model = AutoModelForCausalLM.from_pretrained(run / "latest")
    tok = AutoTokenizer.from_pretrained(run / "latest")
    assert model.config.vocab_size == len(tok) == 320
    ids = tok("The cat", return_tensors="pt").input_ids
    assert model(ids).logits.shape == (1, ids.shape[1], 320)


def test_resume_after_sigkill_matches_uninterrupted_run(corpus, tokenizer_dir, tmp_path):
    steps = sets("pretrain.max_steps=12", "pretrain.save_every=6", "model.dropout=0.1")  # dropout: RNG must resume too
    full = tmp_path / "full"
    pretrain(corpus, tokenizer_dir, full, *steps)

    # Killed right after the checkpoint at step 6, and killed at step 9, between checkpoints.
    for kill_at in (6, 9):
        run = tmp_path / f"killed-{kill_at}"
        proc = pretrain(corpus, tokenizer_dir, run, *steps, env={"CHATRLHF_KILL_AT_STEP": str(kill_at)}, check=False)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        assert os.readlink(run / "latest") == "step-000006"
        assert not (run / "step-000012").exists()
        pretrain(corpus, tokenizer_dir, run, "--resume")
        assert os.readlink(run / "latest") == "step-000012"
        a, b = weights(full), weights(run)
        assert a.keys() == b.keys()
        for name in a:
            assert torch.equal(a[name], b[name]), f"{name} differs after resuming from a kill at step {kill_at}"
        # The resumed run's log is the uninterrupted one's: no duplicated or missing steps.
        assert [(r["step"], r.get("loss")) for r in metrics(run)] == [(r["step"], r.get("loss")) for r in metrics(full)]


def test_existing_run_is_never_overwritten(corpus, tokenizer_dir, tmp_path):
    run = tmp_path / "run"
    pretrain(corpus, tokenizer_dir, run, *sets("pretrain.max_steps=2"))
    before = (run / "latest" / "model.safetensors").read_bytes()
    proc = pretrain(corpus, tokenizer_dir, run, *sets("pretrain.max_steps=4"), check=False)
    assert proc.returncode == 2
    assert f"error: {run}: already holds checkpoints (step-000002); pass --resume to continue it" in proc.stderr
    assert (run / "latest" / "model.safetensors").read_bytes() == before


def test_two_processes_match_one(corpus, tokenizer_dir, tmp_path):
    """Same global batch (8 = 2 processes x 2 micro-batches x 2) and seed: the same loss curve and weights.
    In fp32: under bf16 autocast (auto on AVX512-BF16 CPUs) the single process's micro-batches of 4 and the
    ranks' of 2 round differently, and Adam turns that into weight differences of ~3e-3 after 8 steps."""
    args = ["--data", str(corpus), "--tokenizer", str(tokenizer_dir)]
    args += sets(*TINY, "pretrain.max_steps=8", "pretrain.grad_accum=2", "pretrain.dtype=float32")
    single = tmp_path / "single"
    run_cli("pretrain", "--out", str(single), *args)
    ddp = tmp_path / "ddp"
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "chatrlhf.cli", "pretrain", "--out", str(ddp), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    one = [r["loss"] for r in metrics(single) if "loss" in r]
    two = [r["loss"] for r in metrics(ddp) if "loss" in r]
    assert len(one) == len(two) == 8
    assert two == pytest.approx(one, rel=1e-4, abs=1e-5)
    assert one[-1] < one[0]
    val_one = [r["val_loss"] for r in metrics(single) if "val_loss" in r]
    val_two = [r["val_loss"] for r in metrics(ddp) if "val_loss" in r]
    assert len(val_one) == 2 and val_two == pytest.approx(val_one, rel=1e-4)
    a, b = weights(single), weights(ddp)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-3, atol=1e-4)
    # Only rank 0 wrote: one metrics file, one set of checkpoints.
    assert sorted(p.name for p in ddp.glob("step-*")) == ["step-000008"]
