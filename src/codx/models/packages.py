"""Which version of a declared package is installed: model folders record it, so that an upgrade of the
package that carries weights or data makes codx convert or rebuild again."""

from __future__ import annotations

import importlib.metadata


def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution`, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


__all__ = ["installed_version"]
