"""The OpenAI-compatible API in-process (FastAPI's TestClient): answers, server-sent events, 4xx errors."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from codx.models.lm.generate import LocalLM
from codx.models.lm.server import create_app

pytestmark = pytest.mark.slow

NAME = "smollm2-135m-instruct"
ASK = {"model": NAME, "messages": [{"role": "user", "content": "What is a fever?"}], "max_tokens": 8}


@pytest.fixture(scope="module")
def client(smollm: LocalLM) -> TestClient:
    return TestClient(create_app(smollm, max_new_tokens=64))


def _events(text: str) -> list[str]:
    assert text.endswith("\n\n")
    lines = [block for block in text.split("\n\n") if block]
    assert all(line.startswith("data: ") for line in lines)
    return [line[len("data: ") :] for line in lines]


def test_models(client: TestClient):
    r = client.get("/v1/models")
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["data"]] == [NAME]
    assert client.get(f"/v1/models/{NAME}").json()["id"] == NAME
    assert client.get("/v1/models/other").status_code == 404
    assert client.get("/health").json()["status"] == "ok"


def test_chat_completion_with_usage(client: TestClient, smollm: LocalLM):
    r = client.post("/v1/chat/completions", json=ASK)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == NAME
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "length"
    assert choice["message"]["content"] == smollm.chat(ASK["messages"], max_new_tokens=8).text
    usage = body["usage"]
    assert usage["completion_tokens"] == 8
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_streamed_chat_completion(client: TestClient):
    r = client.post("/v1/chat/completions", json={**ASK, "stream": True, "stream_options": {"include_usage": True}})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 8
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    whole = client.post("/v1/chat/completions", json=ASK).json()["choices"][0]["message"]["content"]
    assert text == whole


def test_stream_without_usage_has_no_usage_chunk(client: TestClient):
    r = client.post("/v1/chat/completions", json={**ASK, "max_tokens": 2, "stream": True})
    chunks = [json.loads(e) for e in _events(r.text)[:-1]]
    assert all(c["choices"] for c in chunks)


@pytest.mark.parametrize(
    ("body", "status", "param", "words"),
    [
        ({**ASK, "model": "gpt-4"}, 404, "model", "does not exist"),
        ({**ASK, "messages": []}, 400, "messages", "empty"),
        ({**ASK, "messages": [{"role": "robot", "content": "x"}]}, 400, "messages", "role"),
        ({**ASK, "max_tokens": 65}, 400, "max_tokens", "at most 64"),
        ({**ASK, "max_completion_tokens": 1000}, 400, "max_completion_tokens", "at most 64"),
        ({**ASK, "max_tokens": 0}, 400, "max_tokens", "greater than or equal to 1"),
        ({**ASK, "temperature": 3}, 400, "temperature", "less than or equal to 2"),
        ({**ASK, "n": 2}, 400, "n", "n must be 1"),
        ({"messages": ASK["messages"]}, 400, "model", "model: Field required"),
        ({**ASK, "stream": True, "messages": []}, 400, "messages", "empty"),
    ],
)
def test_bad_requests_get_readable_4xx(client: TestClient, body, status, param, words):
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == status
    error = r.json()["error"]
    assert words in error["message"]
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_bad_json_and_unknown_paths(client: TestClient):
    r = client.post("/v1/chat/completions", content=b'{"model": "x",', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = client.post("/v1/completions", json=ASK)
    assert r.status_code == 404 and "/v1/chat/completions" in r.json()["error"]["message"]


def test_a_prompt_beyond_the_context_is_refused(smollm: LocalLM):
    wide = TestClient(create_app(smollm, max_new_tokens=10_000))
    r = wide.post("/v1/chat/completions", json={**ASK, "max_tokens": 9000})
    assert r.status_code == 400 and "reads at most 8192" in r.json()["error"]["message"]
