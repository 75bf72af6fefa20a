"""`LocalLM`: a converted language model run in this process with transformers (CPU, float32).

`chat(messages)` returns the whole answer with its token counts; `stream(messages)` yields the same text in
pieces as it is generated (transformers' `TextIteratorStreamer`, generation in a worker thread). Both decode
greedily by default (`temperature=0.0`), so the same messages give the same answer, whole or streamed.

Messages are OpenAI-style dicts, `{"role": "system" | "user" | "assistant" | "tool", "content": str}` (or a
list of `{"type": "text", "text": ...}` parts). They become a prompt through the tokenizer's chat template
when it has one (SmolLM2-Instruct does). A base model without one (gemma-3-270m) gets plain
"role: content" lines ending in "assistant:", and generation also stops where the model starts a next
"user:" (or other role) line; `prompt_format` and `notes` say which was used. Stop strings are cut from the
answer; leading white space of the answer is dropped.

One generation runs at a time per model (a lock): concurrent callers wait. Torch's thread count is the
caller's business (`torch.set_num_threads`, which the CLI sets from `Settings.threads`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel

from codx.errors import LanguageModelError, LanguageModelRequestError
from codx.models.lm.convert import CARD, LMCard, read_card

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant", "tool")
#: Where a plain-prompt (base) model has started the next turn itself.
PLAIN_STOPS = tuple(f"\n{role}:" for role in ROLES)
DEFAULT_MAX_NEW_TOKENS = 256
MAX_TEMPERATURE = 2.0

PromptFormat = Literal["chat template", "plain"]
FinishReason = Literal["stop", "length"]


class LMResult(BaseModel):
    """One answer: its text, the tokens read and generated, the time it took and why it ended."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: FinishReason = "stop"


def normalise_messages(messages: Sequence[Any]) -> list[dict[str, str]]:
    """OpenAI-style messages as `{"role", "content": str}`; LanguageModelRequestError naming the bad one."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise LanguageModelRequestError("messages must be a list of {role, content} objects", "messages")
    if not messages:
        raise LanguageModelRequestError("messages is empty: send at least one {role, content} message", "messages")
    out: list[dict[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise LanguageModelRequestError(f"messages[{i}] is not an object with role and content", "messages")
        role = m.get("role")
        if role not in ROLES:
            raise LanguageModelRequestError(
                f"messages[{i}].role is {role!r}; use one of {', '.join(ROLES)}", "messages"
            )
        out.append({"role": role, "content": _text_of(m.get("content"), i)})
    return out


def _text_of(content: Any, i: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise LanguageModelRequestError(
                    f"messages[{i}].content has a {kind!r} part; only text is supported", "messages"
                )
        return "\n".join(texts)
    raise LanguageModelRequestError(f"messages[{i}].content must be a string or a list of text parts", "messages")


def plain_prompt(messages: list[dict[str, str]]) -> str:
    """The prompt of a model without a chat template: "role: content" lines, then "assistant:"."""
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join([*lines, "assistant:"])


@dataclass
class _Prepared:
    input_ids: torch.Tensor
    prompt_tokens: int
    max_new_tokens: int
    temperature: float
    stops: tuple[str, ...]


def _first_stop(text: str, stops: Sequence[str], start: int = 0) -> int:
    """Index of the earliest stop string in `text` (searching from `start`), or -1."""
    found = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(found) if found else -1


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters could still be the start of a stop string (not safe to send yet)."""
    best = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:k]):
                best = k
                break
    return best


class _StopCriteria:
    """Ends generation when a stop string appears in the new text, or when the caller cancels."""

    def __init__(self, tokenizer: Any, prompt_tokens: int, stops: Sequence[str], cancel: threading.Event):
        self.tokenizer = tokenizer
        self.prompt_tokens = prompt_tokens
        self.stops = tuple(stops)
        self.window = max((len(s) for s in self.stops), default=0) + 4  # tokens: a stop spans at most len(s)
        self.cancel = cancel

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        done = self.cancel.is_set()
        if not done and self.stops:
            new = input_ids[0, self.prompt_tokens :]
            tail = self.tokenizer.decode(new[-self.window :], skip_special_tokens=True)
            done = _first_stop(tail, self.stops) >= 0
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def _card_name(path: Path) -> str | None:
    try:
        name = json.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


class LocalLM:
    """A causal language model and its tokenizer, loaded from a folder `codx.models.lm.convert` wrote."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str, path: Path | None = None, card: LMCard | None = None):
        model.eval()
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.path = path
        self.card = card
        self.prompt_format: PromptFormat = "chat template" if getattr(tokenizer, "chat_template", None) else "plain"
        self.context_tokens = int(getattr(model.config, "max_position_embeddings", 0) or 2048)
        self.notes: list[str] = []
        if self.prompt_format == "plain":
            self.notes.append(
                f"{name} has no chat template (a base model): messages are written as plain 'role: content' "
                "lines ending in 'assistant:', and generation stops where it starts a next 'user:' line"
            )
        self._lock = threading.Lock()
        eos = model.generation_config.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(self._eos_ids), 0)
        self._pad_id = int(pad)

    @classmethod
    def load(cls, path: Path, name: str | None = None) -> LocalLM:
        """Load a converted folder (float32, CPU); LanguageModelError saying what to run when it is broken."""
        path = Path(path)
        if not (path / "config.json").is_file():
            raise LanguageModelError(
                f"{path} holds no converted language model (no config.json); convert one with "
                "`codx models convert lm --name NAME`"
            )
        card, card_name = None, None
        if (path / CARD).exists():
            try:
                card = read_card(path)
            except LanguageModelError:  # a card of another writer (e.g. `codx train lm`): only its name is used
                card_name = _card_name(path / CARD)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from codx.models.language.encoder import _quiet_transformers

        try:
            with _quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, local_files_only=True)
        except Exception as e:  # a broken config, tokenizer or safetensors file
            raise LanguageModelError(
                f"the language model in {path} is unreadable ({e.__class__.__name__}: {e}); delete the folder and "
                "convert again (`codx models convert lm --name NAME`)"
            ) from e
        name = name or (card.name if card else None) or card_name or path.name
        lm = cls(model, tokenizer, name=name, path=path, card=card)
        for note in lm.notes:
            log.info(note)
        return lm

    # -- prompts ---------------------------------------------------------------------------------
    def render(self, messages: Sequence[Any]) -> str:
        """The prompt text the model reads for these messages."""
        msgs = normalise_messages(messages)
        if self.prompt_format == "chat template":
            return self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return plain_prompt(msgs)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _prepare(
        self, messages: Sequence[Any], max_new_tokens: int, temperature: float, stop: str | Sequence[str] | None
    ) -> _Prepared:
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise LanguageModelRequestError(
                f"max_new_tokens must be a positive whole number, not {max_new_tokens!r}", "max_tokens"
            )
        if not 0.0 <= float(temperature) <= MAX_TEMPERATURE:
            raise LanguageModelRequestError(
                f"temperature must be between 0 and {MAX_TEMPERATURE}, not {temperature}", "temperature"
            )
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        if any(not isinstance(s, str) or not s for s in stops):
            raise LanguageModelRequestError("stop strings must be non-empty strings", "stop")
        if self.prompt_format == "plain":
            stops += PLAIN_STOPS
        prompt = self.render(messages)
        # A chat template writes the special tokens itself; a plain prompt gets the tokenizer's (e.g. <bos>).
        special = self.prompt_format == "plain"
        ids = self.tokenizer(prompt, add_special_tokens=special, return_tensors="pt")["input_ids"]
        n = int(ids.shape[1])
        if n + max_new_tokens > self.context_tokens:
            raise LanguageModelRequestError(
                f"the prompt has {n} tokens and {max_new_tokens} new ones were asked for, but {self.name} reads at "
                f"most {self.context_tokens}: shorten the conversation or ask for fewer tokens",
                "max_tokens",
            )
        return _Prepared(ids, n, max_new_tokens, float(temperature), tuple(dict.fromkeys(stops)))

    def _generation_kwargs(self, p: _Prepared, cancel: threading.Event) -> dict[str, Any]:
        from transformers import GenerationConfig, StoppingCriteriaList

        sample = p.temperature > 0
        config = GenerationConfig(
            max_new_tokens=p.max_new_tokens,
            do_sample=sample,
            temperature=p.temperature if sample else None,
            top_k=None,
            top_p=None,
            eos_token_id=sorted(self._eos_ids) or None,
            pad_token_id=self._pad_id,
            bos_token_id=self.model.generation_config.bos_token_id,
        )
        criteria = StoppingCriteriaList([_StopCriteria(self.tokenizer, p.prompt_tokens, p.stops, cancel)])
        return {
            "input_ids": p.input_ids,
            "attention_mask": torch.ones_like(p.input_ids),
            "generation_config": config,
            "stopping_criteria": criteria,
        }

    def _finish(self, new_ids: list[int], text: str, p: _Prepared) -> tuple[str, FinishReason]:
        cut = _first_stop(text, p.stops)
        if cut >= 0:
            return text[:cut], "stop"
        if new_ids and new_ids[-1] in self._eos_ids:
            return text, "stop"
        return text, "length" if len(new_ids) >= p.max_new_tokens else "stop"

    # -- generation ------------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[Any],
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.0,
        stop: str | Sequence[str] | None = None,
    ) -> LMResult:
        """The whole answer to `messages` (greedy unless `temperature` > 0), cut at the first stop string."""
        p = self._prepare(messages, max_new_tokens, temperature, stop)
        with self._lock:
            started = time.perf_counter()
            with torch.inference_mode():
                out = self.model.generate(**self._generation_kwargs(p, threading.Event()))
            seconds = time.perf_counter() - started
        new_ids = out[0, p.prompt_tokens :].tolist()
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True).lstrip()
        text, reason = self._finish(new_ids, text, p)
        return LMResult(
            text=text,
            prompt_tokens=p.prompt_tokens,
            completion_tokens=len(new_ids),
            seconds=round(seconds, 3),
            finish_reason=reason,
        )

    def stream(
        self,
        messages: Sequence[Any],
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.0,
        stop: str | Sequence[str] | None = None,
    ) -> LMStream:
        """The answer in pieces as it is generated; `.result` holds the counts once the stream is exhausted.

        The request is checked now (LanguageModelRequestError before the first piece); generation starts at
        the first `next()`. Closing the stream early (or dropping it) stops the generation.
        """
        return LMStream(self, self._prepare(messages, max_new_tokens, temperature, stop))

    def __repr__(self) -> str:
        return f"LocalLM(name={self.name!r}, prompt_format={self.prompt_format!r}, path={self.path})"


class LMStream(Iterator[str]):
    """Text pieces of one generation; `result` (an LMResult) is set once it has ended."""

    def __init__(self, lm: LocalLM, prepared: _Prepared):
        self.result: LMResult | None = None
        self._lm = lm
        self._p = prepared
        self._pieces = self._run()

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        self._pieces.close()

    def _run(self) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        lm, p = self._lm, self._p
        cancel = threading.Event()
        streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
        new_ids: list[int] = []
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.inference_mode():
                    out = lm.model.generate(**lm._generation_kwargs(p, cancel), streamer=streamer)
                new_ids.extend(out[0, p.prompt_tokens :].tolist())
            except BaseException as e:  # reported to the reader below
                failure.append(e)
                streamer.end()

        with lm._lock:
            started = time.perf_counter()
            worker = threading.Thread(target=generate, name=f"codx-lm-{lm.name}", daemon=True)
            worker.start()
            text, sent, cut, ended = "", 0, -1, False
            try:
                for piece in streamer:
                    text = (text + piece) if text else piece.lstrip()
                    cut = _first_stop(text, p.stops, max(0, sent - 64))
                    if cut >= 0:
                        if cut > sent:
                            yield text[sent:cut]
                        sent = cut
                        cancel.set()
                        break
                    safe = len(text) - _held_back(text, p.stops)
                    if safe > sent:
                        yield text[sent:safe]
                        sent = safe
                else:
                    ended = True
                if cut < 0 and not failure and len(text) > sent:
                    yield text[sent:]
                    sent = len(text)
            finally:
                cancel.set()  # a reader that stopped early stops the generation
                if not ended:
                    for _ in streamer:  # until the worker's end signal: it then finishes
                        pass
                worker.join()
            seconds = time.perf_counter() - started
        if failure:
            raise LanguageModelError(f"{lm.name} failed while generating: {failure[0]!r}") from failure[0]
        _, reason = lm._finish(new_ids, text, p)
        self.result = LMResult(
            text=text[:cut] if cut >= 0 else text,
            prompt_tokens=p.prompt_tokens,
            completion_tokens=len(new_ids),
            seconds=round(seconds, 3),
            finish_reason="stop" if cut >= 0 else reason,
        )


__all__ = ["LMResult", "LMStream", "LocalLM", "PLAIN_STOPS", "ROLES", "normalise_messages", "plain_prompt"]
