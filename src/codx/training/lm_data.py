"""The data of `codx train lm`: sources in one format, mixed by priority sampling, tokenised and packed.

This module is the data API of the recipe; the parts live in small modules it re-exports:
`lm_format` (the unified `LMExample` and the converters), `lm_sources` (the built-in sources written from the
common pack and HPO), `lm_pack` (chat-format tokenisation, output-only labels, packing into blocks). Here: user
files (`load_sources`) and the order of training (`priority_order`).

Priority sampling (HuatuoGPT-II): every example has a priority (by default from its kind, `KIND_PRIORITY`:
text 8, instruction 1, dialogue 1; a config maps source -> priority to change it). The order of an epoch is a
weighted random sample WITHOUT replacement of all examples, weights = priorities, drawn with the
Efraimidis-Spirakis method (A-Res): each example gets the key u^(1/w) (u uniform in (0, 1)) and the examples
are taken by decreasing key. Equivalently each example arrives at an exponential time of rate w, so an example
of priority 8 tends to come 8 times earlier than one of priority 1: domain text dominates the first blocks and
instructions and dialogues concentrate towards the end, while every example appears exactly once and the
mixture stays random (no hard stage boundary). Keys are compared as log(u)/w, the same order without underflow.

User files are JSONL, one example a line, any mix of kinds:

    {"kind": "text", "text": "...", "title": "optional"}
    {"kind": "instruction", "instruction": "...", "input": "optional context", "output": "..."}
    {"kind": "dialogue", "messages": [{"role": "user", "content": "..."}, {"role": "assistant", ...}]}
    {"kind": "instruction", "input": "...", "output": "..."}          (already in the unified format)

`kind` may be left out when the fields say it (messages -> dialogue, text -> text, otherwise instruction).
Every line may add "source" (default: the file's name without .jsonl) and "priority" (a positive number; default:
the config's priority of the source, else the kind's). Dialogue roles are system, user and assistant; the last
turn should be the assistant's (see `dialogue_examples` for what becomes the output).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from codx.errors import InputFileError
from codx.training.lm_format import (
    KIND_PRIORITY,
    Kind,
    LMExample,
    Turn,
    apply_priorities,
    dialogue_examples,
    instruction_example,
    render_turns,
    text_example,
)
from codx.training.lm_pack import (
    IGNORE,
    PackedBlocks,
    TokenizedExample,
    format_example,
    pack_examples,
    tokenize_examples,
)
from codx.training.lm_sources import builtin_sources, read_hpo_definitions

FORMAT_HINT = "see the JSONL format in codx/training/lm_data.py (kind text / instruction / dialogue)"


def _kind_of(row: Mapping[str, Any]) -> str:
    if "kind" in row:
        return str(row["kind"])
    if "messages" in row:
        return "dialogue"
    if "text" in row:
        return "text"
    return "instruction"


def _convert(row: Mapping[str, Any], source: str, priority: float | None, each_turn: bool) -> list[LMExample]:
    kind = _kind_of(row)
    if kind == "text":
        return [text_example(str(row["text"]), source, title=row.get("title"), priority=priority)]
    if kind == "instruction":
        if "instruction" in row:
            return [
                instruction_example(
                    str(row["instruction"]), str(row["output"]), source, str(row.get("input", "")), priority
                )
            ]
        return [
            LMExample(
                source=source,
                kind="instruction",
                input=str(row["input"]),
                output=str(row["output"]),
                priority=KIND_PRIORITY["instruction"] if priority is None else priority,
            )
        ]
    if kind == "dialogue":
        return dialogue_examples(row["messages"], source, each_turn=each_turn, priority=priority)
    raise ValueError(f"unknown kind {kind!r}; use text, instruction or dialogue")


def load_sources(
    paths: Iterable[Path | str], priorities: Mapping[str, float] | None = None, each_turn: bool = False
) -> list[LMExample]:
    """Examples from user JSONL files (format in the module docstring), in file order. A bad line stops the
    load with its file and line number: a silently skipped line would change the mixture unnoticed."""
    priorities = priorities or {}
    out: list[LMExample] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputFileError(f"{path}: no such file; give JSONL training data ({FORMAT_HINT})")
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise ValueError("a line must be a JSON object")
                    source = str(row.get("source") or path.stem)
                    priority = row.get("priority", priorities.get(source))
                    if priority is not None and not float(priority) > 0:
                        raise ValueError(f"priority must be positive; got {priority}")
                    out += _convert(row, source, None if priority is None else float(priority), each_turn)
                except (json.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError) as exc:
                    what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
                    raise InputFileError(f"{path}:{n}: {what}; {FORMAT_HINT}") from exc
    if not out:
        raise InputFileError(f"no examples in {[str(p) for p in paths]}; {FORMAT_HINT}")
    return out


def priority_order(examples: Sequence[LMExample], rng: np.random.Generator) -> list[int]:
    """Indices of all examples, each once, by weighted sampling without replacement (Efraimidis-Spirakis
    keys u^(1/priority), largest first): higher-priority examples tend to come first. Deterministic for the
    state of `rng`."""
    weights = np.array([e.priority for e in examples], dtype=np.float64)
    u = rng.random(len(examples))
    keys = np.log(np.clip(u, np.finfo(np.float64).tiny, None)) / weights
    return [int(i) for i in np.argsort(-keys, kind="stable")]


def describe(examples: Sequence[LMExample]) -> dict[str, dict[str, Any]]:
    """Per source: its kinds with counts and its priorities (for the model card)."""
    out: dict[str, dict[str, Any]] = {}
    for source in dict.fromkeys(e.source for e in examples):
        mine = [e for e in examples if e.source == source]
        out[source] = {
            "examples": len(mine),
            "kinds": dict(Counter(e.kind for e in mine)),
            "priorities": sorted({e.priority for e in mine}),
        }
    return out


__all__ = [
    "IGNORE",
    "KIND_PRIORITY",
    "Kind",
    "LMExample",
    "PackedBlocks",
    "TokenizedExample",
    "Turn",
    "apply_priorities",
    "builtin_sources",
    "describe",
    "dialogue_examples",
    "format_example",
    "instruction_example",
    "load_sources",
    "pack_examples",
    "priority_order",
    "read_hpo_definitions",
    "render_turns",
    "text_example",
    "tokenize_examples",
]
