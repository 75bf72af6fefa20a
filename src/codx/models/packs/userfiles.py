"""Reading the JSON / JSONL files users hand to the importers and benchmark loaders.

Whole-file problems (missing, not JSON) raise `InputFileError`; in a JSONL file one bad line is one bad
record, so it is handed back as a `ValueError` in place of the record and the caller decides (the case
loaders turn it into a per-case `CaseError` and carry on).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from codx.errors import InputFileError

_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


def open_text(path: Path) -> IO[str]:
    """Open for reading as UTF-8 text, decompressing `.gz` transparently."""
    _require_file(path)
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_json(path: Path) -> Any:
    """One JSON document (optionally gzipped)."""
    try:
        with open_text(path) as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise InputFileError(f"{path} is not valid JSON ({exc}); check that it is the file you meant") from exc


def iter_json_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(zero-based index, record) of a JSON list or JSONL file; a bad JSONL line comes back as ValueError."""
    if path.name.lower().endswith(_JSONL_SUFFIXES):
        yield from _iter_jsonl(path)
        return
    try:
        with open_text(path) as fh:
            text = fh.read()
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise InputFileError(f"{path} could not be read as UTF-8 text ({exc}); is it the right file?") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":  # several top-level values: it is JSONL under another name
            raise InputFileError(f"{path} is not valid JSON or JSONL ({exc}); fix or re-export the file") from exc
        yield from _iter_jsonl(path)
        return
    if not isinstance(doc, list):
        raise InputFileError(
            f"{path} holds a JSON {type(doc).__name__}, expected a list of records or one record per line"
        )
    yield from enumerate(doc)


def file_digest(*paths: Path) -> str:
    """Short content hash: the version of a pack built from user files names the data it came from."""
    h = hashlib.sha256()
    for path in paths:
        _require_file(path)
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def first_error(exc: ValidationError) -> str:
    """The first problem of a record, short enough for a one-line message."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        with open_text(path) as fh:
            index = 0
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record: Any = json.loads(line)
                except json.JSONDecodeError as exc:
                    record = ValueError(f"line {line_no} is not valid JSON ({exc.msg})")
                yield index, record
                index += 1
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise InputFileError(f"{path} could not be read as UTF-8 JSONL ({exc}); is it the right file?") from exc


def _require_file(path: Path) -> None:
    if not path.is_file():
        where = "is a folder" if path.is_dir() else "does not exist"
        raise InputFileError(f"{path} {where}; pass the path of the data file")
