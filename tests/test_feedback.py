"""The chat page's feedback database and its export as rating and ranking JSONL (read back by the project's readers)."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatrlhf.config import UserError
from chatrlhf.data import ranking_pairs, read_rankings, read_validated
from chatrlhf.serve.feedback import add_chat_page, export_feedback, export_paths, open_db
from tests.conftest import live_server, run_cli

Q = [{"role": "user", "content": "What sea creatures live in Saitama's sea?"}]
GOOD, BAD = "Saitama has no sea, so no sea creatures live there.", "Sea urchins live in Saitama's sea."
Q_JA = [{"role": "system", "content": "丁寧に答えて。"}, {"role": "user", "content": "ウニとイクラの違いは？"}]


def client(db: str, api_key: str | None = None) -> TestClient:
    app = FastAPI()
    add_chat_page(app, db, api_key)
    return TestClient(app)


def rate(c: TestClient, prompt, response, thumb, labeler="alice", **extra):
    return c.post("/feedback/ratings", json={"prompt": prompt, "response": response, "thumb": thumb, "labeler": labeler, **extra})


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/fb/feedback.db"


def test_page_and_its_files_are_served(db):
    c = client(db)
    page = c.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for src in ("/static/chat.js", "/static/chat.css"):
        assert src in page.text
        assert c.get(src).status_code == 200
    assert "TextDecoder" in c.get("/static/chat.js").text


def test_thumbs_and_comparison_export_as_rating_and_ranking_rows(db, tmp_path):
    c = client(db)
    up = rate(c, Q, GOOD, "up")
    assert up.status_code == 200, up.text
    down = rate(c, Q, BAD, "up", model="runs/ppo")
    # The user changes their mind: thumb down with a reason, stored on the same row.
    changed = c.put(f"/feedback/ratings/{down.json()['id']}",
                    json={"prompt": Q, "response": "ignored: the stored answer stays", "thumb": "down",
                          "flags": ["hallucination"], "labeler": "alice"})
    assert changed.status_code == 200 and changed.json()["id"] == down.json()["id"]
    gone = rate(c, Q, "a rating that is withdrawn", "down")
    assert c.delete(f"/feedback/ratings/{gone.json()['id']}").status_code == 200
    ja = rate(c, Q_JA, "ウニは雲丹、イクラは鮭の卵です。", "up", labeler="bob")
    assert ja.status_code == 200
    cmp = c.post("/feedback/comparisons", json={"prompt": Q_JA, "responses": ["イクラは幾ら？", "ウニは雲丹です。"], "winner": 1,
                                                "labeler": "bob", "model": "runs/ppo"})
    assert cmp.status_code == 200, cmp.text

    done = export_feedback(db, tmp_path / "out" / "feedback")
    assert (done["n_ratings"], done["n_comparisons"], done["n_rankings"]) == (3, 1, 2)
    ratings = read_validated(done["ratings"], "rating")
    by_response = {r["response"]: r for r in ratings}
    assert set(by_response) == {GOOD, BAD, "ウニは雲丹、イクラは鮭の卵です。"}
    good, bad = by_response[GOOD], by_response[BAD]
    assert (good["likert"], good["flags"], good["prompt"], good["labeler"]) == (6, {}, Q, "alice")
    assert (bad["likert"], bad["flags"], bad["meta"]["thumb"]) == (2, {"hallucination": True}, "down")
    assert bad["meta"]["model"] == "runs/ppo"
    assert by_response["ウニは雲丹、イクラは鮭の卵です。"]["prompt"] == Q_JA
    assert "ウニ" in done["ratings"].read_text(encoding="utf-8")  # written as text, not \\u escapes

    rankings = read_rankings(done["rankings"])  # what `chatrlhf reward --data` reads
    compared = next(r for r in rankings if r["meta"]["source"] == "compare")
    assert compared["prompt"] == Q_JA and compared["labeler"] == "bob"
    assert [compared["responses"][w] for w, _ in ranking_pairs(compared["ranking"])] == ["ウニは雲丹です。"]
    thumbs = next(r for r in rankings if r["meta"]["source"] == "thumbs")
    assert thumbs["prompt"] == Q
    assert [(thumbs["responses"][w], thumbs["responses"][lo]) for w, lo in ranking_pairs(thumbs["ranking"])] == [(GOOD, BAD)]

    no_thumbs = export_feedback(db, tmp_path / "only_compare.jsonl", with_thumb_rankings=False)
    assert no_thumbs["rankings"] == tmp_path / "only_compare.rankings.jsonl"
    assert [r["meta"]["source"] for r in read_rankings(no_thumbs["rankings"])] == ["compare"]


def test_thumb_rankings_are_per_user_and_conversation_and_use_the_last_thumb(db, tmp_path):
    c = client(db)
    q2 = [{"role": "user", "content": "What is the capital of Gunma?"}]
    rate(c, Q, "a", "up", labeler="alice")
    rate(c, Q, "b", "down", labeler="bob")  # another user: no ranking across people
    rate(c, q2, "c", "down", labeler="alice")  # another conversation: no ranking across prompts
    rate(c, Q, "d", "down", labeler="alice")
    rate(c, Q, "e", "down", labeler="alice")
    rate(c, Q, "d", "up", labeler="alice")  # the same text rated again: the last thumb counts
    done = export_feedback(db, tmp_path / "fb")
    rows = read_rankings(done["rankings"])
    assert len(rows) == 1 and rows[0]["labeler"] == "alice"
    row = rows[0]
    pairs = {(row["responses"][w], row["responses"][lo]) for w, lo in ranking_pairs(row["ranking"])}
    assert pairs == {("a", "e"), ("d", "e")}  # a and d tie: no pair between them


@pytest.mark.parametrize("body, expected", [
    ({"prompt": [{"role": "bot", "content": "hi"}], "response": "x", "thumb": "up"}, "prompt message 1: unknown role 'bot'"),
    ({"prompt": Q + [{"role": "assistant", "content": "x"}], "response": "x", "thumb": "up"}, "must end with a user turn"),
    ({"prompt": Q, "response": "x", "thumb": "down", "flags": ["rude"]}, "unknown flag 'rude'"),
    ({"prompt": Q, "response": "  ", "thumb": "up"}, "'response' is empty"),
    ({"prompt": [], "response": "x", "thumb": "up"}, "'prompt' is empty"),
])
def test_bad_ratings_are_refused_with_the_field_named(db, body, expected):
    res = client(db).post("/feedback/ratings", json=body)
    assert res.status_code == 422 and expected in res.json()["detail"], res.text


def test_bad_comparisons_and_unknown_ids_are_refused(db, tmp_path):
    c = client(db)
    same = c.post("/feedback/comparisons", json={"prompt": Q, "responses": ["x", "x"], "winner": 0})
    assert same.status_code == 422 and "identical" in same.json()["detail"]
    three = c.post("/feedback/comparisons", json={"prompt": Q, "responses": ["x", "y", "z"], "winner": 0})
    assert three.status_code == 422 and "expected the 2 answers" in three.json()["detail"]
    winner = c.post("/feedback/comparisons", json={"prompt": Q, "responses": ["x", "y"], "winner": 2})
    assert winner.status_code == 422 and "winner" in winner.text
    thumb = c.post("/feedback/ratings", json={"prompt": Q, "response": "x", "thumb": "sideways"})
    assert thumb.status_code == 422 and "thumb" in thumb.text
    missing = c.put("/feedback/ratings/99", json={"prompt": Q, "response": "x", "thumb": "up"})
    assert missing.status_code == 404 and "no rating 99" in missing.json()["detail"]
    assert c.delete("/feedback/ratings/99").status_code == 404
    done = export_feedback(db, tmp_path / "fb")
    assert (done["n_ratings"], done["n_rankings"]) == (0, 0)  # nothing bad was stored


def test_api_key_guards_feedback_but_not_the_page(db):
    c = client(db, api_key="s3cret")
    assert c.get("/").status_code == 200
    body = {"prompt": Q, "response": "x", "thumb": "up"}
    assert c.post("/feedback/ratings", json=body).status_code == 401
    assert c.post("/feedback/ratings", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.post("/feedback/ratings", json=body, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_bad_databases_give_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such database file"):
        open_db(f"sqlite:///{tmp_path}/missing.db", create=False)
    with pytest.raises(UserError, match="not a database URL"):
        open_db("not a url://x")
    with pytest.raises(UserError, match="no driver for this database"):
        open_db("nosuchdialect://host/db")
    sqlite3.connect(tmp_path / "other.db").execute("create table t (x int)").connection.commit()
    with pytest.raises(UserError, match="has no feedback tables"):
        open_db(str(tmp_path / "other.db"), create=False)  # a plain path is a SQLite file
    (tmp_path / "notadb.db").write_text("this is not a database\n")
    with pytest.raises(UserError, match="cannot open the database"):
        open_db(str(tmp_path / "notadb.db"))


def test_export_paths_drop_a_jsonl_suffix(tmp_path):
    assert export_paths(tmp_path / "fb.jsonl") == (tmp_path / "fb.ratings.jsonl", tmp_path / "fb.rankings.jsonl")
    assert export_paths("runs/feedback") == (tmp_path.__class__("runs/feedback.ratings.jsonl"),
                                             tmp_path.__class__("runs/feedback.rankings.jsonl"))


def test_cli_export(db, tmp_path):
    c = client(db)
    rate(c, Q, "good", "up")
    rate(c, Q, "bad", "down")
    out = tmp_path / "exported"
    proc = run_cli("feedback", "export", "--db", db, "--out", str(out))
    assert "2 ratings" in proc.stdout and "1 rankings (0 from comparisons)" in proc.stdout
    assert "chatrlhf reward --model SFT_DIR --data" in proc.stdout
    rows = [json.loads(line) for line in (tmp_path / "exported.rankings.jsonl").read_text().splitlines()]
    assert rows[0]["responses"] == ["good", "bad"] and rows[0]["ranking"] == [0, 1]


def test_concurrent_feedback_is_all_stored_in_memory():
    app = FastAPI()
    add_chat_page(app, None)  # an in-memory database: one connection shared by the server's threads
    body = {"prompt": Q, "response": "", "thumb": "up"}
    with live_server(app) as url, ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda i: httpx.post(f"{url}/feedback/ratings", json={**body, "response": f"answer {i}"}),
                                range(100)))
    assert [r.status_code for r in replies] == [200] * 100
    assert len({r.json()["id"] for r in replies}) == 100
