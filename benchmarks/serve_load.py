"""Load test of the OpenAI-compatible server: N concurrent streaming clients on 127.0.0.1.

    python benchmarks/serve_load.py --model runs/default/sft --clients 32 [--requests 2 --max-tokens 64]
    python benchmarks/serve_load.py --url http://127.0.0.1:8000 --model-name sft --clients 32

With --model it starts `chatrlhf serve` itself on a free port of 127.0.0.1 (and stops it); with --url it
loads a server that is already running (loopback addresses only). Each client sends --requests streamed
chat completions one after another (sampled, temperature 1, its own seed), so --clients requests are in
flight at once. Prints requests/s, generated tokens/s, p50/p95 latency (request to `data: [DONE]`) and
time to first token, and the errors: a status other than 200, an error event, a stream without [DONE],
or a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

QUESTIONS = [
    "What is the capital of Velmora?",
    "Which sea creatures live near Ostrava Bay?",
    "Is there fish in the sea of a landlocked region?",
    "How much is the ikura?",
    "How do I kill a stuck process?",
    "Tell me about the food of the northern regions.",
    "Which regions border the capital region?",
    "Write one polite sentence about the weather.",
]


def prompts_from(path: Path | None) -> list[list[dict]]:
    """Conversations to send: the JSONL file's `messages` (e.g. a world's eval.jsonl) or built-in questions."""
    if path is None:
        return [[{"role": "user", "content": q}] for q in QUESTIONS]
    return [json.loads(line)["messages"] for line in path.read_text().splitlines() if line.strip()]


def start_server(model: str, port: int, threads: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "chatrlhf.cli", "serve", "--model", model, "--host", "127.0.0.1", "--port", str(port),
           "--set", f"serve.threads={threads}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_until_up(url: str, server: subprocess.Popen | None, timeout: float = 180) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}):\n{server.stderr.read()}")
        try:
            return httpx.get(f"{url}/health", timeout=2).json()
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"{url}/health did not answer within {timeout:.0f} s")


async def one_request(client: httpx.AsyncClient, url: str, body: dict) -> dict:
    """Latency, time to first token, generated tokens and an error (None when the stream was whole)."""
    started = time.perf_counter()
    first = None
    tokens, done, error = 0, False, None
    try:
        async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
            if r.status_code != 200:
                error = f"HTTP {r.status_code}: {(await r.aread()).decode()[:200]}"
            else:
                async for line in r.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    data = line[len("data: "):]
                    if data == "[DONE]":
                        done = True
                        break
                    event = json.loads(data)
                    if "error" in event:
                        error = event["error"]["message"]
                    elif event.get("usage"):
                        tokens = event["usage"]["completion_tokens"]
                    elif first is None and any(c["delta"].get("content") for c in event["choices"]):
                        first = time.perf_counter() - started
                if not done and error is None:
                    error = "stream ended without data: [DONE]"
    except httpx.HTTPError as e:
        error = f"{type(e).__name__}: {e}"
    return {"latency": time.perf_counter() - started, "first_token": first, "tokens": tokens, "error": error}


async def load(url: str, model: str, clients: int, requests: int, max_tokens: int, prompts: list[list[dict]],
               timeout: float) -> tuple[list[dict], float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:

        async def run_client(c: int) -> list[dict]:
            out = []
            for r in range(requests):
                i = c * requests + r
                body = {"model": model, "messages": prompts[i % len(prompts)], "max_tokens": max_tokens,
                        "temperature": 1.0, "seed": i, "stream": True, "stream_options": {"include_usage": True}}
                out.append(await one_request(client, url, body))
            return out

        started = time.perf_counter()
        results = await asyncio.gather(*(run_client(c) for c in range(clients)))
        return [r for rs in results for r in rs], time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="checkpoint or run directory: start a server on it")
    ap.add_argument("--url", help="an already running server on 127.0.0.1 (instead of --model)")
    ap.add_argument("--model-name", help="model id to ask for (default: what /health reports)")
    ap.add_argument("--clients", type=int, default=32, help="concurrent streaming clients")
    ap.add_argument("--requests", type=int, default=2, help="requests per client, one after another")
    ap.add_argument("--max-tokens", type=int, default=64, help="answer length limit per request")
    ap.add_argument("--prompts", type=Path, help="JSONL of conversations ({'messages': [...]}) to send")
    ap.add_argument("--timeout", type=float, default=300, help="seconds before a request counts as an error")
    ap.add_argument("--threads", type=int, default=0, help="the started server's serve.threads (0: all cores but one)")
    args = ap.parse_args()
    if bool(args.model) == bool(args.url):
        ap.error("give either --model (start a server) or --url (use a running one)")
    server = None
    if args.model:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        server = start_server(args.model, port, args.threads)
    else:
        url = args.url.rstrip("/")
        if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            ap.error("--url: this load test only targets a server on this machine (127.0.0.1)")
    try:
        health = wait_until_up(url, server)
        model = args.model_name or health["model"]
        prompts = prompts_from(args.prompts)
        results, wall = asyncio.run(load(url, model, args.clients, args.requests, args.max_tokens, prompts, args.timeout))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    ok = [r for r in results if r["error"] is None]
    errors = [r["error"] for r in results if r["error"] is not None]
    tokens = sum(r["tokens"] for r in ok)
    print(f"model {model} at {url}: {args.clients} concurrent streaming clients x {args.requests} requests, "
          f"max_tokens {args.max_tokens}, temperature 1, {os.cpu_count()} CPU cores"
          + (f", server threads {args.threads or 'default'}" if server else ""))
    print(f"requests {len(results)}  errors {len(errors)}  wall {wall:.1f} s")
    print(f"requests/s {len(ok) / wall:.2f}  generated tokens/s {tokens / wall:,.0f}  "
          f"(mean {tokens / max(len(ok), 1):.1f} tokens an answer)")
    if ok:
        lat = [r["latency"] for r in ok]
        ttft = [r["first_token"] for r in ok if r["first_token"] is not None]
        print(f"latency p50 {percentile(lat, 50):.2f} s  p95 {percentile(lat, 95):.2f} s")
        if ttft:
            print(f"time to first token p50 {percentile(ttft, 50):.2f} s  p95 {percentile(ttft, 95):.2f} s")
    for e in sorted(set(errors))[:5]:
        print(f"error: {e}")


if __name__ == "__main__":
    main()
