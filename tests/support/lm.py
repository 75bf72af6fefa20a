"""SmolLM2-135M-Instruct converted from its PyPI package once per test session (see tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SMOLLM = "smollm2-135m-instruct"


def converted_smollm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose `models/lm/smollm2-135m-instruct/` is a finished conversion (about 20-40 s)."""
    from codx.models.lm.convert import convert_lm

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: conversion reads local files only
    data_dir = tmp_path_factory.mktemp("lm-data")
    convert_lm(data_dir / "models", SMOLLM)
    return data_dir
