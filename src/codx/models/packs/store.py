"""The cached on-disk form of a pack: `pack.json` (typed records) + `annotations.npz` (columns)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from codx.errors import PackError, PackNotFoundError
from codx.models.packs.schema import AnnotationTable, Disease, Finding, FindingGroup, Pack, PackMeta

FORMAT_VERSION = 1


class PackDocument(BaseModel):
    """Everything but the annotation columns, validated in one pass by pydantic-core."""

    model_config = ConfigDict(extra="forbid")
    format_version: int = FORMAT_VERSION
    meta: PackMeta
    diseases: list[Disease]
    findings: list[Finding]
    groups: list[FindingGroup] = []
    aliases: dict[str, str] = {}


def save_pack(pack: Pack, folder: Path) -> Path:
    """Write atomically (temp names, then rename) so a crash never leaves half a pack."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = PackDocument(
        meta=pack.meta,
        diseases=pack.diseases,
        findings=pack.findings,
        groups=pack.groups,
        aliases=pack.aliases,
    )
    tmp_json, tmp_npz = folder / "pack.json.tmp", folder / "annotations.tmp.npz"
    tmp_json.write_text(doc.model_dump_json(exclude_defaults=True))
    t = pack.annotations
    np.savez(
        tmp_npz,
        disease=t.disease,
        finding=t.finding,
        frequency=t.frequency,
        absent_frequency=t.absent_frequency,
        negated=t.negated,
    )
    tmp_npz.replace(folder / "annotations.npz")
    tmp_json.replace(folder / "pack.json")
    return folder


def load_pack(folder: Path) -> Pack:
    json_path, npz_path = folder / "pack.json", folder / "annotations.npz"
    if not json_path.exists() or not npz_path.exists():
        raise PackNotFoundError(f"no pack at {folder}; build it with `codx pack build NAME`")
    try:
        doc = PackDocument.model_validate_json(json_path.read_bytes())
    except ValidationError as exc:
        raise PackError(f"pack at {folder} is corrupt ({exc.error_count()} errors); rebuild it") from exc
    if doc.format_version != FORMAT_VERSION:
        raise PackError(f"pack at {folder} has format {doc.format_version}, expected {FORMAT_VERSION}; rebuild it")
    try:
        with np.load(npz_path) as z:
            table = AnnotationTable(z["disease"], z["finding"], z["frequency"], z["absent_frequency"], z["negated"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise PackError(f"annotations of the pack at {folder} are corrupt ({exc}); rebuild it") from exc
    return Pack(doc.meta, doc.diseases, doc.findings, table, doc.groups, doc.aliases)
