"""One model behind a queue, for the terminal chat and the API.

Requests (jobs) wait in a queue; a worker thread takes every job waiting when it is free and decodes them
together as one batch with the streaming sampler, and each answer leaves as text pieces as soon as they
can be shown:

- tokens of two requests never mix: a job owns rows of the batch (one per answer, n for n answers) and its
  pieces go only to its own `emit`;
- each job draws with its own temperature, top-p and generator (its seed), so an answer does not depend on
  what shares its batch (up to float rounding in batched matmuls);
- a piece is shown only when it is final: no trailing half of a UTF-8 character, nothing that may be the
  start of a stop string, and, with a moderation model, nothing that makes the answer so far flagged
  (the answer then ends with a note instead, finish reason `content_filter`).

A job that arrives while a batch runs waits for the next batch (static batching, not continuous).
"""

from __future__ import annotations

import copy
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from chatrlhf.config import ServeConfig
from chatrlhf.model import check_tokenizer_matches, load_model, pick_device, resolve_checkpoint
from chatrlhf.moderation import Moderation, load_moderation, moderate
from chatrlhf.sampling import next_tokens, stream
from chatrlhf.tokenizer import answer_text, encode_chat, load_tokenizer, shown_text, stop_token_ids

log = logging.getLogger("chatrlhf.serve")


@dataclass
class Piece:
    """New text of one answer of a job; the answer's last piece carries its finish reason."""

    index: int  # which of the job's n answers
    text: str
    finish_reason: str | None = None  # stop | length | content_filter | error, on the last piece only
    tokens: int = 0  # tokens the model generated for the answer, its closing <|end|> included (last piece)


@dataclass
class Job:
    """One request: `n` answers to one prompt (token ids of the rendered conversation)."""

    prompt: list[int]
    max_tokens: int  # answer length limit in tokens
    emit: Callable[[Piece], None] | None = None  # called from the worker thread with each piece
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)  # strings that end an answer (not shown)
    generator: torch.Generator | None = None  # the job's own random stream: a seed makes it reproducible
    cancelled: bool = False  # set by a caller that stopped listening: its answers end without another piece


@dataclass
class _Answer:
    """Decoding state of one row of a batch."""

    job: Job
    index: int
    ids: list[int] = field(default_factory=list)  # generated tokens, the stop token excluded
    tokens: int = 0  # generated tokens, the stop token included
    shown: int = 0  # characters already emitted
    done: bool = False


def flagged_categories(result: dict) -> list[str]:
    """The categories a moderation result flags, in the classifier's order."""
    return [c for c, hit in result["categories"].items() if hit]


def refusal(categories: Sequence[str]) -> str:
    """The short answer to flagged input (the model never sees it)."""
    return f"Sorry, I can't help with that: the message was flagged for {', '.join(categories)}."


def withheld(categories: Sequence[str]) -> str:
    """What replaces an answer that moderation flags."""
    return f"[answer withheld: it was flagged for {', '.join(categories)}]"


def stop_at(text: str, stops: Sequence[str]) -> int | None:
    """Where the earliest stop string in `text` begins, or None."""
    hits = [i for s in stops if (i := text.find(s)) >= 0]
    return min(hits) if hits else None


def showable(text: str, stops: Sequence[str]) -> int:
    """How much of `text` can be shown now: all but a tail that may be the beginning of a stop string."""
    longest = max((len(s) for s in stops), default=0)
    for k in range(min(len(text), longest - 1), 0, -1):
        if any(s.startswith(text[-k:]) for s in stops):
            return len(text) - k
    return len(text)


class Engine:
    """A model with its tokenizer (and optional moderation) and the worker thread that decodes queued jobs."""

    def __init__(self, model: PreTrainedModel, tok: PreTrainedTokenizerBase, moderation: Moderation | None = None,
                 max_batch: int = 32):
        self.model, self.tok, self.moderation, self.max_batch = model.eval(), tok, moderation, max_batch
        self.context = int(model.config.max_position_embeddings)  # prompt + answer tokens the model can take
        self.device = next(model.parameters()).device
        self.stop_ids = stop_token_ids(tok)
        # The worker decodes with its own copy: a Rust tokenizer used from two threads at once can fail with
        # "Already borrowed" (encoding may reset its padding settings while the other thread decodes).
        self._worker_tok = copy.deepcopy(tok)
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._moderation_lock = threading.Lock()  # request threads and the worker share one classifier

    # ---- what callers use --------------------------------------------------------------------------------

    def encode(self, messages: Sequence[dict]) -> list[int]:
        """Token ids of a conversation with the assistant's turn opened."""
        return encode_chat(self.tok, messages, add_generation_prompt=True)[0]

    def moderate(self, texts: list[str]) -> list[dict]:
        """OpenAI-shaped moderation results; requires a moderation model."""
        assert self.moderation is not None
        with self._moderation_lock:
            return moderate(self.moderation, texts)

    def flags(self, texts: Sequence[str]) -> list[str]:
        """The categories any of `texts` is flagged for; none without a moderation model."""
        if self.moderation is None or not texts:
            return []
        return list(dict.fromkeys(c for r in self.moderate(list(texts)) for c in flagged_categories(r)))

    def submit(self, job: Job) -> None:
        """Queue `job`; its pieces go to `job.emit` from the worker thread."""
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="chatrlhf-decoder", daemon=True)
                self._worker.start()
        self._jobs.put(job)

    def answer(self, job: Job) -> Iterator[Piece]:
        """Submit `job` and yield its pieces in the caller's thread as they come (the terminal chat)."""
        pieces: queue.Queue[Piece] = queue.Queue()
        job.emit = pieces.put
        self.submit(job)
        finished = 0
        try:
            while finished < job.n:
                piece = pieces.get()
                finished += piece.finish_reason is not None
                yield piece
        finally:
            job.cancelled = finished < job.n

    def close(self) -> None:
        """Stop the worker once the jobs already queued are done."""
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put(None)
            worker.join()

    # ---- the worker ----------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            jobs, rows = [job], job.n
            while rows < self.max_batch:  # everything already waiting joins this batch
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:  # closing: finish this batch first
                    self._jobs.put(None)
                    break
                jobs.append(more)
                rows += more.n
            log.debug("batch of %d answers for %d requests", rows, len(jobs))
            self._decode(jobs)

    def _decode(self, jobs: list[Job]) -> None:
        """Decode one batch, emitting each answer's pieces as its tokens arrive."""
        answers = [_Answer(job, i) for job in jobs for i in range(job.n)]

        def pick(logits: torch.Tensor) -> torch.Tensor:  # each job draws its rows with its own settings
            parts, row = [], 0
            for job in jobs:
                parts.append(next_tokens(logits[row : row + job.n], job.temperature, 0, job.top_p, job.generator))
                row += job.n
            return torch.cat(parts)

        steps = stream(self.model, [a.job.prompt for a in answers], max_new_tokens=max(j.max_tokens for j in jobs),
                       stop_ids=self.stop_ids, pad_id=self.tok.pad_token_id, pick=pick)
        try:
            for tokens in steps:
                self._publish([(a, *self._advance(a, t)) for a, t in zip(answers, tokens.tolist(), strict=True)
                               if not a.done])
                if all(a.done for a in answers):
                    break
        except Exception:  # a failed batch must not take the server down: its callers get an error piece
            log.exception("decoding failed")
            for a in answers:
                if not a.done and not a.job.cancelled:
                    a.job.emit(Piece(a.index, "", "error", a.tokens))
        finally:
            steps.close()

    def _advance(self, a: _Answer, token: int) -> tuple[str, str | None]:
        """Add `token` to an answer: (its text that may be shown, finish reason or None)."""
        a.tokens += 1
        if token in self.stop_ids:
            return answer_text(self._worker_tok, a.ids), "stop"
        a.ids.append(token)
        text = shown_text(self._worker_tok, a.ids)
        cut = stop_at(text, a.job.stop)
        if cut is not None:
            return text[:cut], "stop"
        if len(a.ids) >= a.job.max_tokens:
            return answer_text(self._worker_tok, a.ids), "length"
        return text[: showable(text, a.job.stop)], None

    def _publish(self, updates: list[tuple[_Answer, str, str | None]]) -> None:
        """Emit each answer's new text, after moderation has passed the answer so far."""
        live = []
        for a, text, finish in updates:
            if a.job.cancelled:
                a.done = True
            else:
                live.append((a, text, finish))
        grown = [(a, text) for a, text, _ in live if len(text) > a.shown]
        flagged: dict[int, list[str]] = {}
        if self.moderation is not None and grown:
            results = self.moderate([text for _, text in grown])
            flagged = {id(a): cats for (a, _), r in zip(grown, results, strict=True) if (cats := flagged_categories(r))}
        for a, text, finish in live:
            if id(a) in flagged:
                a.done = True
                a.job.emit(Piece(a.index, ("\n" if a.shown else "") + withheld(flagged[id(a)]), "content_filter", a.tokens))
                continue
            delta, a.shown = text[a.shown :], len(text)
            if finish:
                a.done = True
                a.job.emit(Piece(a.index, delta, finish, a.tokens))
            elif delta:
                a.job.emit(Piece(a.index, delta))


def use_threads(cfg: ServeConfig) -> int:
    """Set the process's torch threads for serving (a process-wide setting: the CLI calls it, `create_app` does
    not). All cores but one by default: the HTTP event loop needs one to stream many clients, and OpenMP
    threads that wait for a busy core stall every op (benchmarks/serve_load.py --threads compares)."""
    threads = cfg.threads or max(1, (os.cpu_count() or 1) - 1)
    torch.set_num_threads(threads)
    return threads


def load_engine(model_dir: str | Path, moderation_dir: str | Path | None = None, cfg: ServeConfig | None = None) -> Engine:
    """An engine over a checkpoint (or run) directory and, optionally, a moderation classifier directory."""
    cfg = cfg or ServeConfig()
    device = pick_device(cfg.device)
    ckpt = resolve_checkpoint(model_dir)
    tok = load_tokenizer(ckpt)
    model = load_model(ckpt, device)
    check_tokenizer_matches(model, tok, ckpt)
    mod = load_moderation(moderation_dir, str(device)) if moderation_dir else None
    return Engine(model, tok, mod, cfg.max_batch)
