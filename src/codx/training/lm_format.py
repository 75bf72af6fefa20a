"""The unified input -> output example of the one-stage recipe, and the converters into it.

Why one format: HuatuoGPT-II (Chen et al., 2023) does not continue pre-training on domain text and then
fine-tune on instructions; it turns every source (plain domain passages, instructions, dialogues) into the same
instruction -> output shape and trains once on the mixture. The language model then always sees the chat format
it will be used in, and domain text needs no separate stage.

Conversions (each one documented where it is made):
- a text passage with a title (a condition's overview, an HPO definition) becomes a request for that passage
  ("Write a short clinical overview of {title}.") answered by the passage. HuatuoGPT-II asks an LLM to rewrite
  passages into question-answer pairs; codx has no such model at training time, so the request is a template
  and the passage is kept word for word;
- a passage without a title becomes a continuation: input = "Continue this medical text:" + its first sentences
  (about a quarter of it, at least one sentence), output = the rest;
- an instruction pair is kept as it is (an optional context is appended to the instruction after a blank line,
  the Alpaca convention);
- a dialogue becomes ONE example: input = the conversation before the last assistant turn, rendered with role
  tags ("User: ...", "Assistant: ..."), output = that last assistant turn. Earlier assistant turns are context,
  as in a consultation the model continues. `each_turn=True` makes one example per assistant turn instead
  (every reply is learned, at the cost of repeating the context).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from codx.errors import InputFileError

Kind = Literal["text", "instruction", "dialogue"]

#: Default priority of a kind (relative weights of the priority sampling, `priority_order`): domain text is
#: sampled first, instructions and dialogues concentrate towards the end of training (HuatuoGPT-II's schedule).
KIND_PRIORITY: dict[str, float] = {"text": 8.0, "instruction": 1.0, "dialogue": 1.0}

#: Role tags of a dialogue rendered into one input.
ROLE_TAGS = {"system": "System", "user": "User", "assistant": "Assistant"}

CONTINUE_PREFIX = "Continue this medical text:\n"
TITLED_REQUEST = "Write a short clinical overview of {title}."


class LMExample(BaseModel):
    """One training example in the unified format: the loss is taken on `output` only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1)
    kind: Kind
    input: str = Field(min_length=1)
    output: str = Field(min_length=1)
    priority: float = Field(gt=0)


class Turn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


def _priority(kind: Kind, priority: float | None) -> float:
    return KIND_PRIORITY[kind] if priority is None else priority


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_passage(text: str, share: float = 0.25) -> tuple[str, str]:
    """The first sentences of `text` (about `share` of its characters, at least one sentence) and the rest.
    A passage of one sentence is split at the word nearest to `share` of its length."""
    text = " ".join(text.split())
    sentences = _SENTENCE_END.split(text)
    if len(sentences) > 1:
        head: list[str] = []
        for s in sentences[:-1]:
            head.append(s)
            if len(" ".join(head)) >= share * len(text):
                break
        return " ".join(head), " ".join(sentences[len(head) :])
    words = text.split(" ")
    if len(words) < 2:
        raise ValueError("a passage without a title needs at least two words to be continued")
    cut = min(len(words) - 1, max(1, round(share * len(words))))
    return " ".join(words[:cut]), " ".join(words[cut:])


def text_example(
    text: str,
    source: str,
    title: str | None = None,
    priority: float | None = None,
    request: str = TITLED_REQUEST,
) -> LMExample:
    """A plain passage in the unified format (see the module docstring for the two conversions); `request` is
    the input of a titled passage, with `{title}` filled in."""
    text = text.strip()
    if title:
        return LMExample(
            source=source,
            kind="text",
            input=request.format(title=title.strip()),
            output=text,
            priority=_priority("text", priority),
        )
    head, rest = split_passage(text)
    return LMExample(
        source=source, kind="text", input=CONTINUE_PREFIX + head, output=rest, priority=_priority("text", priority)
    )


def instruction_example(
    instruction: str, output: str, source: str, context: str = "", priority: float | None = None
) -> LMExample:
    """An instruction pair as it is; a context (Alpaca's `input`) follows the instruction after a blank line."""
    prompt = instruction.strip() + (f"\n\n{context.strip()}" if context.strip() else "")
    return LMExample(
        source=source,
        kind="instruction",
        input=prompt,
        output=output.strip(),
        priority=_priority("instruction", priority),
    )


def render_turns(turns: Sequence[Turn]) -> str:
    """A conversation as one text with role tags, one turn a paragraph."""
    return "\n\n".join(f"{ROLE_TAGS[t.role]}: {t.content.strip()}" for t in turns)


def dialogue_examples(
    turns: Sequence[Turn | Mapping[str, str]],
    source: str,
    each_turn: bool = False,
    priority: float | None = None,
) -> list[LMExample]:
    """A multi-turn dialogue: one example whose output is the last assistant turn (or one per assistant turn
    with `each_turn`); the input is everything before it, rendered with role tags."""
    parsed = [t if isinstance(t, Turn) else Turn.model_validate(t) for t in turns]
    replies = [i for i, t in enumerate(parsed) if t.role == "assistant" and i > 0]
    if not replies:
        raise ValueError("a dialogue needs an assistant turn after at least one other turn")
    if not each_turn:
        replies = replies[-1:]
    return [
        LMExample(
            source=source,
            kind="dialogue",
            input=render_turns(parsed[:i]),
            output=parsed[i].content.strip(),
            priority=_priority("dialogue", priority),
        )
        for i in replies
    ]


def apply_priorities(examples: Sequence[LMExample], priorities: Mapping[str, float]) -> list[LMExample]:
    """Examples with the priority of their source replaced where `priorities` names it (source -> priority)."""
    bad = {s: p for s, p in priorities.items() if not p > 0}
    if bad:
        raise InputFileError(f"priorities must be positive; got {bad}")
    return [e.model_copy(update={"priority": priorities[e.source]}) if e.source in priorities else e for e in examples]


__all__ = [
    "CONTINUE_PREFIX",
    "KIND_PRIORITY",
    "TITLED_REQUEST",
    "Kind",
    "LMExample",
    "Turn",
    "apply_priorities",
    "dialogue_examples",
    "instruction_example",
    "render_turns",
    "split_passage",
    "text_example",
]
