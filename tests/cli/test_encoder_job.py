"""codx's English encoder trained in the background on the app's first start: when a job starts, that only
one runs per data directory, and that consultations switch to the encoder once it is saved."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.clinic import save_clinic

from codx import bootstrap, encoder_job
from codx.models.language.encoder import MANIFEST
from codx.models.language.trained import trained_dir
from codx.settings import Settings


class FakePopen:
    """Records the command; its pid is this test process, which is alive (as a started job is)."""

    started: list[list[str]] = []

    def __init__(self, cmd, **kwargs):
        FakePopen.started.append(cmd)
        self.pid = os.getpid()
        assert kwargs["start_new_session"] and kwargs["env"]["CODX_DATA_DIR"]
        # low priority, so it may use two cores (the app's own work comes first)
        assert kwargs["env"]["CODX_THREADS"] == str(min(2, os.cpu_count() or 1))


@pytest.fixture
def fake_popen(monkeypatch):
    FakePopen.started = []
    monkeypatch.setattr(encoder_job.subprocess, "Popen", FakePopen)
    return FakePopen


def _save_manifest(data_dir: Path) -> None:
    folder = trained_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text("{}")


def test_a_job_starts_only_when_semantic_reading_wants_an_encoder_that_is_missing(tmp_path):
    assert encoder_job.needed(Settings(data_dir=tmp_path, train_encoder=True))
    assert not encoder_job.needed(Settings(data_dir=tmp_path, train_encoder=False))
    assert not encoder_job.needed(Settings(data_dir=tmp_path, train_encoder=True, semantic_matching=False))
    _save_manifest(tmp_path)
    assert not encoder_job.needed(Settings(data_dir=tmp_path, train_encoder=True))


def test_one_job_per_data_directory_and_a_stale_lock_is_ignored(tmp_path, fake_popen):
    settings = Settings(data_dir=tmp_path, train_encoder=True)
    assert encoder_job.start_if_needed(settings) == os.getpid()
    assert fake_popen.started[0][1:] == ["-m", "codx.encoder_job"]
    assert encoder_job.running_pid(tmp_path) == os.getpid()
    assert encoder_job.start_if_needed(settings) is None  # already running
    encoder_job.lock_path(tmp_path).write_text("999999999")  # a job that died without cleaning up
    assert encoder_job.running_pid(tmp_path) is None
    assert encoder_job.start_if_needed(settings) == os.getpid() and len(fake_popen.started) == 2


def test_the_consultation_engine_starts_the_job_once_its_packs_are_built(tmp_path, monkeypatch, fake_popen, caplog):
    data = save_clinic(tmp_path / "data")
    monkeypatch.setattr(bootstrap, "make_extractor", lambda *a: object())  # no real indexes needed here
    settings = Settings(data_dir=data, packs=["clinic"], semantic_matching=True, train_encoder=True)
    with caplog.at_level("WARNING", logger="codx.bootstrap"):
        bootstrap.make_consult_context(settings)
    assert len(fake_popen.started) == 1 and "training codx's English encoder in the background" in caplog.text
    encoder_job.lock_path(data).unlink()  # as if that job had ended without saving an encoder
    bootstrap.make_consult_context(settings.model_copy(update={"train_encoder": False}))
    assert len(fake_popen.started) == 1
    bootstrap.make_consult_context(settings)
    assert len(fake_popen.started) == 2  # tried again


def test_consultations_switch_to_the_encoder_once_it_is_saved(tmp_path, monkeypatch):
    settings = Settings(data_dir=save_clinic(tmp_path / "data"), packs=["clinic"])
    assert bootstrap._trained_encoder_stamp(settings.model_copy(update={"semantic_matching": True})) is None
    _save_manifest(settings.data_dir)
    assert bootstrap._trained_encoder_stamp(settings.model_copy(update={"semantic_matching": True})) is not None

    stamp = iter([None, None, 1, 1])
    built = []
    monkeypatch.setattr(bootstrap, "_trained_encoder_stamp", lambda s: next(stamp))
    real = bootstrap.make_extractor
    monkeypatch.setattr(bootstrap, "make_extractor", lambda *a: built.append(1) or real(*a))
    ctx = bootstrap.make_consult_context(settings)  # builds the reader of the default packs
    first = ctx.extractor_for(("clinic",))
    assert len(built) == 1  # reused
    second = ctx.extractor_for(("clinic",))  # the encoder appeared: rebuilt once
    assert second is not first and len(built) == 2
    assert ctx.extractor_for(("clinic",)) is second


def test_a_benchmark_waits_while_the_job_runs_and_not_for_a_dead_unreaped_one(tmp_path):
    """A reading benchmark waits for the app's job instead of training a second copy; a job that ended but was
    not yet reaped by the app that started it (a zombie) is not running, or the benchmark would wait forever."""
    job = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.6)"])
    lock = encoder_job.lock_path(tmp_path)
    lock.parent.mkdir(parents=True)
    lock.write_text(str(job.pid))
    assert encoder_job.running_pid(tmp_path) == job.pid
    started = time.monotonic()
    encoder_job.wait_for_job(tmp_path, poll_s=0.05)
    assert time.monotonic() - started >= 0.3
    assert encoder_job.running_pid(tmp_path) is None  # the child is a zombie until job.wait() below
    job.wait()
