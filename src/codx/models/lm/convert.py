"""Convert a packaged GGUF language model once into a safetensors folder that loads in seconds.

transformers reads GGUF directly (`from_pretrained(folder, gguf_file=...)`, with the `gguf` package), but it
parses the file in Python and dequantises every tensor on each load: over a minute for gemma-3-270m on two
cores. `ensure_lm(models_dir, name)` does that once and saves the float32 model, tokenizer and chat template
into `models_dir/lm/<name>/`, which then loads in under 4 s.

The save quirk. A model loaded from GGUF carries a GGUF "quantizer" and `config.quantization_config =
{"quant_method": "gguf", ...}` although its weights are already plain float32 tensors, so
`save_pretrained` refuses ("quantized with gguf and is not serializable"); dropping only the quantizer
saves a config.json that still says gguf, and the reloaded model comes back flagged as a GGUF-quantized,
unsaveable model. The config also holds the GGUF's `general.name` under `_model_name_or_path`, and the
tokenizer's `model_max_length` is "unlimited" (1e30). So codx builds a clean model of the same class from the
config without those fields, moves the loaded tensors into it (no copy), re-ties the output layer to the
embeddings (both bases tie them; the shared tensor is saved once), sets the tokenizer's maximum length to the
model's context, and saves that. It then reloads the folder and checks that greedy decoding of a probe
prompt gives the same token ids (and the prompt the same ids) as the GGUF-loaded model did.

The folder is written under a temporary name and renamed into place, and its model card `card.json` is
written last: an interrupted conversion leaves nothing that looks finished. The card names the package
versions converted, so upgrading a package converts again.
"""

from __future__ import annotations

import gc
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ValidationError

from codx.errors import LanguageModelError
from codx.models.lm.sources import SOURCES, LMSource, gguf_file, source_of
from codx.progress import Progress

CARD = "card.json"
CARD_FORMAT = 1
PROBE_PROMPT = "The patient has a fever and a cough. The most likely cause is"
PROBE_NEW_TOKENS = 8
#: Config fields that only describe the GGUF the model was read from; dropped before saving.
GGUF_ONLY_FIELDS = ("quantization_config", "_name_or_path", "_model_name_or_path")


class LMSourceRecord(BaseModel):
    packages: dict[str, str]
    gguf: str
    sha256: str
    gguf_name: str | None = None  # the GGUF's own `general.name`


class RoundTrip(BaseModel):
    """The greedy check of a conversion: the GGUF-loaded model against the saved folder."""

    prompt: str
    prompt_ids: list[int]
    gguf_tokens: list[int]
    tokens: list[int]

    @property
    def matches(self) -> bool:
        return self.gguf_tokens == self.tokens


class LMCard(BaseModel):
    """`card.json` of a converted language model (what `codx models info NAME` shows)."""

    format: int = CARD_FORMAT
    name: str
    kind: Literal["language model"] = "language model"
    task: str
    base: str
    recipe: str
    data: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    license: str
    created: str
    source: LMSourceRecord
    prompt_format: Literal["chat template", "plain"]
    architecture: str
    round_trip: RoundTrip
    seconds: dict[str, float]


def lm_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "lm"


def lm_path(models_dir: Path, name: str) -> Path:
    return lm_dir(models_dir) / name


def read_card(folder: Path) -> LMCard:
    """The card of a converted folder; LanguageModelError saying what to run when it is missing or unreadable."""
    path = Path(folder) / CARD
    try:
        return LMCard.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LanguageModelError(f"{folder} is not a converted language model (no {CARD})") from None
    except (OSError, ValueError, ValidationError) as e:
        raise LanguageModelError(
            f"{path} is unreadable ({e.__class__.__name__}); convert again: codx models convert lm --name "
            f"{Path(folder).name}"
        ) from e


def is_current(folder: Path, source: LMSource) -> bool:
    """A finished conversion (card written last) of the package versions installed now."""
    try:
        card = read_card(folder)
    except LanguageModelError:
        return False
    return (
        card.format == CARD_FORMAT
        and card.name == source.name
        and card.source.packages == source.versions()
        and (Path(folder) / "model.safetensors").is_file()
    )


def _quiet():
    from codx.models.language.encoder import _quiet_transformers

    return _quiet_transformers()


@contextmanager
def _dequantising_progress(progress: Progress | None, lo: float, hi: float) -> Iterator[None]:
    """transformers' GGUF reader draws its own tqdm bar (not one `disable_progress_bar` turns off) while it
    dequantises tensors; for the duration, its module-level `tqdm` reports to codx's progress instead."""
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:  # another transformers layout: its bar, if any, shows as it is
        yield
        return

    def bar(iterable: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(iterable)
        for i, item in enumerate(items):
            if progress is not None and i % 16 == 0:
                progress(f"dequantising tensors ({i}/{len(items)})", lo + (hi - lo) * i / max(len(items), 1))
            yield item

    gguf_utils.tqdm = bar
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _load_gguf(gguf: Path, progress: Progress | None = None) -> tuple[Any, Any]:
    """Tokenizer and float32 model read from a GGUF file (the slow part: parsing and dequantising)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def report(message: str, fraction: float) -> None:
        if progress is not None:
            progress(message, fraction)

    folder, name = str(gguf.parent), gguf.name
    with _quiet():
        report(f"reading the tokenizer from {name}", 0.0)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
        report(f"reading the weights from {name}", 0.25)
        with _dequantising_progress(progress, 0.5, 1.0):
            model = AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=name, dtype=torch.float32, local_files_only=True
            )
    model.eval()
    return tokenizer, model


def _load_folder(folder: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with _quiet():
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True)
    model.eval()
    return tokenizer, model


def greedy_tokens(model: Any, tokenizer: Any, prompt: str, new_tokens: int) -> tuple[list[int], list[int]]:
    """(prompt ids, greedily generated ids) of a plain-text prompt; exactly `new_tokens` of them."""
    enc = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(
            **enc,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        )
    prompt_ids = enc["input_ids"][0].tolist()
    return prompt_ids, out[0, len(prompt_ids) :].tolist()


def _without_gguf(model: Any) -> Any:
    """The same weights in a fresh model of the same class whose config no longer mentions GGUF (see above)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = {k: v for k, v in model.config.to_dict().items() if k not in GGUF_ONLY_FIELDS}
    model_type = fields.pop("model_type")
    config = AutoConfig.for_model(model_type, **fields)
    with torch.device("meta"):  # names and shapes only; the tensors come from the loaded model
        clean = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    try:
        clean.load_state_dict(model.state_dict(), strict=True, assign=True)
    except RuntimeError as e:
        raise LanguageModelError(f"the GGUF weights do not fit {type(clean).__name__}: {e}") from e
    clean.tie_weights()
    if getattr(config, "tie_word_embeddings", False):
        out, emb = clean.get_output_embeddings(), clean.get_input_embeddings()
        if out.weight.data_ptr() != emb.weight.data_ptr():
            raise LanguageModelError("the output layer is not tied to the embeddings after conversion")
    clean.generation_config = model.generation_config
    clean.eval()
    return clean


def _replace(tmp: Path, out: Path, source: LMSource) -> None:
    if out.exists():
        shutil.rmtree(out)
    try:
        tmp.rename(out)
    except OSError:  # another process finished the same conversion first
        if not is_current(out, source):
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def convert_lm(models_dir: Path, name: str, progress: Progress | None = None) -> Path:
    """Convert the packaged base `name` into `models_dir/lm/<name>/` (again, even if a conversion exists).

    About 30 s for SmolLM2-135M and a minute or two for gemma-3-270m on two cores; returns the folder.
    """

    def report(message: str, fraction: float) -> None:
        if progress is not None:
            progress(message, fraction)

    source = source_of(name)
    if not source.installed():
        raise LanguageModelError(f"{name} is not installed; {source.install_hint()}")
    out = lm_path(models_dir, name)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    try:
        gguf, digest = gguf_file(source, tmp / "gguf", lambda m, f: report(m, 0.05 * f))
        t = time.perf_counter()
        tokenizer, model = _load_gguf(gguf, lambda m, f: report(m, 0.05 + 0.55 * f))
        seconds["gguf_load"] = round(time.perf_counter() - t, 1)
        gguf_name = model.config.to_dict().get("_model_name_or_path")
        report("greedy reference from the GGUF model", 0.6)
        prompt_ids, reference = greedy_tokens(model, tokenizer, PROBE_PROMPT, PROBE_NEW_TOKENS)
        report("saving safetensors", 0.65)
        t = time.perf_counter()
        clean = _without_gguf(model)
        del model
        n_parameters = sum(p.numel() for p in clean.parameters())  # a tied tensor counts once
        config = clean.config
        tokenizer.model_max_length = int(config.max_position_embeddings)
        with _quiet():
            clean.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
        has_template = bool(getattr(tokenizer, "chat_template", None))
        del clean, tokenizer
        gc.collect()
        shutil.rmtree(tmp / "gguf", ignore_errors=True)
        seconds["save"] = round(time.perf_counter() - t, 1)

        report("checking the saved folder against the GGUF model", 0.85)
        t = time.perf_counter()
        tokenizer, model = _load_folder(tmp)
        seconds["load"] = round(time.perf_counter() - t, 1)
        if getattr(model, "hf_quantizer", None) is not None or getattr(model.config, "quantization_config", None):
            raise LanguageModelError(f"{name}: the saved folder still loads as a GGUF-quantized model")
        saved_prompt_ids, tokens = greedy_tokens(model, tokenizer, PROBE_PROMPT, PROBE_NEW_TOKENS)
        del model, tokenizer
        round_trip = RoundTrip(prompt=PROBE_PROMPT, prompt_ids=prompt_ids, gguf_tokens=reference, tokens=tokens)
        if saved_prompt_ids != prompt_ids or not round_trip.matches:
            raise LanguageModelError(
                f"{name}: the converted model does not reproduce the GGUF model (prompt ids {saved_prompt_ids} vs "
                f"{prompt_ids}, greedy tokens {tokens} vs {reference}); this transformers version converts "
                "differently: report it"
            )
        seconds["total"] = round(time.perf_counter() - started, 1)
        weights_mb = (tmp / "model.safetensors").stat().st_size / 1e6
        pins = ", ".join(f"{k}=={v}" for k, v in source.versions().items())
        card = LMCard(
            name=name,
            task="text generation (chat)" if source.instruct else "text generation (base model, no chat template)",
            base=f"{source.title} ({source.gguf_name} from {pins})",
            recipe="converted by codx (models/lm/convert.py): GGUF dequantised by transformers, saved as float32 "
            "safetensors; greedy round trip checked",
            data="not trained by codx; see the upstream model card for the training data",
            parameters={
                "n_parameters": n_parameters,
                "dtype": "float32",
                "context_tokens": int(config.max_position_embeddings),
                "vocab_size": int(config.vocab_size),
                "layers": int(config.num_hidden_layers),
                "hidden_size": int(config.hidden_size),
                "tied_embeddings": bool(getattr(config, "tie_word_embeddings", False)),
                "weights_mb": round(weights_mb, 1),
            },
            metrics={"greedy_round_trip_match": True, "round_trip_new_tokens": PROBE_NEW_TOKENS},
            license=source.license,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            source=LMSourceRecord(
                packages=source.versions(), gguf=source.gguf_name, sha256=digest, gguf_name=gguf_name
            ),
            prompt_format="chat template" if has_template else "plain",
            architecture=str((config.architectures or [type(config).__name__])[0]),
            round_trip=round_trip,
            seconds=seconds,
        )
        (tmp / CARD).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")  # written last
        _replace(tmp, out, source)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report(f"{name} ready in {out}", 1.0)
    return out


def ensure_lm(models_dir: Path, name: str, progress: Progress | None = None) -> Path:
    """The converted folder of `name`: converted on first use (and after a package upgrade), else only found.

    A finished conversion is kept when its packages were uninstalled since: it needs nothing from them.
    """
    source = source_of(name)
    out = lm_path(models_dir, name)
    if is_current(out, source):
        return out
    if not source.installed() and (out / "model.safetensors").is_file():
        try:
            read_card(out)
            return out
        except LanguageModelError:
            pass
    return convert_lm(models_dir, name, progress)


def resolve_lm(models_dir: Path, spec: str, progress: Progress | None = None) -> Path:
    """The folder of a language model: a packaged base by name (converted on first use), another model in
    `models_dir/lm/` by name (e.g. one `codx train lm` wrote), or the path of a transformers folder."""
    if spec in SOURCES:
        return ensure_lm(models_dir, spec, progress)
    named = lm_path(models_dir, spec)
    if "/" not in spec and (named / "config.json").is_file():
        return named
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path
    known = ", ".join(sorted(SOURCES))
    raise LanguageModelError(
        f"{spec!r} is neither a codx language model ({known}, or one in {lm_dir(models_dir)}) nor a folder "
        "holding a converted model (config.json, model.safetensors, tokenizer); see `codx models list`"
    )


__all__ = [
    "CARD",
    "LMCard",
    "RoundTrip",
    "convert_lm",
    "ensure_lm",
    "greedy_tokens",
    "is_current",
    "lm_dir",
    "lm_path",
    "read_card",
    "resolve_lm",
]
