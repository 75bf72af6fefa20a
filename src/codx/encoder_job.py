"""codx's English encoder, trained in the background on the app's first start.

Why: the trained encoder reads held-out lay words and glossed Chinese far better than off-the-shelf MiniLM
(README), but training takes one to two hours, by CPU, far too long to keep a first-time user from the
app. `bootstrap.make_consult_context` (the app's and `codx chat`'s engine) therefore starts this module as a
detached, low-priority process when no trained encoder exists, once the packs and the diagnosis model it
reuses are built; consultations read with MiniLM meanwhile and switch to the trained encoder at the next
message once it is saved, with its finding index already built here.
One job per data directory (a lock file holds its pid); its output goes to `logs/encoder-training.log`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from codx.models.language.encoder import MANIFEST
from codx.models.language.trained import trained_dir
from codx.progress import Progress
from codx.settings import Settings

#: Threads of the job. It runs at nice 10, so it takes both cores of a 2-core machine only while the app
#: leaves them idle: a step is ~1.4x faster than on one thread, and an encoder call of a consultation beside it
#: measured p50 17.5 / p95 21.4 ms (idle 17.2 / 22.6; beside one thread 16.7 / 22.1) on an AVX2 core.
JOB_THREADS = 2
LOCK_NAME = ".codx-minilm-en.training"
LOG_NAME = "encoder-training.log"


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / "encoders" / LOCK_NAME


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / "logs" / LOG_NAME


def running_pid(data_dir: Path) -> int | None:
    """The pid of this data directory's training job while it runs (a stale lock is ignored, and so is a job
    that died and waits, a zombie, for the app that started it to reap it)."""
    try:
        pid = int(lock_path(data_dir).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return None if _zombie(pid) else pid


def _zombie(pid: int) -> bool:
    """Linux: state Z in /proc/<pid>/stat (after the parenthesised name); elsewhere never."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def needed(settings: Settings) -> bool:
    """Semantic reading is on, background training allowed, and no trained encoder saved yet."""
    saved = (trained_dir(settings.data_dir) / MANIFEST).exists()
    return settings.semantic_matching and settings.train_encoder and not saved


def wait_for_job(data_dir: Path, poll_s: float = 10.0, progress: Progress | None = None) -> None:
    """Block while this data directory's training job runs (a benchmark that needs the encoder waits for the
    app's job rather than training a second copy beside it)."""
    started = time.monotonic()
    while (pid := running_pid(data_dir)) is not None:
        if progress is not None:
            progress(f"pid {pid}, {int(time.monotonic() - started)} s", 0.0)
        time.sleep(poll_s)


def job_threads(settings: Settings) -> int:
    """`JOB_THREADS` where the machine has them, never fewer than the app itself is set to use."""
    return max(settings.threads, min(JOB_THREADS, os.cpu_count() or 1))


def start_if_needed(settings: Settings) -> int | None:
    """Start the detached training job unless it is not needed or already running; its pid, else None."""
    if not needed(settings) or running_pid(settings.data_dir) is not None:
        return None
    out = log_path(settings.data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path(settings.data_dir).parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "codx.encoder_job"],
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the app's Ctrl-C; one job per data directory (the lock)
            env={**os.environ, "CODX_DATA_DIR": str(settings.data_dir), "CODX_THREADS": str(job_threads(settings))},
        )
    lock_path(settings.data_dir).write_text(str(proc.pid))
    return proc.pid


def main() -> None:
    """`codx train encoder` with the recipe's defaults at low priority, then the finding index of the default
    packs with the new encoder, so the app's switch costs a file read."""
    from codx.bootstrap import english_encoder, ensure_model
    from codx.cli.main import cli
    from codx.models.language.retrieval import FindingIndex

    settings = Settings()
    os.nice(10)
    lock = lock_path(settings.data_dir)
    try:
        cli.main(["train", "encoder"], standalone_mode=False)
        kn = ensure_model(settings, list(settings.packs)).knowledge
        FindingIndex.build(kn, english_encoder(settings), settings.data_dir / "indexes")
        print("encoder trained; the app reads with it from its next message", flush=True)
    finally:
        if lock.exists() and lock.read_text().strip() == str(os.getpid()):
            lock.unlink()


if __name__ == "__main__":
    main()
