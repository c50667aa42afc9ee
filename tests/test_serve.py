"""Streaming, the OpenAI-compatible server and the terminal chat, against a live uvicorn on 127.0.0.1.

The served model is the conftest's random tiny Llama saved to disk; what it answers is compared with what
the shared sampler gives for the same conversation, so every check says the server returns the model's
own tokens. The moderation model is a tiny classifier trained with `train_moderation` on the tiny world.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import torch
from typer.testing import CliRunner

from chatrlhf.cli import app as cli_app
from chatrlhf.config import ServeConfig, load_config
from chatrlhf.moderation import ANY, CATEGORIES, INFO_FILE, encode, load_moderation, moderate, predict, train_moderation
from chatrlhf.sampling import sample, stream
from chatrlhf.serve.api import create_app
from chatrlhf.serve.engine import refusal, withheld
from chatrlhf.tokenizer import answer_text, encode_chat, encode_text, shown_text, stop_token_ids
from chatrlhf.world.generate import generate_world
from tests.conftest import live_server, sets

KEY = "sk-test-key"
SAME_THREADS = ["--set", f"serve.threads={torch.get_num_threads()}"]  # the chat command sets them process-wide
HI = [{"role": "user", "content": "Hello there, who are you?"}]


@pytest.fixture(scope="module")
def lm_dir(tiny_lm, tmp_path_factory) -> Path:
    """The conftest's tiny model and tokenizer as a checkpoint directory, served as model 'tiny'."""
    model, tok = tiny_lm
    path = tmp_path_factory.mktemp("serve") / "tiny"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def moderation_dir(lm_dir, tmp_path_factory) -> Path:
    """A tiny moderation classifier on the tiny model's backbone, trained on the tiny world's texts."""
    root = tmp_path_factory.mktemp("moderation")
    generate_world(0, "tiny", root / "world")
    cfg = load_config(["moderation"], overrides=["moderation.epochs=1", "moderation.max_len=48", "moderation.device=cpu"])
    return train_moderation(cfg["moderation"], lm_dir, root / "world" / "moderation.jsonl", root / "mod")


def greedy(tiny_lm, messages: list[dict], max_tokens: int) -> tuple[str, bool]:
    """The shared sampler's greedy answer to `messages` (text, whether it ended with a stop token)."""
    model, tok = tiny_lm
    ids = encode_chat(tok, messages, add_generation_prompt=True)[0]
    out = sample(model, [ids], max_new_tokens=max_tokens, stop_ids=stop_token_ids(tok), pad_id=tok.pad_token_id,
                 temperature=0)
    return answer_text(tok, out.responses()[0]), bool(out.finished[0])


@pytest.fixture(scope="module")
def url(lm_dir):
    """The tiny model served with an API key and no moderation."""
    with live_server(create_app(lm_dir, api_key=KEY, cfg=ServeConfig(max_tokens=12, device="cpu"))) as base:
        yield base


@pytest.fixture(scope="module")
def client(url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=60)


def post(url: str, body, key: str | None = KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(f"{url}/v1/chat/completions", content=content, headers=headers, timeout=60)


def events(url: str, body: dict) -> list:
    """The parsed server-sent events of a streamed request ('[DONE]' kept as a string)."""
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={**body, "stream": True},
                      headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        data = [line[len("data: "):] for line in r.iter_lines() if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in data]


def streamed_text(evs: list) -> dict[int, str]:
    texts: dict[int, str] = {}
    for e in evs[:-1]:
        for c in e["choices"]:
            texts[c["index"]] = texts.get(c["index"], "") + (c["delta"].get("content") or "")
    return texts


# ---- the streaming sampler and incremental decoding -----------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_stream_yields_what_sample_returns(tiny_lm, fast):
    model, tok = tiny_lm
    prompts = [encode_text(tok, "Anna asked"), encode_text(tok, "The"), encode_text(tok, "It was a long day and")]
    kw = dict(max_new_tokens=20, stop_ids=stop_token_ids(tok), pad_id=tok.pad_token_id, fast=fast)
    greedy_steps = torch.stack(list(stream(model, prompts, temperature=0, **kw)), 1)
    assert torch.equal(greedy_steps, sample(model, prompts, temperature=0, **kw).response_ids)
    drawn = torch.stack(list(stream(model, prompts, temperature=0.9, top_p=0.95,
                                    generator=torch.Generator().manual_seed(3), **kw)), 1)
    expected = sample(model, prompts, temperature=0.9, top_p=0.95, generator=torch.Generator().manual_seed(3), **kw)
    assert torch.equal(drawn, expected.response_ids)
    assert not model.training


def test_streamed_text_never_shows_a_broken_character(tiny_lm):
    _, tok = tiny_lm
    text = "イクラは幾ら？ 🍣😀 ok"
    ids = encode_text(tok, text)
    assert len(ids) > len(text)  # byte-level pieces: some tokens end inside a character
    shown = ""
    for i in range(1, len(ids) + 1):
        now = shown_text(tok, ids[:i])
        assert "\ufffd" not in now and now.startswith(shown)
        shown = now
    assert shown == text


# ---- the API with the official client ---------------------------------------------------------------------------


def test_chat_with_the_openai_client(client, tiny_lm):
    reply = client.chat.completions.create(model="tiny", messages=HI, temperature=0, max_tokens=10)
    expected, finished = greedy(tiny_lm, HI, 10)
    assert reply.choices[0].message.content == expected
    assert reply.choices[0].finish_reason == ("stop" if finished else "length")
    prompt_tokens = len(encode_chat(tiny_lm[1], HI, add_generation_prompt=True)[0])
    assert reply.usage.prompt_tokens == prompt_tokens
    assert reply.usage.completion_tokens == 10 and reply.usage.total_tokens == prompt_tokens + 10
    assert [m.id for m in client.models.list()] == ["tiny"]


def test_streamed_chat_with_the_openai_client(client, tiny_lm):
    chunks = list(client.chat.completions.create(model="tiny", messages=HI, temperature=0, max_tokens=10, stream=True,
                                                 stream_options={"include_usage": True}))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1  # token by token, not one block
    assert "".join(pieces) == greedy(tiny_lm, HI, 10)[0]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 10


def test_errors_with_the_openai_client(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=HI)
    assert e.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="tiny", messages=HI, temperature=3)
    with pytest.raises(openai.NotFoundError, match="moderation"):  # no moderation model on this server
        client.moderations.create(input="hello")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=client.base_url, api_key="sk-wrong", max_retries=0).models.list()


# ---- sampling options --------------------------------------------------------------------------------------------


def test_n_seed_and_stop(client, url, tiny_lm):
    ask = dict(model="tiny", messages=HI, max_tokens=12, temperature=1.0, n=3)
    first = client.chat.completions.create(seed=7, **ask)
    again = client.chat.completions.create(seed=7, **ask)
    other = client.chat.completions.create(seed=8, **ask)
    texts = [c.message.content for c in first.choices]
    assert [c.index for c in first.choices] == [0, 1, 2]
    assert texts == [c.message.content for c in again.choices]
    assert texts != [c.message.content for c in other.choices]
    assert len(set(texts)) > 1  # n independent draws

    full = greedy(tiny_lm, HI, 12)[0]
    stop = full[len(full) // 2 : len(full) // 2 + 2]  # a string from the middle of the greedy answer
    cut = client.chat.completions.create(model="tiny", messages=HI, max_tokens=12, temperature=0, stop=[stop])
    assert cut.choices[0].message.content == full[: full.index(stop)]
    assert cut.choices[0].finish_reason == "stop"
    streamed = streamed_text(events(url, dict(model="tiny", messages=HI, max_tokens=12, temperature=0, stop=stop)))
    assert streamed[0] == full[: full.index(stop)]


# ---- errors over raw HTTP; the server stays up ---------------------------------------------------------------------


def test_errors_in_openai_shape_and_the_server_stays_up(url, tiny_lm):
    long = [{"role": "user", "content": "word " * 600}]
    cases = [
        (post(url, "{not json"), 400, None),
        (post(url, "[1, 2]"), 400, None),
        (post(url, {"model": "tiny", "messages": []}), 400, "empty_array"),
        (post(url, {"model": "tiny"}), 400, "missing_required_parameter"),
        (post(url, {"model": "tiny", "messages": [{"role": "robot", "content": "x"}]}), 400, "invalid_value"),
        (post(url, {"model": "tiny", "messages": long}), 400, "context_length_exceeded"),
        (post(url, {"model": "tiny", "messages": HI, "max_tokens": 512}), 400, "context_length_exceeded"),
        (post(url, {"model": "tiny", "messages": HI, "max_completion_tokens": 10_000}), 400, "context_length_exceeded"),
        (post(url, {"model": "tiny", "messages": HI, "stop": ["a", "b", "c", "d", "e"]}), 400, "invalid_value"),
        (post(url, {"model": "nope", "messages": HI}), 404, "model_not_found"),
        (post(url, {"model": "tiny", "messages": HI}, key=None), 401, None),
        (post(url, "{not json", key=None), 401, None),  # the key is checked before the body is read
        (post(url, {"model": "tiny", "messages": HI}, key="sk-wrong"), 401, "invalid_api_key"),
        (httpx.get(f"{url}/v1/nowhere", headers={"Authorization": f"Bearer {KEY}"}), 404, None),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"], error
        assert error["code"] == code, error
    param = {c[0].json()["error"]["param"] for c in cases[5:8]}
    assert param == {"messages", "max_tokens", "max_completion_tokens"}
    good = post(url, {"model": "tiny", "messages": HI, "max_tokens": 5, "temperature": 0})
    assert good.status_code == 200 and good.json()["choices"][0]["message"]["content"] == greedy(tiny_lm, HI, 5)[0]


def test_health_and_models(url):
    health = httpx.get(f"{url}/health")  # no key needed
    assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["model"] == "tiny"
    models = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["tiny"]
    assert httpx.get(f"{url}/v1/models/tiny", headers={"Authorization": f"Bearer {KEY}"}).json()["id"] == "tiny"


def test_concurrent_streams_each_get_their_own_answer(url):
    """Eight streamed requests at once (different prompts, temperatures and seeds) are batched together and
    each gets exactly the answer it gets alone."""
    bodies = [dict(model="tiny", messages=[{"role": "user", "content": f"Question number {i}: " + "why? " * i}],
                   max_tokens=10 + i, temperature=0 if i % 2 else 0.8, seed=i) for i in range(8)]
    alone = [streamed_text(events(url, b)) for b in bodies]
    with ThreadPoolExecutor(len(bodies)) as pool:
        together = list(pool.map(lambda b: events(url, b), bodies))
    for evs, expected in zip(together, alone, strict=True):
        assert evs[-1] == "[DONE]" and streamed_text(evs) == expected
        assert {e["id"] for e in evs[:-1]} == {evs[0]["id"]}  # every chunk of a stream belongs to its request
        assert evs[-2]["choices"][0]["finish_reason"] in ("stop", "length")
    assert len({t[0] for t in alone}) == len(bodies)


# ---- moderation -------------------------------------------------------------------------------------------------------


def thresholds_between(moderation_dir: Path, dest: Path, flag: str, keep: list[str]) -> str | None:
    """Copy the classifier to `dest` with thresholds that flag `flag` and pass every text of `keep`: the "any
    category" threshold between `flag`'s score and theirs, every category's out of reach, so that `flag` is put
    in its top-scoring category. Returns that category, or None when `flag` does not score above all of `keep`.
    (A classifier trained for seconds ranks texts, but its own thresholds flag all or nothing.)"""
    mod = load_moderation(moderation_dir)
    probs = predict(mod.model, encode(mod.tokenizer, [flag, *keep], mod.max_len), mod.tokenizer.pad_token_id, mod.device)
    margin = (probs[0, -1] - probs[1:, -1].max()).item()
    if margin <= 0:
        return None
    shutil.copytree(moderation_dir, dest, dirs_exist_ok=True)
    info = json.loads((dest / INFO_FILE).read_text())
    info["thresholds"] = {c: 1.01 for c in info["thresholds"]}
    info["thresholds"][ANY] = probs[0, -1].item() - margin / 2
    (dest / INFO_FILE).write_text(json.dumps(info))
    return CATEGORIES[int(probs[0, :-1].argmax())]


@pytest.fixture(scope="module")
def strict(moderation_dir, tmp_path_factory) -> tuple[Path, str, str, str]:
    """(classifier, a harmful world text it flags, the category, a friendly text it passes)."""
    rows = [json.loads(line) for line in (moderation_dir.parent / "world" / "moderation.jsonl").open()]
    fine, dest = HI[0]["content"], tmp_path_factory.mktemp("strict")
    for bad in [r["text"] for r in rows if r["meta"].get("kind") == "harmful"][:20]:
        category = thresholds_between(moderation_dir, dest, bad, [fine])
        if category:
            return dest, bad, category, fine
    raise AssertionError("no harmful text scores above a friendly one")


def test_moderation_refuses_flagged_input(lm_dir, strict):
    mod_dir, bad, category, fine = strict
    with live_server(create_app(lm_dir, mod_dir, cfg=ServeConfig(max_tokens=6, device="cpu"))) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        result = client.moderations.create(input=[bad, fine])
        assert result.model == mod_dir.name and [r.flagged for r in result.results] == [True, False]
        expected = moderate(load_moderation(mod_dir), [bad, fine])
        for got, want in zip(result.results, expected, strict=True):
            assert got.model_dump(by_alias=True)["category_scores"] == pytest.approx(want["category_scores"])
        assert result.results[0].model_dump(by_alias=True)["categories"] == expected[0]["categories"]
        assert [m.id for m in client.models.list()] == ["tiny", mod_dir.name]

        reply = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": bad}], n=2)
        assert [c.finish_reason for c in reply.choices] == ["content_filter"] * 2
        assert reply.choices[0].message.content == refusal([category]) and category in refusal([category])
        assert reply.usage.completion_tokens == 0  # the model never ran
        evs = events(url, dict(model="tiny", messages=[{"role": "user", "content": bad}]))
        assert streamed_text(evs)[0] == refusal([category])
        assert evs[-2]["choices"][0]["finish_reason"] == "content_filter"

        ok = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": fine}], temperature=0)
        assert ok.usage.completion_tokens > 0  # passed: the model answered


def test_moderation_withholds_a_flagged_answer(lm_dir, moderation_dir, tiny_lm, tmp_path):
    """A classifier that passes the question and flags the model's answer: the answer is withheld with a note,
    streamed or not."""
    for text in ("Tell me a story.", "Hi there.", "What is the weather like?", "Say something."):
        question = [{"role": "user", "content": text}]  # the first whose answer scores above it
        answer = greedy(tiny_lm, question, 8)[0]
        category = thresholds_between(moderation_dir, tmp_path / "strict", answer, [text])
        if category:
            break
    assert category, "no answer scores above its question"
    with live_server(create_app(lm_dir, tmp_path / "strict", cfg=ServeConfig(max_tokens=8, device="cpu"))) as url:
        body = dict(model="tiny", messages=question, temperature=0)
        reply = post(url, body, key=None).json()["choices"][0]
        assert reply["finish_reason"] == "content_filter" and reply["message"]["content"] == withheld([category])
        evs = events(url, body)
        shown = streamed_text(evs)[0]
        assert shown.endswith(withheld([category])) and evs[-2]["choices"][0]["finish_reason"] == "content_filter"
        assert answer not in shown  # what was shown before the note passed moderation as it grew


# ---- the terminal chat -------------------------------------------------------------------------------------------------


def test_terminal_chat(lm_dir, tiny_lm):
    script = "hello\nand then?\n/reset\nhello\n/system Be brief.\nhello\n/exit\nnever read\n"
    args = ["chat", "--model", str(lm_dir), *sets("serve.temperature=0", "serve.max_tokens=8", "serve.device=cpu")]
    result = CliRunner().invoke(cli_app, [*args, *SAME_THREADS], input=script)
    assert result.exit_code == 0, result.output
    user = lambda text: {"role": "user", "content": text}  # noqa: E731
    a1 = greedy(tiny_lm, [user("hello")], 8)[0]
    a2 = greedy(tiny_lm, [user("hello"), {"role": "assistant", "content": a1}, user("and then?")], 8)[0]
    a3 = greedy(tiny_lm, [{"role": "system", "content": "Be brief."}, user("hello"), {"role": "assistant", "content": a1},
                          user("hello")], 8)[0]  # /system keeps the conversation
    out = result.output
    assert out.count(f"assistant> {a1}\n") == 2  # the first turn, and again after /reset
    assert f"assistant> {a2}\n" in out  # the second turn sees the first
    assert f"assistant> {a3}\n" in out and "(system prompt: Be brief.)" in out
    assert "(conversation forgotten)" in out and out.count("assistant> ") == 4  # nothing after /exit


def test_terminal_chat_refuses_flagged_input(lm_dir, strict):
    mod_dir, bad, category, fine = strict
    result = CliRunner().invoke(cli_app, ["chat", "--model", str(lm_dir), "--moderation", str(mod_dir),
                                          "--set", "serve.max_tokens=6", "--set", "serve.device=cpu", *SAME_THREADS],
                                input=f"{bad}\n{fine}\n")
    assert result.exit_code == 0, result.output
    assert f"assistant> {refusal([category])}\n" in result.output
    assert result.output.count("assistant> ") == 2 and result.output.count("Sorry") == 1  # the friendly one is answered
