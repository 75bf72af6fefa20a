"""Tokenisation of unified examples into the model's chat format, and packing into fixed-length blocks.

Why packing: examples are short (a question, a definition) and padding each to a common length wastes most of
a step; concatenating them in the priority order into blocks of exactly `block_size` tokens keeps every token
useful AND keeps the curriculum (domain text first, instructions last) in the order of the blocks.

- Format: the tokenizer's chat template when it has one (user = the example's input, assistant = its output;
  an optional system message), else plain markers "### Input:\\n{input}\\n\\n### Output:\\n{output}<eos>".
- Labels: -100 on every input token (prompt, role tags, system text), the token ids on the output and the
  end-of-turn tokens that follow it, so the model learns to answer and to stop, never to write the question.
- Blocks: the token stream is cut every `block_size` tokens; an example that straddles two blocks is split (no
  token is lost or duplicated) and the last block is filled with padding (labels -100, example -1).
- Attention (`mask_examples=True`, the default): position ids restart at 0 with every example (a split
  example's second part continues its own numbering). transformers (>= 4.5x, here 5.24) reads such position
  ids, when no attention mask is passed and no cache is used, as packed sequences and masks attention to stay
  within each example (sdpa/eager: a block-diagonal causal mask; flash-attention: varlen). Padding is a
  segment of its own. With `mask_examples=False` positions run 0..block_size-1 and examples attend to earlier
  ones in the block (classic packing). Targets never cross examples either way: the label at position t is the
  target of the logit at t-1, and every example starts with an input token (label -100).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codx.errors import CodxError
from codx.training.lm_format import LMExample

IGNORE = -100
MARKER_PROMPT = "### Input:\n{input}\n\n### Output:\n"


@dataclass(frozen=True)
class TokenizedExample:
    ids: np.ndarray  # int64, the whole example
    n_input: int  # the first n_input tokens are input (no loss)

    @property
    def labels(self) -> np.ndarray:
        out = self.ids.copy()
        out[: self.n_input] = IGNORE
        return out


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def format_example(tokenizer: Any, example: LMExample, system: str | None = None) -> tuple[str, str]:
    """(prompt, completion) as text: the loss is taken on the completion only."""
    if has_chat_template(tokenizer):
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": example.input}
        ]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(
            messages + [{"role": "assistant", "content": example.output}], tokenize=False
        )
        if full.startswith(prompt):
            return prompt, full[len(prompt) :]
        return prompt, example.output + (tokenizer.eos_token or "")  # a template that rewrites earlier turns
    head = f"{system}\n\n" if system else ""
    return head + MARKER_PROMPT.format(input=example.input), example.output + (tokenizer.eos_token or "")


def tokenize_examples(
    tokenizer: Any, examples: Sequence[LMExample], system: str | None = None
) -> list[TokenizedExample]:
    """Every example's token ids and the length of its input part. With a chat template the template writes the
    special tokens (BOS where it wants one); with markers the tokenizer adds its own to the prompt."""
    templated = has_chat_template(tokenizer)
    pairs = [format_example(tokenizer, e, system) for e in examples]
    prompts = tokenizer([p for p, _ in pairs], add_special_tokens=not templated)["input_ids"]
    completions = tokenizer([c for _, c in pairs], add_special_tokens=False)["input_ids"]
    out = []
    for e, p, c in zip(examples, prompts, completions, strict=True):
        if not p or not c:
            raise CodxError(
                f"an example of source {e.source!r} tokenises to an empty input or output ({e.input[:40]!r}); "
                "check the tokenizer of the base model"
            )
        out.append(TokenizedExample(np.asarray([*p, *c], dtype=np.int64), len(p)))
    return out


@dataclass
class PackedBlocks:
    """Rows of exactly `block_size` tokens; `example` is the index (into the tokenised list) of each token's
    example, -1 on padding."""

    input_ids: np.ndarray
    labels: np.ndarray
    position_ids: np.ndarray
    example: np.ndarray

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def block_size(self) -> int:
        return int(self.input_ids.shape[1])

    @property
    def real_tokens(self) -> int:
        return int((self.example >= 0).sum())

    def rows(self, index: Any) -> PackedBlocks:
        """The blocks at `index` (an int array, list or slice)."""
        return PackedBlocks(self.input_ids[index], self.labels[index], self.position_ids[index], self.example[index])

    @staticmethod
    def concat(parts: Sequence[PackedBlocks]) -> PackedBlocks:
        return PackedBlocks(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("input_ids", "labels", "position_ids", "example")
            )
        )


def pack_examples(
    tokenized: Sequence[TokenizedExample],
    order: Sequence[int],
    block_size: int,
    pad_id: int,
    mask_examples: bool = True,
) -> PackedBlocks:
    """Concatenate the examples in `order` and cut the stream into blocks (see the module docstring)."""
    if block_size < 2:
        raise CodxError(f"block_size must be at least 2 tokens; got {block_size}")
    if not len(order):
        raise CodxError("nothing to pack: no examples")
    parts = [tokenized[i] for i in order]
    lengths = np.array([len(t.ids) for t in parts], dtype=np.int64)
    ids = np.concatenate([t.ids for t in parts])
    labels = np.concatenate([t.labels for t in parts])
    example = np.repeat(np.asarray(order, dtype=np.int64), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.arange(len(ids), dtype=np.int64) - starts
    n_blocks = -(-len(ids) // block_size)
    pad = n_blocks * block_size - len(ids)
    ids = np.concatenate([ids, np.full(pad, pad_id, dtype=np.int64)])
    labels = np.concatenate([labels, np.full(pad, IGNORE, dtype=np.int64)])
    example = np.concatenate([example, np.full(pad, -1, dtype=np.int64)])
    positions = np.concatenate([positions, np.arange(pad, dtype=np.int64)])
    shape = (n_blocks, block_size)
    if not mask_examples:
        positions = np.tile(np.arange(block_size, dtype=np.int64), n_blocks)
    return PackedBlocks(ids.reshape(shape), labels.reshape(shape), positions.reshape(shape), example.reshape(shape))


__all__ = [
    "IGNORE",
    "MARKER_PROMPT",
    "PackedBlocks",
    "TokenizedExample",
    "format_example",
    "has_chat_template",
    "pack_examples",
    "tokenize_examples",
]
