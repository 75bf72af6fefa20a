"""The repository's own English encoder: all-MiniLM-L6-v2 fine-tuned by `codx train encoder`.

The folder (`data_dir/encoders/codx-minilm-en/`) is a transformers model + tokenizer + the
sentence-transformers files of the base model (mean pooling, Normalize), a MODEL_CARD.md and the manifest
`codx-encoder.json`, written last. Its `name` carries the first hex digits of the weights' SHA-256, so
indexes built with one training run are never reused by the next (`FindingIndex` caches by name).

Serving code only loads it here; training lives in `codx.training.encoder`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from codx.errors import EncoderError
from codx.models.language.encoder import (
    MANIFEST,
    _load_tokenizer,
    _quiet_transformers,
    _sentence_transformers_setup,
    _TransformerEncoder,
    encoder_dir,
)

TRAINED_NAME = "codx-minilm-en"
TRAINED_FORMAT = 1
WEIGHTS = "model.safetensors"
NEEDED = ["config.json", WEIGHTS, "tokenizer.json", "tokenizer_config.json", "modules.json", MANIFEST]
TRAIN_HINT = "delete the folder and run `codx train encoder` again"


def trained_dir(data_dir: Path) -> Path:
    """Where `codx train encoder` writes the English encoder."""
    return encoder_dir(data_dir, TRAINED_NAME)


def weights_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def base_name(name: str) -> str:
    """An encoder's name without the training fingerprint ("codx-minilm-en@1a2b3c4d" -> "codx-minilm-en")."""
    return name.split("@", 1)[0]


class TrainedEncoder(_TransformerEncoder):
    """A fine-tuned MiniLM folder; symmetric like MiniLM (`kind` is ignored). Raises EncoderError naming the
    missing or broken part, and what to run, when the folder is incomplete or its weights changed."""

    manifest: dict[str, Any]

    def __init__(self, path: Path):
        path = Path(path)
        missing = [f for f in NEEDED if not (path / f).is_file()]
        if missing:
            raise EncoderError(f"the trained encoder in {path} is incomplete (no {', '.join(missing)}); {TRAIN_HINT}")
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") != TRAINED_FORMAT or manifest.get("name") != TRAINED_NAME:
                raise EncoderError(f"{path / MANIFEST} is not a {TRAINED_NAME} manifest of format {TRAINED_FORMAT}")
            if weights_sha256(path / WEIGHTS) != manifest.get("fingerprint"):
                raise EncoderError(f"{path / WEIGHTS} differs from the weights that were trained")
            max_length, normalize = _sentence_transformers_setup(path)
            if not normalize:
                raise EncoderError(f"{path} has no Normalize module; codx expects unit vectors")
            from transformers import BertModel

            tokenizer = _load_tokenizer(path, max_length)
            with _quiet_transformers():
                model = BertModel.from_pretrained(
                    str(path), local_files_only=True, add_pooling_layer=False, dtype=torch.float32
                )
        except EncoderError as e:
            raise EncoderError(f"{e}; {TRAIN_HINT}") from e
        except Exception as e:  # a broken manifest, config, tokenizer or safetensors file
            raise EncoderError(
                f"the trained encoder in {path} is unreadable ({e.__class__.__name__}: {e}); {TRAIN_HINT}"
            ) from e
        self.manifest = manifest
        suggested = (manifest.get("metrics") or {}).get("suggested_min_score")
        self.suggested_min_score: float | None = float(suggested) if suggested is not None else None
        name = f"{TRAINED_NAME}@{manifest['fingerprint'][:8]}"
        super().__init__(model, tokenizer, name=name, max_length=max_length, prefixes={})


def load_trained_encoder(data_dir: Path) -> TrainedEncoder | None:
    """The trained English encoder, or None when none was trained; EncoderError when it is there but broken."""
    folder = trained_dir(data_dir)
    if not folder.exists():
        return None
    return TrainedEncoder(folder)


__all__ = ["TRAINED_NAME", "TrainedEncoder", "base_name", "load_trained_encoder", "trained_dir", "weights_sha256"]
