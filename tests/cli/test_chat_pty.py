"""`codx chat` driven in a real pseudo-terminal, killed with SIGKILL mid-question and resumed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from support.clinic import clinic_pack, save_clinic

QUESTION = re.compile(r"codx: (Do you have [^?\r\n]+\?)")
END = re.compile(r"These are possibilities")  # the report of a diagnosis (tau reached)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return save_clinic(tmp_path / "data")


def spawn(data: Path, *args: str) -> pexpect.spawn:
    env = {
        **os.environ,
        "CODX_DATA_DIR": str(data),
        "CODX_SEMANTIC_MATCHING": "false",
        "CODX_PACKS": '["clinic"]',
        "CODX_TAU": "0.9",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "COLUMNS": "200",
    }
    return pexpect.spawn(
        sys.executable,
        ["-m", "codx.cli.main", "chat", "--quiet", *args],
        env=env,
        encoding="utf-8",
        timeout=90,
        dimensions=(50, 200),
    )


def test_chat_killed_mid_question_resumes_without_losing_an_answer(data_dir: Path):
    child = spawn(data_dir)
    child.expect(r"consultation (\w+)")
    thread = child.match.group(1)
    child.expect("you> ")
    child.sendline("I have a sore throat")
    child.expect(QUESTION)
    child.expect("you> ")
    child.sendline("not sure")  # this answer must survive the kill
    child.expect(QUESTION)
    pending = child.match.group(1)
    child.expect("you> ")
    child.kill(signal.SIGKILL)
    child.wait()

    resumed = spawn(data_dir, "--resume", thread)
    resumed.expect(re.escape(pending))  # the same pending question, first thing after the restart
    for _ in range(len(clinic_pack().findings)):
        resumed.expect("you> ")
        resumed.sendline("yes")
        if resumed.expect([QUESTION, END]) == 1:
            break
    else:
        pytest.fail("no report after every finding was asked")
    resumed.sendline("/quit")
    resumed.expect(pexpect.EOF)

    trail = subprocess.run(
        [sys.executable, "-m", "codx.cli.main", "history", thread],
        env={
            **os.environ,
            "CODX_DATA_DIR": str(data_dir),
            "CODX_SEMANTIC_MATCHING": "false",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert trail.returncode == 0, trail.stderr
    assert "human: not sure" in trail.stdout  # the answer given before the kill is in the audit trail
    assert "'C:sore_throat', 'present', 'patient'" in trail.stdout and "'answer'" in trail.stdout


def test_resume_of_an_unknown_thread_says_how_to_start(data_dir: Path):
    child = spawn(data_dir, "--resume", "nosuchthread")
    child.expect("no consultation")
    child.expect(pexpect.EOF)
