"""Read a CTranslate2 `model.bin` into numpy arrays, with no CTranslate2 runtime needed.

The format (CTranslate2 binary version 6, as `ctranslate2.specs.ModelSpec.save` writes it), little-endian:
u32 binary version; string spec name; u32 spec revision; u32 variable count; per variable: string name,
u8 rank, rank x u32 dims, u8 dtype (0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16), u32 byte
count, the raw bytes; then u32 alias count and (alias, target) string pairs. A string is a u16 length that
counts a trailing NUL, the UTF-8 bytes and the NUL.

Packages may split the file in parts (`model.bin.part1`, `model.bin.part2`): the parts are concatenated.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codx.errors import SpeechModelError

SUPPORTED_VERSIONS = (5, 6)
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}  # 5 (bfloat16) handled apart


@dataclass
class CT2Model:
    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> np.ndarray:
        """A variable by name or alias (CTranslate2 stores a tied output projection as an alias)."""
        name = self.aliases.get(name, name)
        try:
            return self.variables[name]
        except KeyError:
            raise SpeechModelError(f"{self.spec} file has no variable {name!r}: is it a {self.spec} model?") from None


class _Reader:
    def __init__(self, buf: bytes, source: str):
        self.buf, self.pos, self.source = memoryview(buf), 0, source

    def take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise SpeechModelError(
                f"{self.source} ends early (at byte {self.pos}): the file is truncated or a part is missing"
            )
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.take("H")
        raw = bytes(self.buf[self.pos : self.pos + n - 1])
        self.pos += n
        return raw.decode("utf-8")

    def array(self, shape: list[int], dtype_id: int, nbytes: int) -> np.ndarray:
        if self.pos + nbytes > len(self.buf):
            raise SpeechModelError(f"{self.source} ends inside a variable: the file is truncated or a part is missing")
        raw = self.buf[self.pos : self.pos + nbytes]
        self.pos += nbytes
        if dtype_id == 5:  # bfloat16: the high half of a float32
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            return bits.view(np.float32).reshape(shape)
        if dtype_id not in _DTYPES:
            raise SpeechModelError(f"{self.source}: unknown CTranslate2 dtype id {dtype_id}")
        return np.frombuffer(raw, dtype=_DTYPES[dtype_id]).reshape(shape).copy()


def read_ct2(parts: Sequence[Path]) -> CT2Model:
    """Parse a CTranslate2 model file given as one path or its parts in order."""
    if not parts:
        raise SpeechModelError("no CTranslate2 model file given")
    try:
        buf = b"".join(Path(p).read_bytes() for p in parts)
    except OSError as exc:
        raise SpeechModelError(f"cannot read {exc.filename}: reinstall the package that ships it") from exc
    source = str(parts[0]) if len(parts) == 1 else f"{parts[0]} (+{len(parts) - 1} part(s))"
    r = _Reader(buf, source)
    version = r.take("I")
    if version not in SUPPORTED_VERSIONS:
        raise SpeechModelError(
            f"{source}: CTranslate2 binary version {version} is not supported ({SUPPORTED_VERSIONS})"
        )
    spec, revision = r.string(), r.take("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(r.take("I")):
        name = r.string()
        shape = [r.take("I") for _ in range(r.take("B"))]
        dtype_id, nbytes = r.take("B"), r.take("I")
        variables[name] = r.array(shape, dtype_id, nbytes)
    aliases = {}
    for _ in range(r.take("I")):
        alias = r.string()
        aliases[alias] = r.string()
    if r.pos != len(buf):
        raise SpeechModelError(
            f"{source}: {len(buf) - r.pos} bytes left after the last variable; is a part duplicated?"
        )
    return CT2Model(spec=spec, revision=revision, variables=variables, aliases=aliases)
