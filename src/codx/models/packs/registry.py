"""Where packs live on disk, and the built-in packs codx can build from installed packages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from codx.errors import PackError, PackNotFoundError
from codx.models.packs.common import build_common_pack
from codx.models.packs.common import builder_revision as common_revision
from codx.models.packs.hpo import BUILDER as HPO_BUILDER
from codx.models.packs.hpo import build_hpo_pack
from codx.models.packs.schema import Pack
from codx.models.packs.store import load_pack, save_pack

log = logging.getLogger(__name__)

#: Packs built from declared package data alone; importers for user files are separate.
BUILTIN: dict[str, Callable[[], Pack]] = {"hpo": build_hpo_pack, "common": build_common_pack}
#: What a built-in pack's current builder writes in `PackMeta.builder`; a cached pack with another is rebuilt.
REVISION: dict[str, Callable[[], str]] = {"hpo": lambda: HPO_BUILDER, "common": common_revision}

#: A-priori share of consultations whose cause lies in each built-in pack, when packs are consulted together
#: (a pack not named here weighs 1). Rare diseases together affect 3.5-5.9% of people (Nguengang Wakap et al.,
#: Eur J Hum Genet 2020) and are a smaller share of the new complaints people bring; so a common condition
#: stays far more likely than any rare one until the findings point away from the common pack.
PRIOR_SHARE: dict[str, float] = {"common": 0.97, "hpo": 0.03}


def pack_weights(names: list[str]) -> dict[str, float]:
    return {n: PRIOR_SHARE.get(n, 1.0) for n in names}


def pack_folder(packs_dir: Path, name: str) -> Path:
    return packs_dir / name


def available(packs_dir: Path) -> list[str]:
    built = {p.parent.name for p in packs_dir.glob("*/pack.json")} if packs_dir.exists() else set()
    return sorted(built | set(BUILTIN))


def get_pack(packs_dir: Path, name: str, build_missing: bool = True) -> Pack:
    """The cached pack; a built-in one is built and cached on first use."""
    folder = pack_folder(packs_dir, name)
    if (folder / "pack.json").exists():
        try:
            pack = load_pack(folder)
        except PackError as exc:
            if name not in BUILTIN or not build_missing:
                raise
            log.warning("the cached %s pack cannot be read (%s); rebuilding it", name, exc)
        else:
            if name not in BUILTIN or not build_missing or pack.meta.builder == REVISION[name]():
                return pack
            log.info("the cached %s pack was built by another codx; rebuilding it", name)
    if name in BUILTIN and build_missing:
        pack = BUILTIN[name]()
        save_pack(pack, folder)
        return pack
    hint = f"run `codx pack build {name}`" if name in BUILTIN else "import it with `codx pack build NAME --from FILE`"
    raise PackNotFoundError(
        f"pack {name!r} is not built ({folder}); {hint}. Available: {', '.join(available(packs_dir))}"
    )
