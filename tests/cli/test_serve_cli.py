"""`codx serve` as a real subprocess, used through langchain-openai; `codx models ...`; `codx bench lm-speed`."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.servers import free_port, running

from codx.cli.main import cli

NAME = "smollm2-135m-instruct"


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CODX_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "CODX_THREADS": "1",
        "COLUMNS": "200",  # rich tables as wide as a terminal, so names are not folded
    }


@pytest.fixture(scope="module")
def server(smollm_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    cmd = [sys.executable, "-m", "codx.cli.main", "serve", NAME, "--port", str(port), "--max-new-tokens", "32"]
    base_url = f"http://127.0.0.1:{port}/v1"
    with running(cmd, _env(smollm_data_dir), log, f"{base_url}/models", wait_s=180):
        yield base_url


@pytest.mark.slow
def test_chat_openai_talks_to_codx_serve(server: str):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(base_url=server, api_key="not-needed", model=NAME, max_tokens=8, temperature=0)
    answer = model.invoke("What is a fever?")
    assert isinstance(answer.content, str) and answer.content.strip()
    assert answer.usage_metadata["output_tokens"] <= 8
    pieces = [chunk.content for chunk in model.stream("What is a fever?")]
    assert "".join(pieces) == answer.content  # greedy: the same answer, streamed
    assert sum(1 for p in pieces if p) > 1


@pytest.mark.slow
def test_make_chat_model_finds_the_served_model(server: str, tmp_path: Path):
    from codx.agent.chat_models import make_chat_model

    model = make_chat_model(f"openai:{server}", tmp_path, max_new_tokens=4)
    assert model.model_name == NAME
    assert model.invoke("Hello").content


@pytest.mark.slow
def test_bad_requests_get_a_readable_4xx(server: str):
    def post(body: bytes) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{server}/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, body = post(b'{"model": "smollm2')
    assert status == 400 and "not valid JSON" in body["error"]["message"]
    status, body = post(json.dumps({"model": NAME, "messages": [], "max_tokens": 4}).encode())
    assert status == 400 and "messages is empty" in body["error"]["message"]
    status, body = post(json.dumps({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}).encode())
    assert status == 404 and body["error"]["code"] == "model_not_found"
    status, body = post(
        json.dumps({"model": NAME, "messages": [{"role": "user", "content": "x"}], "max_tokens": 33}).encode()
    )
    assert status == 400 and "at most 32" in body["error"]["message"]


@pytest.fixture
def run(smollm_data_dir: Path):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env=_env(smollm_data_dir), catch_exceptions=False)

    return invoke


@pytest.mark.slow
def test_models_list_and_info(run):
    listed = run("models", "list")
    assert listed.exit_code == 0, listed.output
    assert NAME in listed.output and "gemma-3-270m" in listed.output and "not converted" in listed.output
    info = run("models", "info", NAME, "--json")
    assert info.exit_code == 0, info.output
    card = json.loads(info.output)
    assert card["kind"] == "language model" and card["parameters"]["dtype"] == "float32"
    text = run("models", "info", NAME)
    assert "license: Apache-2.0" in text.output
    missing = run("models", "info", "no-such-model")
    assert missing.exit_code == 2 and "smollm2-135m-instruct" in missing.output


@pytest.mark.slow
def test_bench_lm_speed_writes_a_report(run, smollm_data_dir: Path, tmp_path: Path):
    out = tmp_path / "lm-speed.json"
    folder = smollm_data_dir / "models" / "lm" / NAME
    result = run(
        "bench", "lm-speed", "--models", str(folder), "--prompt-tokens", "8", "--new-tokens", "2",
        "--repeats", "1", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    (speed,) = report["summary"]["models"].values()
    assert speed["prompt_tokens_per_s"] > 0 and speed["generation_tokens_per_s"] > 0
    assert report["summary"]["torch_threads"] == 1
    assert [c["new_tokens"] for c in report["cases"]] == [2]


def test_command_help():
    runner = CliRunner()
    for args in (["serve", "--help"], ["models", "convert", "lm", "--help"], ["bench", "lm-speed", "--help"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
