"""The web chat page in a real browser (Debian's chromium driven by playwright) against a live server.

The first test runs the product: `create_app` over a tiny model with a feedback database, on 127.0.0.1.
The second checks the page's own stream handling against a scripted server that streams slowly and cuts
multi-byte characters across chunks, which the real server cannot be made to do on purpose.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from playwright.sync_api import Page, expect, sync_playwright

from chatrlhf.config import ServeConfig
from chatrlhf.data import ranking_pairs, read_rankings, read_validated
from chatrlhf.serve import engine
from chatrlhf.serve.api import create_app
from chatrlhf.serve.feedback import add_chat_page, export_feedback
from tests.conftest import live_server

CHROMIUM = shutil.which("chromium")
WAIT = 60_000  # ms an expectation may wait: the machine may be busy with other tests


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if "CI" in os.environ:
            pytest.fail("Debian's chromium is not installed, and under CI the browser test must run "
                        "(.ci/run installs it: apt-get install -y chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); the browser test needs it")
    with sync_playwright() as p:
        # playwright's own browser download cannot run here; its bundled node driver runs Debian's chromium.
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context()
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture(scope="module")
def model_dir(tiny_lm, tmp_path_factory):
    model, tok = tiny_lm
    path = tmp_path_factory.mktemp("tiny") / "tiny-chat"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def send(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


def settings(page: Page, temperature: str, max_tokens: str = "24") -> None:
    if page.locator("#settings").get_attribute("open") is None:
        page.get_by_text("Settings").click()
    page.get_by_label("Temperature").fill(temperature)
    page.get_by_label("Max tokens").fill(max_tokens)


def export(db: str, out) -> tuple[list[dict], list[dict]]:
    export_feedback(db, out)  # what `chatrlhf feedback export` runs (its CLI is tested in test_feedback.py)
    rankings = out.parent.joinpath(f"{out.name}.rankings.jsonl")
    return read_validated(f"{out}.ratings.jsonl", "rating"), read_rankings(rankings) if rankings.stat().st_size else []


def paced(stream_fn):
    """The sampler's steps 20 ms apart, as a real model's tokens arrive: a tiny model emits all 24 in a few ms,
    and the browser then renders them in one or two paints (seen once in CI), which says nothing of streaming."""
    def slowed(*args, **kwargs):
        for step in stream_fn(*args, **kwargs):
            time.sleep(0.02)
            yield step
    return slowed


def test_chat_stream_thumbs_regenerate_and_compare_reach_the_export(page, model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "stream", paced(engine.stream))
    db = f"sqlite:///{tmp_path}/feedback.db"
    app = create_app(model_dir, cfg=ServeConfig(device="cpu", max_tokens=24), db=db, api_key="k3y")
    question = "Hello, who are you?"
    prompt = [{"role": "user", "content": question}]
    with live_server(app) as url:
        page.goto(url)
        expect(page.get_by_role("alert")).to_contain_text("API key", timeout=WAIT)  # /v1/models said 401
        page.get_by_text("Settings").click()
        page.get_by_label("API key").fill("k3y")
        page.get_by_label("API key").press("Tab")  # the key is sent from now on, feedback calls included
        expect(page.locator("#model-name")).to_have_text("tiny-chat", timeout=WAIT)  # the page found the model via /v1/models
        expect(page.get_by_role("alert")).to_be_hidden()
        # Record every text the answer shows, to see it arrive in pieces.
        page.evaluate("""() => { window.shown = []; new MutationObserver(() => {
            const t = document.querySelector('.msg.assistant .text'); if (t) window.shown.push(t.textContent);
        }).observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true}); }""")
        settings(page, "0")
        send(page, question)
        first = page.locator(".msg.assistant").first
        expect(first).to_have_attribute("data-state", "done", timeout=WAIT)
        answer = first.locator(".text").text_content()
        # Greedy, so the streamed pieces put together must be the answer the same server gives without streaming.
        direct = httpx.post(f"{url}/v1/chat/completions", timeout=60, headers={"Authorization": "Bearer k3y"}, json={
            "model": "tiny-chat", "messages": prompt, "temperature": 0, "max_tokens": 24}).json()
        assert answer == direct["choices"][0]["message"]["content"] and answer.strip()
        shown = page.evaluate("window.shown")
        assert len(set(shown)) > 2 and all(answer.startswith(s) for s in shown)  # grew piece by piece

        first.get_by_role("button", name="Good answer").click()
        expect(first.get_by_role("button", name="Good answer")).to_have_attribute("aria-pressed", "true", timeout=WAIT)
        ratings, rankings = export(db, tmp_path / "after_thumb")
        assert [(r["prompt"], r["response"], r["likert"], r["meta"]["model"]) for r in ratings] == [
            (prompt, answer, 6, "tiny-chat")]
        assert rankings == []

        # Regenerate at temperature 1 and thumb the new answer down with a reason: a thumbs ranking row.
        settings(page, "1")
        first.get_by_role("button", name="Regenerate").click()
        second = page.locator(".msg.assistant").nth(1)
        expect(second).to_have_attribute("data-state", "done", timeout=WAIT)
        regenerated = second.locator(".text").text_content()
        assert regenerated != answer
        second.get_by_role("button", name="Bad answer").click()
        expect(second.get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "true", timeout=WAIT)
        second.get_by_label("Untrue").check()
        expect(second.get_by_label("Untrue")).to_be_checked()

        # Compare: a second answer beside the regenerated one; the user picks the right one.
        second.get_by_role("button", name="Compare").click()
        panel = page.locator(".compare-panel")
        expect(panel.locator(".column").nth(1)).to_have_attribute("data-state", "done", timeout=WAIT)
        left, right = (t.text_content() for t in panel.locator(".column .text").all())
        assert left == regenerated and right != left
        panel.get_by_role("button", name="Right is better").click()
        expect(panel).to_have_attribute("data-state", "picked", timeout=WAIT)
        ratings, rankings = export(db, tmp_path / "after_compare")

    down = next(r for r in ratings if r["response"] == regenerated)
    assert (down["likert"], down["flags"], down["prompt"]) == (2, {"hallucination": True}, prompt)
    by_source = {r["meta"]["source"]: r for r in rankings}
    compared = by_source["compare"]
    assert compared["prompt"] == prompt and compared["responses"] == [left, right]
    assert ranking_pairs(compared["ranking"]) == [(1, 0)]
    thumbs = by_source["thumbs"]
    assert [(thumbs["responses"][w], thumbs["responses"][lo]) for w, lo in ranking_pairs(thumbs["ranking"])] == [
        (answer, regenerated)]


def scripted_app(text: str, delay: float) -> FastAPI:
    """A server whose /v1/chat/completions streams `text` one character a chunk, each chunk cut inside its
    UTF-8 bytes, `delay` seconds apart; with the chat page and an in-memory feedback database."""
    app = FastAPI()

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": "scripted", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat() -> StreamingResponse:
        async def events():
            for ch in text:
                data = ("data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": ch}}]}, ensure_ascii=False)
                        + "\r\n\r\n").encode()
                cut = data.index(ch.encode()) + 1  # after the first byte of the character
                yield data[:cut]
                await asyncio.sleep(delay / 2)
                yield data[cut:]
                await asyncio.sleep(delay / 2)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    add_chat_page(app)
    return app


def test_multibyte_text_split_across_chunks_and_stop(page):
    text = "ウニは雲丹、イクラは鮭の卵。🐟 Saitama has no sea."
    with live_server(scripted_app(text, 0.01)) as url:
        page.goto(url)
        send(page, "ウニとイクラの違いは？")
        answer = page.locator(".msg.assistant").first
        expect(answer).to_have_attribute("data-state", "done", timeout=WAIT)
        assert answer.locator(".text").text_content() == text  # no U+FFFD where a character was cut

    with live_server(scripted_app("ゆっくり" * 200, 0.05)) as url:
        page.goto(url)
        send(page, "話して")
        expect(page.get_by_role("button", name="Stop")).to_be_visible()
        answer = page.locator(".msg.assistant").first
        expect(answer.locator(".text")).to_contain_text("ゆっくり")
        page.get_by_role("button", name="Stop").click()
        expect(answer).to_have_attribute("data-state", "stopped", timeout=WAIT)
        expect(page.get_by_role("button", name="Stop")).to_be_hidden()
        stopped = answer.locator(".text").text_content()
        time.sleep(0.3)
        assert answer.locator(".text").text_content() == stopped and len(stopped) < 800  # nothing more arrived
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
