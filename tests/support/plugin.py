"""Install the test tool plug-in package (tests/plugins/codx_echo_tool) for one test, then remove it."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).parents[1] / "plugins" / "codx_echo_tool"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300)


@contextmanager
def installed_echo_plugin(tmp_path: Path) -> Iterator[None]:
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not available in this environment")
    # build from a copy so the source tree gets no build/ or *.egg-info folders
    src = shutil.copytree(PLUGIN_DIR, tmp_path / "plugin")
    # without setuptools pip falls back to an isolated build (which needs the network)
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    try:
        done = _pip("install", "-q", "--no-deps", *isolation, str(src))
        assert done.returncode == 0, done.stderr
        importlib.invalidate_caches()
        yield
    finally:
        _pip("uninstall", "-y", "codx-echo-tool")
        sys.modules.pop("codx_echo_tool", None)
        importlib.invalidate_caches()
