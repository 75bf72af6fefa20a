"""Language-model speed on this CPU: prompt processing and generation tokens/s, measured separately.

For each model: a prompt of exactly `prompt_tokens` tokens (a clinical note, repeated) goes through one
forward pass (prefill, logits of the last position only, as `generate` does), then `new_tokens` greedy
steps of one token each reuse the KV cache (generation). Both are timed `repeats` times after a warm-up
run, and the median is reported. One end-to-end `LocalLM.chat` answer (prompt rendering, `generate`,
decoding) is timed too, as a user would see it. Float32 on the CPU, with the caller's torch thread count.
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from codx.bench.report import machine
from codx.models.lm.convert import is_current, lm_path, read_card, resolve_lm
from codx.models.lm.generate import LocalLM
from codx.models.lm.sources import SOURCES
from codx.progress import Progress

NOTE = (
    "A 34-year-old woman reports three days of fever up to 39 degrees, a dry cough, aching muscles and a "
    "headache. She has no shortness of breath, no chest pain and no rash. She takes no regular medicines "
    "and has no allergies. Her daughter had a cold last week. On examination she is flushed, her pulse is "
    "96, her breathing is normal and her throat is red. "
)
CHAT = [
    {"role": "system", "content": "You are a careful clinical assistant. Answer in two sentences."},
    {"role": "user", "content": "I have had a fever and a dry cough for three days. What should I do?"},
]


def _cpu_model() -> str | None:
    """The CPU's model name (Linux), which `platform.processor()` often leaves empty."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def prompt_ids(lm: LocalLM, n: int) -> torch.Tensor:
    """Exactly `n` token ids of the clinical note (repeated as needed), with the tokenizer's own BOS."""
    text = NOTE
    while True:
        ids = lm.tokenizer(text, return_tensors="pt")["input_ids"]
        if ids.shape[1] >= n:
            return ids[:, :n]
        text += NOTE


def time_once(model: Any, ids: torch.Tensor, new_tokens: int) -> tuple[float, float]:
    """(prefill seconds, generation seconds) of one greedy run with the KV cache."""
    with torch.inference_mode():
        started = time.perf_counter()
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        prefill = time.perf_counter() - started
        cache = out.cache  # transformers >= 5.2x names the KV cache `cache` (formerly `past_key_values`)
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        started = time.perf_counter()
        for _ in range(new_tokens):
            out = model(input_ids=token, cache=cache, use_cache=True, logits_to_keep=1)
            cache = out.cache
            token = out.logits[:, -1].argmax(-1, keepdim=True)
        generation = time.perf_counter() - started
    return prefill, generation


def _scaled(progress: Progress | None, name: str, lo: float, hi: float) -> Progress:
    def update(message: str, fraction: float) -> None:
        if progress is not None:
            progress(f"{name}: {message}", lo + (hi - lo) * fraction)

    return update


def run_lm_speed(
    models_dir: Path,
    names: list[str],
    *,
    prompt_tokens: int = 128,
    new_tokens: int = 64,
    repeats: int = 3,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`{"models": {name: medians}, machine...}` and one case per timed run."""
    import transformers

    def report(message: str, fraction: float) -> None:
        if progress is not None:
            progress(message, fraction)

    summary: dict[str, Any] = {
        **machine(),
        "processor": _cpu_model() or platform.processor(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "dtype": "float32",
        "models": {},
    }
    cases: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        span = 1.0 / max(len(names), 1)
        base = i * span
        source = SOURCES.get(name)
        converted_now = source is not None and not is_current(lm_path(models_dir, name), source)
        path = resolve_lm(models_dir, name, _scaled(progress, name, base, base + 0.5 * span))
        card = read_card(path) if (path / "card.json").exists() else None
        report(f"{name}: loading", base + 0.5 * span)
        started = time.perf_counter()
        lm = LocalLM.load(path)
        load_s = time.perf_counter() - started
        ids = prompt_ids(lm, prompt_tokens)
        time_once(lm.model, ids[:, : min(16, prompt_tokens)], 2)  # warm-up: allocations, kernel selection
        runs = []
        for r in range(repeats):
            report(f"{name}: run {r + 1}/{repeats}", base + span * (0.55 + 0.4 * r / repeats))
            prefill, generation = time_once(lm.model, ids, new_tokens)
            runs.append((prefill, generation))
            cases.append(
                {
                    "id": f"{name}-{r}",
                    "model": name,
                    "run": r,
                    "prompt_tokens": prompt_tokens,
                    "prefill_s": round(prefill, 4),
                    "new_tokens": new_tokens,
                    "generation_s": round(generation, 4),
                }
            )
        chat = lm.chat(CHAT, max_new_tokens=new_tokens)
        prefill_med = statistics.median(p for p, _ in runs)
        generation_med = statistics.median(g for _, g in runs)
        summary["models"][name] = {
            "prompt_tokens": prompt_tokens,
            "new_tokens": new_tokens,
            "repeats": repeats,
            "prompt_tokens_per_s": round(prompt_tokens / prefill_med, 2),
            "generation_tokens_per_s": round(new_tokens / generation_med, 2),
            "ms_per_generated_token": round(1000 * generation_med / new_tokens, 2),
            "chat_tokens_per_s": round(chat.completion_tokens / chat.seconds, 2) if chat.seconds else None,
            "chat": {
                "prompt_tokens": chat.prompt_tokens,
                "completion_tokens": chat.completion_tokens,
                "seconds": chat.seconds,
                "text": chat.text,
            },
            "prompt_format": lm.prompt_format,
            "load_s": round(load_s, 2),
            "conversion_s": card.seconds.get("total") if card else None,
            "converted_in_this_run": converted_now,
            "n_parameters": card.parameters.get("n_parameters") if card else None,
            "weights_mb": card.parameters.get("weights_mb") if card else None,
        }
        del lm
    report("done", 1.0)
    return summary, cases


__all__ = ["run_lm_speed", "time_once"]
