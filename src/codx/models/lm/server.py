"""An OpenAI-compatible HTTP API over one `LocalLM` (what `codx serve MODEL` runs).

The subset of OpenAI's chat API that clients such as langchain-openai's `ChatOpenAI(base_url=...)` use, so
the agent talks to `codx serve` exactly as it talks to a vLLM deployment:

- `GET /v1/models` (and `/v1/models/{id}`): the one model served;
- `POST /v1/chat/completions`: `model`, `messages`, `max_tokens` / `max_completion_tokens`, `temperature`
  (default 0: greedy, so answers are reproducible; OpenAI's default is 1), `stop`, `stream`,
  `stream_options.include_usage`; other OpenAI fields are accepted and ignored. With `"stream": true` the
  answer comes as server-sent events in OpenAI's `chat.completion.chunk` format, ending with `data: [DONE]`;
- `GET /health`.

Bad requests get a 4xx JSON body in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
a message that says what to change: unknown model (404), bad JSON, empty or malformed messages, more new
tokens than the server allows (`--max-new-tokens`) or than the model's context holds (400).

The model generates one answer at a time (`LocalLM`'s lock); concurrent requests wait their turn. Built on
FastAPI (request validation with pydantic, SSE through `StreamingResponse`) served by uvicorn.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from codx.errors import LanguageModelError, LanguageModelRequestError
from codx.models.lm.generate import LMResult, LMStream, LocalLM

DEFAULT_MAX_NEW_TOKENS = 512


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The fields of OpenAI's chat completion request that codx uses; the others are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1)


def _error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        status_code=status,
        content={"error": {"message": message, "type": kind, "param": param, "code": code}},
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    problems, param = [], None
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            detail = e.get("ctx", {}).get("error", "")
            return f"the request body is not valid JSON ({detail}); send a JSON object", None
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        param = param or (loc[0] if loc else None)
        problems.append(f"{'.'.join(loc) or 'body'}: {e.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(problems), param


def _usage(r: LMResult) -> dict[str, int]:
    return {
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "total_tokens": r.prompt_tokens + r.completion_tokens,
    }


def _sse(payload: dict[str, Any] | str) -> str:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}\n\n"


def create_app(lm: LocalLM, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> FastAPI:
    """The API for `lm`, served under its name; answers have at most `max_new_tokens` tokens (and that many
    when a request does not say)."""
    if max_new_tokens < 1:
        raise ValueError("max_new_tokens must be at least 1")
    app = FastAPI(title=f"codx serve {lm.name}", version="1", docs_url=None, redoc_url=None)
    created = int(time.time())
    card = {
        "id": lm.name,
        "object": "model",
        "created": created,
        "owned_by": "codx",
        "max_model_len": lm.context_tokens,
        "prompt_format": lm.prompt_format,
    }

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return _error(400, message, param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        hint = "; this server has GET /v1/models and POST /v1/chat/completions" if exc.status_code == 404 else ""
        return _error(exc.status_code, f"{exc.detail} ({request.method} {request.url.path}){hint}")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": lm.name}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [card]}

    @app.get("/v1/models/{model_id:path}", response_model=None)
    def model(model_id: str) -> dict[str, Any] | JSONResponse:
        if model_id != lm.name:
            return _unknown_model(model_id)
        return card

    def _unknown_model(name: str) -> JSONResponse:
        return _error(
            404,
            f"the model {name!r} does not exist here; this server serves {lm.name!r} (GET /v1/models)",
            param="model",
            code="model_not_found",
        )

    @app.post("/v1/chat/completions", response_model=None)
    def chat_completions(body: ChatCompletionRequest) -> dict[str, Any] | JSONResponse | StreamingResponse:
        if body.model != lm.name:
            return _unknown_model(body.model)
        if body.n != 1:
            return _error(400, "n must be 1: this server returns one answer per request", param="n")
        wanted = body.max_completion_tokens or body.max_tokens or max_new_tokens
        if wanted > max_new_tokens:
            param = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
            return _error(
                400,
                f"{param} is {wanted}, but this server generates at most {max_new_tokens} tokens per answer "
                "(codx serve --max-new-tokens): ask for fewer",
                param=param,
            )
        temperature = body.temperature or 0.0
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        try:
            if body.stream:
                stream = lm.stream(body.messages, max_new_tokens=wanted, temperature=temperature, stop=body.stop)
            else:
                result = lm.chat(body.messages, max_new_tokens=wanted, temperature=temperature, stop=body.stop)
        except LanguageModelRequestError as e:
            return _error(400, str(e), param=e.param)
        except LanguageModelError as e:
            return _error(500, str(e))
        if body.stream:
            usage = body.stream_options is not None and body.stream_options.include_usage
            return StreamingResponse(
                _events(stream, completion_id, lm.name, usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": lm.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": result.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": _usage(result),
        }

    return app


def _events(stream: LMStream, completion_id: str, model: str, include_usage: bool) -> Iterator[str]:
    """OpenAI's streaming format: a role chunk, content chunks, a chunk with the finish reason, [DONE]."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    try:
        yield _sse(chunk({"role": "assistant", "content": ""}))
        for piece in stream:
            yield _sse(chunk({"content": piece}))
        result = stream.result
        yield _sse(chunk({}, result.finish_reason if result else "stop"))
        if include_usage and result is not None:
            yield _sse(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": _usage(result),
                }
            )
    except LanguageModelError as e:  # the status line is sent already: the error goes in the stream
        yield _sse({"error": {"message": str(e), "type": "server_error", "param": None, "code": None}})
    finally:
        stream.close()
    yield _sse("[DONE]")


def serve(
    lm: LocalLM,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    log_level: str = "info",
) -> None:
    """Serve `lm` until interrupted (Ctrl-C or SIGTERM end it cleanly)."""
    import uvicorn

    uvicorn.run(create_app(lm, max_new_tokens=max_new_tokens), host=host, port=port, log_level=log_level)


__all__ = ["ChatCompletionRequest", "DEFAULT_MAX_NEW_TOKENS", "create_app", "serve"]
