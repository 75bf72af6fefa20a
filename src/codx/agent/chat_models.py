"""One chat-model interface for the agent, whichever backend runs the language model.

The agent talks to a langchain-core `BaseChatModel`; `make_chat_model(spec, models_dir)` builds it from
`Settings.llm` (CODX_LLM):

- a codx language model name (`smollm2-135m-instruct`, `gemma-3-270m`; converted on first use) or the path
  of a converted folder: `LocalChatModel`, generation in this process (`codx.models.lm.generate.LocalLM`);
- `openai:BASE_URL[#MODEL]`: any OpenAI-compatible server through langchain-openai's `ChatOpenAI`, e.g.
  `openai:http://gpu-box:8000/v1#Qwen/Qwen3-8B` for a vLLM deployment, or
  `openai:http://127.0.0.1:8000/v1` for `codx serve` (without `#MODEL`, the server's only model is used).

Both stream (`.stream()` yields chunks as tokens arrive) and report token usage in `usage_metadata`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from codx.errors import LanguageModelError
from codx.models.lm.generate import DEFAULT_MAX_NEW_TOKENS, LMResult, LocalLM
from codx.progress import Progress

OPENAI_PREFIX = "openai:"
_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """langchain messages as OpenAI-style {role, content} dicts (what `LocalLM` reads)."""
    out = []
    for m in messages:
        role = getattr(m, "role", None) if m.type == "chat" else _ROLES.get(m.type)
        if role is None:
            raise LanguageModelError(f"a {type(m).__name__} cannot be sent to a local language model")
        out.append({"role": role, "content": m.content})
    return out


def _usage(r: LMResult) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=r.prompt_tokens,
        output_tokens=r.completion_tokens,
        total_tokens=r.prompt_tokens + r.completion_tokens,
    )


class LocalChatModel(BaseChatModel):
    """A `LocalLM` as a langchain chat model: `invoke`, `stream`, `batch` and their async forms."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    lm: LocalLM = Field(exclude=True)
    max_new_tokens: int = Field(DEFAULT_MAX_NEW_TOKENS, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)

    @property
    def _llm_type(self) -> str:
        return "codx-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.lm.name, "max_new_tokens": self.max_new_tokens, "temperature": self.temperature}

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "max_new_tokens": int(kwargs.get("max_new_tokens", kwargs.get("max_tokens", self.max_new_tokens))),
            "temperature": float(kwargs.get("temperature", self.temperature)),
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        r = self.lm.chat(to_openai_messages(messages), stop=stop, **self._options(kwargs))
        metadata = {"model_name": self.lm.name, "finish_reason": r.finish_reason, "seconds": r.seconds}
        message = AIMessage(content=r.text, usage_metadata=_usage(r), response_metadata=metadata)
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=metadata)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stream = self.lm.stream(to_openai_messages(messages), stop=stop, **self._options(kwargs))
        try:
            for piece in stream:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager is not None:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
        finally:
            stream.close()
        r = stream.result
        if r is not None:
            metadata = {"model_name": self.lm.name, "finish_reason": r.finish_reason, "seconds": r.seconds}
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="", usage_metadata=_usage(r), response_metadata=metadata),
                generation_info=metadata,
            )


def _served_model(base_url: str) -> str:
    """The one model an OpenAI-compatible server serves (asked when the spec names none)."""
    import json
    import urllib.error
    import urllib.request

    url = base_url.rstrip("/") + "/models"
    try:
        with urllib.request.urlopen(url, timeout=10.0) as response:
            ids = [str(m["id"]) for m in json.loads(response.read()).get("data", [])]
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise LanguageModelError(
            f"could not ask {url} which model it serves ({e.__class__.__name__}: {e}); is the server running? "
            f"Name the model instead: {OPENAI_PREFIX}{base_url}#MODEL"
        ) from e
    if len(ids) != 1:
        raise LanguageModelError(
            f"{url} serves {len(ids)} models ({', '.join(ids) or 'none'}); name one: {OPENAI_PREFIX}{base_url}#MODEL"
        )
    return ids[0]


def make_chat_model(
    spec: str,
    models_dir: Path,
    *,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float = 0.0,
    progress: Progress | None = None,
) -> BaseChatModel:
    """The chat model `spec` names (see the module docstring); LanguageModelError saying what to fix."""
    spec = spec.strip()
    if spec.startswith(OPENAI_PREFIX):
        base_url, _, model = spec[len(OPENAI_PREFIX) :].partition("#")
        if not base_url.startswith(("http://", "https://")):
            raise LanguageModelError(
                f"{spec!r}: write the server's address after {OPENAI_PREFIX}, e.g. "
                f"{OPENAI_PREFIX}http://127.0.0.1:8000/v1#MODEL"
            )
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=base_url,
            api_key="not-needed",
            model=model or _served_model(base_url),
            temperature=temperature,
            max_tokens=max_new_tokens,
            stream_usage=True,
        )
    from codx.models.lm.convert import resolve_lm

    path = resolve_lm(models_dir, spec, progress)
    if progress is not None:
        progress(f"loading {spec}", 0.95)
    lm = LocalLM.load(path)
    return LocalChatModel(lm=lm, max_new_tokens=max_new_tokens, temperature=temperature)


__all__ = ["LocalChatModel", "OPENAI_PREFIX", "make_chat_model", "to_openai_messages"]
