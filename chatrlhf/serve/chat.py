"""The terminal chat: `chatrlhf chat --model DIR [--moderation DIR] [--system TEXT]`.

A multi-turn conversation whose answers stream token by token. Commands: `/reset` forgets the conversation,
`/system TEXT` sets the system prompt (`/system` alone removes it), `/exit` (or end of input) quits. A message
that the moderation model flags gets a short refusal naming the categories and never reaches the model; an
answer that it flags is withheld with a note. Neither enters the conversation. When the conversation no
longer fits the model's context, its oldest turns are dropped.
"""

from __future__ import annotations

import torch

from chatrlhf.config import ServeConfig
from chatrlhf.serve.engine import Engine, Job, refusal

HELP = "/reset forgets the conversation, /system TEXT sets the system prompt, /exit quits"


def fit(engine: Engine, system: str | None, turns: list[dict], max_tokens: int) -> tuple[list[int], int] | None:
    """(prompt ids, turns dropped) of the latest turns that leave room for a `max_tokens` answer (or any room,
    when even the last message alone does not); None when the last message alone fills the context."""
    head = [{"role": "system", "content": system}] if system else []
    dropped = 0
    while True:
        prompt = engine.encode(head + turns[dropped:])
        if len(prompt) + max_tokens <= engine.context or len(turns) - dropped <= 1:
            return (prompt, dropped) if len(prompt) < engine.context else None
        dropped += 2  # a user turn and its answer


def chat(engine: Engine, cfg: ServeConfig, system: str | None = None) -> None:
    """Read messages from stdin until /exit or end of input, streaming each answer to stdout."""
    generator = torch.Generator(engine.device).manual_seed(cfg.seed)  # one stream: a seed replays a session
    history: list[dict] = []
    print(f"{HELP}.", flush=True)
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            print()
            return
        if line.startswith("/"):
            command, _, arg = line.partition(" ")
            if command in ("/exit", "/quit"):
                return
            if command == "/reset":
                history.clear()
                print("(conversation forgotten)")
            elif command == "/system":
                system = arg.strip() or None
                print(f"(system prompt: {system})" if system else "(system prompt removed)")
            else:
                print(f"(unknown command {command}: {HELP})")
            continue
        if not line:
            continue
        flagged = engine.flags([line])
        if flagged:
            print(f"assistant> {refusal(flagged)}")
            continue
        turns = [*history, {"role": "user", "content": line}]
        fitted = fit(engine, system, turns, cfg.max_tokens)
        if fitted is None:
            print(f"(that message does not fit the model's context of {engine.context} tokens; shorten it)")
            continue
        prompt, dropped = fitted
        if dropped:
            print(f"(the oldest {dropped // 2} exchange(s) no longer fit the context and were dropped)")
            history = history[dropped:]
        job = Job(prompt, min(cfg.max_tokens, engine.context - len(prompt)), temperature=cfg.temperature,
                  top_p=cfg.top_p, generator=generator)
        print("assistant> ", end="", flush=True)
        answer, reason = "", None
        try:
            for piece in engine.answer(job):
                print(piece.text, end="", flush=True)
                answer, reason = answer + piece.text, piece.finish_reason
        except KeyboardInterrupt:  # Ctrl-C stops the answer, not the chat
            reason = "interrupted"
        print()
        if reason in ("stop", "length"):
            history = [*turns[dropped:], {"role": "assistant", "content": answer}]
        elif reason == "error":
            print("(the model failed while answering; see the log)")
