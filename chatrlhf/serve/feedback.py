"""Feedback from the web chat page: thumbs and comparisons in a database, exported as reward-model data.

    chatrlhf serve --model runs/default/ppo --db sqlite:///runs/feedback.db   # the page is at GET /
    chatrlhf feedback export --db sqlite:///runs/feedback.db --out runs/feedback
    chatrlhf reward --model runs/default/sft --data runs/feedback.rankings.jsonl --out runs/rm_feedback

The page sends two kinds of feedback, each with the conversation it answers (the messages up to the
user turn the answer replies to):
- a thumb up or down on one answer, optionally with reasons for a thumb down (InstructGPT's flags);
- a comparison: two answers to the same conversation side by side, and the one the user picked.

The export closes the loop as ChatGPT's feedback does: thumbs become rating rows (docs/design.md section 4)
with up as Likert 6 and down as 2, and become rankings where one user thumbed answers of the same
conversation both ways (every answer thumbed up above every answer thumbed down, two tie groups);
each comparison becomes a K=2 ranking. `chatrlhf reward --data` reads the rankings file.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy import JSON, DateTime, Engine, String, Text, create_engine, inspect, make_url, select
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from chatrlhf.config import UserError
from chatrlhf.data import RATING_FLAGS, DataError, validate_ranking, validate_rating

log = logging.getLogger("chatrlhf.serve")
STATIC = Path(__file__).parent / "static"
# A thumb is coarser than a 1-7 rating: up and down sit one step inside the ends of the scale, so a
# Likert 7 or 1 stays for labelers who rate on the full scale.
THUMB_LIKERT = {"up": 6, "down": 2}


# --- The database ---------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """The feedback tables."""


class Rating(Base):
    """A thumb on one answer; changing the thumb updates the row."""

    __tablename__ = "feedback_ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    prompt: Mapped[list] = mapped_column(JSON)  # messages ending with the user turn the answer replies to
    response: Mapped[str] = mapped_column(Text)
    thumb: Mapped[str] = mapped_column(String(4))  # "up" or "down"
    flags: Mapped[dict] = mapped_column(JSON, default=dict)  # InstructGPT flags the user ticked, name: true
    labeler: Mapped[str] = mapped_column(String(100), default="")  # the page's anonymous id for its user
    model: Mapped[str] = mapped_column(String(200), default="")  # the model that answered


class Comparison(Base):
    """Two answers to one conversation and the one the user picked."""

    __tablename__ = "feedback_comparisons"
    id: Mapped[int] = mapped_column(primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    prompt: Mapped[list] = mapped_column(JSON)
    responses: Mapped[list] = mapped_column(JSON)  # the two answers, as shown left and right
    winner: Mapped[int] = mapped_column()  # index of the better answer in responses
    labeler: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200), default="")


def database_url(db: str) -> str:
    """A SQLAlchemy URL; a plain path (no "://") is taken as a SQLite file."""
    return db if "://" in db else f"sqlite:///{db}"


def open_db(db: str, create: bool = True) -> Engine:
    """An engine on `db` (any SQLAlchemy URL, or a SQLite file path) with the feedback tables in it.

    create=False (export): a missing SQLite file or a database without the tables is an error.
    """
    try:
        url = make_url(database_url(db))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise UserError(f"--db {db!r}: not a database URL; expected e.g. sqlite:///runs/feedback.db "
                        "or postgresql://user@host/name") from None
    shown = url.render_as_string(hide_password=True)
    sqlite = url.get_backend_name() == "sqlite"
    in_memory = sqlite and url.database in (None, "", ":memory:")
    if sqlite and not in_memory:
        path = Path(url.database)
        if not create and not path.is_file():
            raise UserError(f"{shown}: no such database file; `chatrlhf serve --db {db}` creates it")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
    # An in-memory SQLite database lives in one connection, so every thread must share that connection.
    shared = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}} if in_memory else {}
    try:
        engine = create_engine(url, **shared)
        if create:
            Base.metadata.create_all(engine)
        elif not inspect(engine).has_table(Rating.__tablename__):
            raise UserError(f"{shown}: has no feedback tables; expected a database written by `chatrlhf serve --db`")
    except (NoSuchModuleError, ModuleNotFoundError) as e:
        raise UserError(f"{shown}: no driver for this database ({e}); install it or use sqlite:///FILE") from None
    except SQLAlchemyError as e:
        raise UserError(f"{shown}: cannot open the database ({getattr(e, 'orig', None) or e})") from None
    return engine


# --- The page's feedback calls ----------------------------------------------------------------------------


class RatingIn(BaseModel):
    prompt: list = Field(description="Messages ending with the user turn that the answer replies to.")
    response: str = Field(description="The answer that was thumbed.")
    thumb: Literal["up", "down"]
    flags: list[str] = Field(default=[], description=f"Reasons for a thumb down, any of: {', '.join(RATING_FLAGS)}.")
    labeler: str = Field(default="", max_length=100, description="An anonymous id of the user.")
    model: str = Field(default="", max_length=200, description="The model that answered.")


class ComparisonIn(BaseModel):
    prompt: list = Field(description="Messages ending with the user turn that both answers reply to.")
    responses: list[str] = Field(description="The two answers, left then right.")
    winner: Literal[0, 1] = Field(description="Index of the better answer.")
    labeler: str = Field(default="", max_length=100)
    model: str = Field(default="", max_length=200)


def _checked_rating(body: RatingIn) -> dict:
    """The rating row the export will write for `body`, checked by the project's own validator (422 if bad)."""
    row = {"prompt": body.prompt, "response": body.response, "likert": THUMB_LIKERT[body.thumb],
           "flags": {name: True for name in body.flags}, "labeler": body.labeler}
    try:
        row = validate_rating(row, "rating")
    except DataError as e:
        raise HTTPException(422, str(e)) from None
    if not body.response.strip():
        raise HTTPException(422, "rating: 'response' is empty; expected the answer that was thumbed")
    return row


def _checked_comparison(body: ComparisonIn) -> dict:
    if len(body.responses) != 2:
        raise HTTPException(422, f"comparison: 'responses' has {len(body.responses)}; expected the 2 answers compared")
    row = {"prompt": body.prompt, "responses": body.responses, "ranking": [body.winner, 1 - body.winner],
           "labeler": body.labeler}
    try:
        row = validate_ranking(row, "comparison")
    except DataError as e:
        raise HTTPException(422, str(e)) from None
    if any(not r.strip() for r in body.responses):
        raise HTTPException(422, "comparison: an answer is empty; expected two non-empty answers")
    if body.responses[0] == body.responses[1]:
        raise HTTPException(422, "comparison: the two answers are identical; nothing to prefer")
    return row


def feedback_router(engine: Engine, api_key: str | None = None) -> APIRouter:
    """POST/PUT/DELETE /feedback/ratings and POST /feedback/comparisons, stored through `engine`.

    With an API key the calls need `Authorization: Bearer KEY`, as the chat API does: feedback becomes
    training data, so whoever may not chat may not write it.
    """

    def check_key(authorization: str | None = Header(default=None)) -> None:
        if api_key is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong API key; send Authorization: Bearer KEY")

    router = APIRouter(prefix="/feedback", tags=["feedback"], dependencies=[Depends(check_key)])

    lock = threading.Lock()  # one request at a time: an in-memory SQLite database is one shared connection

    @contextmanager
    def session() -> Iterator[Session]:
        with lock, Session(engine) as s:
            yield s

    @router.post("/ratings")
    def add_rating(body: RatingIn) -> dict:
        """Store a thumb on an answer; returns its id, for changing or withdrawing it."""
        row = _checked_rating(body)
        with session() as s:
            rating = Rating(prompt=row["prompt"], response=body.response, thumb=body.thumb, flags=row["flags"],
                            labeler=body.labeler, model=body.model)
            s.add(rating)
            s.commit()
            return {"id": rating.id}

    @router.put("/ratings/{rating_id}")
    def change_rating(rating_id: int, body: RatingIn) -> dict:
        """Change a thumb (or its reasons); the answer and conversation stay those first sent."""
        row = _checked_rating(body)
        with session() as s:
            rating = s.get(Rating, rating_id)
            if rating is None:
                raise HTTPException(404, f"no rating {rating_id}")
            rating.thumb, rating.flags = body.thumb, row["flags"]
            s.commit()
            return {"id": rating_id}

    @router.delete("/ratings/{rating_id}")
    def withdraw_rating(rating_id: int) -> dict:
        with session() as s:
            rating = s.get(Rating, rating_id)
            if rating is None:
                raise HTTPException(404, f"no rating {rating_id}")
            s.delete(rating)
            s.commit()
            return {"id": rating_id}

    @router.post("/comparisons")
    def add_comparison(body: ComparisonIn) -> dict:
        """Store which of two answers to one conversation the user picked."""
        row = _checked_comparison(body)
        with session() as s:
            comparison = Comparison(prompt=row["prompt"], responses=body.responses, winner=body.winner,
                                    labeler=body.labeler, model=body.model)
            s.add(comparison)
            s.commit()
            return {"id": comparison.id}

    return router


def add_chat_page(app: FastAPI, db: str | None = None, api_key: str | None = None) -> Engine:
    """Serve the chat page at GET /, its files under /static and the feedback calls under /feedback, stored
    in the database `db` (None: in memory, lost when the server stops).

    The page itself is public (a browser cannot send a key to open it); it asks for the key and sends it.
    """
    if db is None:
        log.warning("chat page feedback is kept in memory only; pass a database (--db) to keep it")
    engine = open_db(db or "sqlite://")
    app.include_router(feedback_router(engine, api_key))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return engine


# --- Export ------------------------------------------------------------------------------------------------


def rating_row(r: Rating) -> dict:
    """A rating row (docs/design.md section 4) for one thumb."""
    return {"prompt": r.prompt, "response": r.response, "likert": THUMB_LIKERT[r.thumb], "flags": r.flags,
            "labeler": r.labeler, "meta": {"source": "thumbs", "thumb": r.thumb, "feedback_id": r.id,
                                           "model": r.model, "created": r.created.isoformat()}}


def comparison_row(c: Comparison) -> dict:
    """A K=2 ranking row for one comparison."""
    return {"prompt": c.prompt, "responses": c.responses, "ranking": [c.winner, 1 - c.winner], "labeler": c.labeler,
            "meta": {"source": "compare", "feedback_id": c.id, "model": c.model, "created": c.created.isoformat()}}


def thumb_rankings(ratings: list[Rating]) -> list[dict]:
    """Rankings from thumbs: for each user and conversation with answers thumbed both ways, the answers
    thumbed up (one tie group) above those thumbed down (another). An answer thumbed twice keeps its last thumb."""
    last: dict[tuple[str, str], dict[str, Rating]] = defaultdict(dict)
    for r in sorted(ratings, key=lambda r: r.id):
        last[(r.labeler, json.dumps(r.prompt, sort_keys=True))][r.response] = r
    rows = []
    for by_text in last.values():
        ups = [r for r in by_text.values() if r.thumb == "up"]
        downs = [r for r in by_text.values() if r.thumb == "down"]
        if not ups or not downs:
            continue
        groups = [list(range(len(ups))), list(range(len(ups), len(ups) + len(downs)))]
        rows.append({"prompt": ups[0].prompt, "responses": [r.response for r in ups + downs],
                     "ranking": [g[0] if len(g) == 1 else g for g in groups], "labeler": ups[0].labeler,
                     "meta": {"source": "thumbs", "feedback_ids": [r.id for r in ups + downs]}})
    return rows


def export_paths(out: str | Path) -> tuple[Path, Path]:
    """(ratings, rankings) files for the prefix `out`; a trailing .jsonl is dropped from the prefix."""
    out = Path(out)
    stem = out.name.removesuffix(".jsonl")
    return out.with_name(f"{stem}.ratings.jsonl"), out.with_name(f"{stem}.rankings.jsonl")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """All rows or none: written to a temporary file, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, path)


def export_feedback(db: str, out: str | Path, with_thumb_rankings: bool = True) -> dict[str, Any]:
    """Write OUT.ratings.jsonl and OUT.rankings.jsonl from the database `db`; returns the paths and row counts."""
    engine = open_db(db, create=False)
    try:
        with Session(engine) as s:
            ratings = list(s.scalars(select(Rating).order_by(Rating.id)))
            comparisons = list(s.scalars(select(Comparison).order_by(Comparison.id)))
            rating_rows = [rating_row(r) for r in ratings]
            rankings = [comparison_row(c) for c in comparisons]
            if with_thumb_rankings:
                rankings += thumb_rankings(ratings)
    except SQLAlchemyError as e:
        raise UserError(f"{db}: cannot read the feedback tables ({getattr(e, 'orig', None) or e})") from None
    finally:
        engine.dispose()
    ratings_path, rankings_path = export_paths(out)
    _write_jsonl(ratings_path, rating_rows)
    _write_jsonl(rankings_path, rankings)
    return {"ratings": ratings_path, "rankings": rankings_path, "n_ratings": len(rating_rows),
            "n_rankings": len(rankings), "n_comparisons": len(comparisons)}
