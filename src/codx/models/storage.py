"""Putting a finished model folder in place so that readers never see half of one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def replace_folder(tmp: Path, out_dir: Path) -> None:
    """Move the finished folder `tmp` to `out_dir`; an older model there is removed only once the new one is
    in place (renamed aside first, so a crash in between leaves one complete model, never a mix)."""
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
