"""The word tables codx ships in `models/language/data/` (one `source<TAB>target` pair per line)."""

from __future__ import annotations

from importlib import resources


def word_pairs(filename: str) -> dict[str, str]:
    """source -> target of a shipped table; `#` lines are comments, an empty target drops the word."""
    text = resources.files("codx.models.language").joinpath(f"data/{filename}").read_text("utf-8")
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            source, _, target = line.partition("\t")
            pairs[source.strip()] = target.strip()
    return pairs
