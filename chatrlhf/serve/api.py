"""The OpenAI-compatible HTTP API over one model (FastAPI; `chatrlhf serve` runs it with uvicorn).

    chatrlhf serve --model runs/default/ppo --moderation runs/moderation --port 8000 [--api-key KEY]

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="KEY")
    client.chat.completions.create(model="ppo", messages=[{"role": "user", "content": "Hi"}], stream=True)

Routes: POST /v1/chat/completions (messages, temperature, top_p, max_tokens or max_completion_tokens, n,
stop, seed, stream with server-sent events ending in `data: [DONE]`), GET /v1/models, POST /v1/moderations,
GET /health. Every error under /v1 has OpenAI's shape `{"error": {"message", "type", "param", "code"}}`;
with an API key set, /v1 answers 401 to a request without `Authorization: Bearer KEY`. Input that the
moderation model flags gets a short refusal with finish reason `content_filter` and never reaches the
model; a flagged answer is withheld with a note (see engine.py). `GET /` is left to the chat page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal, TypeVar

import torch
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatrlhf.config import ServeConfig
from chatrlhf.serve.engine import Engine, Job, Piece, load_engine, refusal
from chatrlhf.serve.feedback import add_chat_page

Shape = TypeVar("Shape", bound=BaseModel)


class APIError(Exception):
    """An error answered in OpenAI's shape with an HTTP status."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


# ---- request shapes (unknown fields are ignored, as clients send many) -------------------------------------


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[Message]
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None


class ModerationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: str | list[str]
    model: str | None = None


async def parse(request: Request, shape: type[Shape]) -> Shape:
    """The JSON body as `shape`, or a 400 naming what is wrong."""
    try:
        data = json.loads(await request.body())
    except ValueError as e:
        raise APIError(400, f"We could not parse the JSON body of your request ({e}); send a JSON object with "
                       "Content-Type: application/json.") from None
    if not isinstance(data, dict):
        raise APIError(400, f"The request body must be a JSON object, got a JSON {type(data).__name__}.")
    try:
        return shape.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        param = ".".join(str(p) for p in err["loc"] if p not in ("str", "list[str]", "list[TextPart]"))
        if err["type"] == "missing":
            raise APIError(400, f"Missing required parameter: '{param}'.", param=param,
                           code="missing_required_parameter") from None
        given = repr(err.get("input"))
        given = given if len(given) <= 60 else given[:57] + "..."
        raise APIError(400, f"Invalid '{param}': {err['msg']} (got {given}).", param=param, code="invalid_value") from None


def conversation(messages: list[Message]) -> list[dict]:
    """Messages as the chat template takes them: text content, `developer` as `system`."""
    if not messages:
        raise APIError(400, "Invalid 'messages': empty array. Expected an array with at least one message.",
                       param="messages", code="empty_array")
    out = []
    for m in messages:
        text = m.content if isinstance(m.content, str) else "".join(part.text for part in m.content)
        out.append({"role": "system" if m.role == "developer" else m.role, "content": text})
    return out


def stop_strings(stop: str | list[str] | None) -> list[str]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if len(stops) > 4 or any(not s for s in stops):
        raise APIError(400, "Invalid 'stop': expected up to 4 non-empty strings.", param="stop", code="invalid_value")
    return stops


def answer_limit(req: ChatRequest, prompt_tokens: int, context: int, default: int) -> int:
    """The answer's token limit, or a 400 when the prompt or the requested limit does not fit the context."""
    if prompt_tokens >= context:
        raise APIError(400, f"This model's maximum context length is {context} tokens, but the messages take "
                       f"{prompt_tokens} tokens, leaving no room for an answer. Shorten the messages.",
                       param="messages", code="context_length_exceeded")
    asked, param = ((req.max_completion_tokens, "max_completion_tokens") if req.max_completion_tokens is not None
                    else (req.max_tokens, "max_tokens"))
    room = context - prompt_tokens
    if asked is not None and asked > room:
        raise APIError(400, f"This model's maximum context length is {context} tokens. However, you requested "
                       f"{prompt_tokens + asked} tokens ({prompt_tokens} in the messages, {asked} in the completion). "
                       f"Reduce {param} to at most {room}.", param=param, code="context_length_exceeded")
    return asked if asked is not None else min(default, room)


async def pieces(engine: Engine, job: Job, flagged: list[str]) -> AsyncIterator[Piece]:
    """The job's pieces as the worker emits them, without blocking the event loop; flagged input gets the
    refusal without reaching the model. A caller that stops listening cancels the job."""
    if flagged:
        for i in range(job.n):
            yield Piece(i, refusal(flagged), "content_filter", 0)
        return
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Piece] = asyncio.Queue()

    def emit(piece: Piece) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop closed while the worker still decoded
            loop.call_soon_threadsafe(inbox.put_nowait, piece)

    job.emit = emit
    engine.submit(job)
    finished = 0
    try:
        while finished < job.n:
            piece = await inbox.get()
            finished += piece.finish_reason is not None
            yield piece
    finally:
        job.cancelled = finished < job.n


def openai_router(engine: Engine, name: str, moderation_name: str | None, api_key: str | None,
                  cfg: ServeConfig) -> APIRouter:
    """The /v1 routes. The key is checked before the body is read, so a request without it gets 401 first."""

    def check_key(authorization: str | None = Header(default=None)) -> None:
        if api_key is None:
            return
        if not authorization:
            raise APIError(401, "You didn't provide an API key. Send it in an 'Authorization: Bearer KEY' header.")
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), api_key.encode()):
            raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")

    router = APIRouter(prefix="/v1", dependencies=[Depends(check_key)])

    def model_card(model_id: str) -> dict:
        return {"id": model_id, "object": "model", "created": 0, "owned_by": "chatrlhf"}

    @router.get("/models")
    def models() -> dict:
        return {"object": "list", "data": [model_card(m) for m in (name, moderation_name) if m]}

    @router.get("/models/{model_id}")
    def model(model_id: str) -> dict:
        if model_id not in (name, moderation_name):
            raise APIError(404, f"The model '{model_id}' does not exist.", param="model", code="model_not_found")
        return model_card(model_id)

    @router.post("/chat/completions")
    async def chat_completions(request: Request):
        req = await parse(request, ChatRequest)
        if req.model != name:
            raise APIError(404, f"The model '{req.model}' does not exist; this server serves '{name}' (GET /v1/models).",
                           param="model", code="model_not_found")
        messages = conversation(req.messages)
        n = req.n or 1
        if n > engine.max_batch:
            raise APIError(400, f"Invalid 'n': at most {engine.max_batch} answers per request, got {n}.", param="n",
                           code="invalid_value")
        prompt = engine.encode(messages)
        limit = answer_limit(req, len(prompt), engine.context, cfg.max_tokens)
        stops = stop_strings(req.stop)
        seed = req.seed if req.seed is not None else secrets.randbits(63)
        job = Job(prompt, limit, n=n, stop=stops,
                  temperature=req.temperature if req.temperature is not None else cfg.temperature,
                  top_p=req.top_p if req.top_p is not None else cfg.top_p,
                  generator=torch.Generator(engine.device).manual_seed(seed))
        flagged = await asyncio.to_thread(engine.flags, [m["content"] for m in messages if m["role"] != "assistant"])
        meta = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": name,
                "system_fingerprint": None}
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(event_stream(pieces(engine, job, flagged), meta, n, len(prompt), include_usage),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        texts, reasons, tokens = [""] * n, [None] * n, [0] * n
        async for p in pieces(engine, job, flagged):
            # A withheld answer replaces what passed before it; the line break only parts the two in a stream.
            texts[p.index] = p.text.lstrip("\n") if p.finish_reason == "content_filter" else texts[p.index] + p.text
            if p.finish_reason:
                reasons[p.index], tokens[p.index] = p.finish_reason, p.tokens
        if "error" in reasons:
            raise APIError(500, "The model failed while answering; see the server's log.", type="server_error")
        choices = [{"index": i, "message": {"role": "assistant", "content": texts[i], "refusal": None},
                    "logprobs": None, "finish_reason": reasons[i]} for i in range(n)]
        return {**meta, "object": "chat.completion", "choices": choices, "usage": usage(len(prompt), sum(tokens))}

    @router.post("/moderations")
    async def moderations(request: Request) -> dict:
        req = await parse(request, ModerationRequest)
        if engine.moderation is None:
            raise APIError(404, "No moderation model is loaded; start the server with --moderation DIR.",
                           param="model", code="model_not_found")
        if req.model is not None and req.model != moderation_name:
            raise APIError(404, f"The model '{req.model}' does not exist; the moderation model is '{moderation_name}'.",
                           param="model", code="model_not_found")
        texts = [req.input] if isinstance(req.input, str) else req.input
        if not texts:
            raise APIError(400, "Invalid 'input': empty array.", param="input", code="empty_array")
        results = await asyncio.to_thread(engine.moderate, texts)
        return {"id": f"modr-{uuid.uuid4().hex}", "model": moderation_name, "results": results}

    return router


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


async def event_stream(answer: AsyncIterator[Piece], meta: dict, n: int, prompt_tokens: int,
                       include_usage: bool) -> AsyncIterator[str]:
    """Server-sent chat.completion.chunk events: each answer's role, its text pieces, its finish reason; the
    usage when asked for; then `data: [DONE]`."""

    def event(choices: list[dict], **extra) -> str:
        chunk = {**meta, "object": "chat.completion.chunk", "choices": choices, **extra}
        if include_usage:
            chunk.setdefault("usage", None)
        return f"data: {json.dumps(chunk)}\n\n"

    def choice(index: int, delta: dict, finish_reason: str | None = None) -> dict:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    for i in range(n):
        yield event([choice(i, {"role": "assistant", "content": ""})])
    completion_tokens = 0
    async for p in answer:
        if p.finish_reason == "error":
            error = APIError(500, "The model failed while answering; see the server's log.", type="server_error")
            yield f"data: {json.dumps(error.body())}\n\n"
            continue
        if p.text:
            yield event([choice(p.index, {"content": p.text})])
        if p.finish_reason:
            completion_tokens += p.tokens
            yield event([choice(p.index, {}, p.finish_reason)])
    if include_usage:
        yield event([], usage=usage(prompt_tokens, completion_tokens))
    yield "data: [DONE]\n\n"


def _openai_shaped(app: FastAPI) -> None:
    """Errors under /v1 in OpenAI's shape; other routes (the chat page's) keep FastAPI's own."""

    async def api_error(request: Request, e: APIError) -> JSONResponse:
        return JSONResponse(e.body(), status_code=e.status)

    async def http_error(request: Request, e: StarletteHTTPException):
        if not request.url.path.startswith("/v1"):
            return await http_exception_handler(request, e)
        message = f"Invalid URL ({request.method} {request.url.path})" if e.status_code in (404, 405) else str(e.detail)
        return JSONResponse(APIError(e.status_code, message).body(), status_code=e.status_code)

    async def server_error(request: Request, e: Exception) -> JSONResponse:
        error = APIError(500, f"The server had an error while processing your request ({type(e).__name__}).",
                         type="server_error")
        return JSONResponse(error.body(), status_code=500)

    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, server_error)


def create_app(model_dir: str | Path, moderation_dir: str | Path | None = None, api_key: str | None = None,
               cfg: ServeConfig | None = None, model_name: str | None = None, db: str | None = None) -> FastAPI:
    """The API over the checkpoint (or run directory) `model_dir`, served as `model_name` (default: the
    directory's name), with the chat page at `GET /` storing its feedback in the database `db` (feedback.py)."""
    cfg = cfg or ServeConfig()
    engine = load_engine(model_dir, moderation_dir, cfg)
    name = model_name or Path(model_dir).resolve().name
    moderation_name = Path(moderation_dir).resolve().name if moderation_dir else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await asyncio.to_thread(engine.close)  # finish queued jobs, stop the worker thread

    app = FastAPI(title="chatrlhf", description="OpenAI-compatible chat completions and moderations", lifespan=lifespan)
    app.state.engine, app.state.model_name, app.state.api_key = engine, name, api_key
    _openai_shaped(app)
    app.include_router(openai_router(engine, name, moderation_name, api_key, cfg))
    add_chat_page(app, db, api_key)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": name, "moderation": moderation_name, "context": engine.context}

    return app
