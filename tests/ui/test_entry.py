"""The real entry points: `app.py` as Streamlit runs it (Settings from CODX_* variables, engine built once per
process), and the `codx ui` / `codx bench ui` commands."""

from __future__ import annotations

import importlib.util
import os
import subprocess

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest
from support.clinic import save_clinic
from ui_harness import clinic_env

from codx.cli.main import cli

APP = importlib.util.find_spec("codx.ui.app").origin


def test_the_app_script_builds_its_engine_from_settings_and_keeps_consultations(tmp_path, monkeypatch):
    for k, v in clinic_env(save_clinic(tmp_path / "data")).items():
        monkeypatch.setenv(k, v)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    at.chat_input[0].set_value("I have chest pain").run()
    assert any("Call 999 now" in e.value for e in at.error), "the configured emergency number"
    assert (tmp_path / "data" / "consultations.sqlite").exists(), "SQLite in the data directory by default"
    again = AppTest.from_file(APP, default_timeout=60)
    again.query_params["thread"] = at.query_params["thread"]
    again.run()
    assert any("Call 999 now" in e.value for e in again.error), "the same consultation after a reload"


def test_codx_ui_runs_streamlit_on_the_app_and_passes_its_flags(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "execv", lambda path, cmd: calls.append(cmd))
    result = CliRunner().invoke(cli, ["ui", "--server.port", "8611", "--server.headless", "true"])
    assert result.exit_code == 0, result.output
    (cmd,) = calls
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == APP
    assert cmd[-4:] == ["--server.port", "8611", "--server.headless", "true"]


def test_codx_bench_ui_runs_the_benchmark_module(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(os, "execv", lambda path, cmd: calls.append(cmd))
    result = CliRunner().invoke(cli, ["bench", "ui", "--sessions", "3", "--out", str(tmp_path / "ui.json")])
    assert result.exit_code == 0, result.output
    assert calls[0][1:3] == ["-m", "codx.ui.bench"] and calls[0][3:5] == ["--sessions", "3"]


@pytest.mark.slow
def test_the_benchmark_module_end_to_end(tmp_path):
    """`python -m codx.ui.bench` on the clinic pack: JSON written, no cross-talk."""
    import json
    import sys

    env = {**os.environ, **clinic_env(save_clinic(tmp_path / "data"))}
    out = tmp_path / "ui.json"
    args = ["--sessions", "4", "--turns", "3", "--out", str(out)]
    proc = subprocess.run([sys.executable, "-m", "codx.ui.bench", *args], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["summary"]["sessions"] == 4 and report["summary"]["sessions_with_cross_talk"] == 0
    assert len(report["cases"]) == 4 and "turn_ms_p95" in report["summary"]
    assert not (tmp_path / "data" / "consultations.sqlite").exists(), "bench threads stay out of the app's list"
