"""Built-in tool `finding_search`: find findings of the active packs by words (label, synonyms, lay words).

The query is data: it is split into lower-case word tokens and compared with the tokens of each finding's
names, nothing else is done with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from codx.errors import ToolError
from codx.models.packs.schema import Finding
from codx.tools.registry import ToolContext

NAME = "finding_search"
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
#: Dropped from a query when it has other words (they would match half the ontology).
_STOPWORDS = frozenset({"a", "an", "and", "the", "of", "in", "on", "at", "to", "with", "or", "for", "my", "is"})


class FindingSearchArgs(BaseModel):
    """Arguments of `finding_search`."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=200, description="Words to look for, e.g. 'fever' or 'tummy ache'.")
    limit: int = Field(5, ge=1, le=20, description="How many findings to return at most.")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def _names(f: Finding) -> list[str]:
    return [f.label, *(f.synonyms or []), *([f.lay_label] if f.lay_label else []), *(f.lay_synonyms or [])]


class _Index:
    """Token sets per finding, built once on first use (a fraction of a second for the full HPO pack)."""

    def __init__(self, findings: Sequence[Finding]):
        self.findings = list(findings)
        self.token_sets = [frozenset(t for name in _names(f) for t in tokens(name)) for f in self.findings]
        self.label_tokens = [tuple(tokens(f.label)) for f in self.findings]

    def search(self, query: str, limit: int) -> list[Finding]:
        words = list(dict.fromkeys(tokens(query)))
        content = [w for w in words if w not in _STOPWORDS]
        words = content or words
        if not words:
            return []
        q = set(words)
        scored = []
        for i, ts in enumerate(self.token_sets):
            hits = len(q & ts)
            if hits:
                exact_label = self.label_tokens[i] == tuple(words)
                scored.append((-hits, not exact_label, len(self.findings[i].label), self.findings[i].id, i))
        scored.sort()
        return [self.findings[s[-1]] for s in scored[:limit]]


def format_finding(f: Finding) -> str:
    """`HP:0001945 Fever (lay: Fever)`; the lay part is left out when the finding has no lay name."""
    lay = f.lay_label or (f.lay_synonyms[0] if f.lay_synonyms else None)
    return f"{f.id} {f.label}" + (f" (lay: {lay})" if lay else "")


def make_tool(ctx: ToolContext) -> BaseTool:
    """Entry point `codx.tools: finding_search`."""
    index: list[_Index] = []  # built lazily: the tool list is made at start-up, searches come later

    def finding_search(query: str, limit: int = 5) -> str:
        if ctx.model is None:
            raise ToolError(
                "no diagnosis model is loaded, so there are no findings to search; "
                "train one with `codx train diagnosis --pack NAME` and start the consultation again"
            )
        if not index:
            index.append(_Index(ctx.model.knowledge.findings))
        found = index[0].search(query, limit)
        if not found:
            return f"No finding matches {query!r}. Try other or fewer words, clinical or everyday ones."
        return "\n".join(format_finding(f) for f in found)

    return StructuredTool.from_function(
        func=finding_search,
        name=NAME,
        description=(
            "Search the active knowledge packs' findings (symptoms, signs, test results) by words. Matches "
            "labels, synonyms and lay words, case-insensitively. Returns one line per finding: "
            "'ID Label (lay: everyday name)'. Use the ID when recording evidence."
        ),
        args_schema=FindingSearchArgs,
    )
