"""The `codx` command: a thin adapter over the library that turns CodxError into a one-line fix."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from codx.errors import CodxError
from codx.settings import Settings

console = Console(stderr=True)


class CodxGroup(click.Group):
    """Print library errors as messages, not tracebacks."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CodxError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            sys.exit(2)


@contextmanager
def progress_bar(title: str) -> Iterator:
    """A rich progress bar fed by library callbacks of the form (stage, fraction)."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(title, total=1.0)

        def update(stage: str, fraction: float) -> None:
            bar.update(task, description=f"{title}: {stage}", completed=fraction)

        yield update


def _threads(settings: Settings) -> None:
    import torch

    torch.set_num_threads(settings.threads)


@click.group(cls=CodxGroup)
@click.version_option(package_name="codx")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """codx: a clinical assistant with an explicit, calibrated diagnosis model. Not a medical device."""
    ctx.obj = Settings()
    _threads(ctx.obj)


# -- packs --------------------------------------------------------------------------------------
@cli.group()
def pack() -> None:
    """Build, inspect and validate knowledge packs."""


@pack.command("build")
@click.argument("name")
@click.option("--from", "source", type=click.Path(exists=True, path_type=Path), help="Import from this file/folder.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ddxplus", "goalset", "expimp"]),
    help="Format of --from (importers).",
)
@click.pass_obj
def pack_build(settings: Settings, name: str, source: Path | None, fmt: str | None) -> None:
    """Build the built-in pack NAME (e.g. hpo), or import NAME from a user file with --from/--format."""
    from codx.models.packs.registry import BUILTIN, pack_folder
    from codx.models.packs.store import save_pack
    from codx.models.packs.validate import find_problems

    if source is None:
        if name not in BUILTIN:
            raise click.UsageError(f"{name!r} is not built in ({', '.join(BUILTIN)}); use --from FILE --format F")
        with progress_bar(f"building {name}") as update:
            update("reading source files", 0.1)
            built = BUILTIN[name]()
            update("saving", 0.9)
            folder = save_pack(built, pack_folder(settings.packs_dir, name))
            update("done", 1.0)
    else:
        if fmt is None:
            raise click.UsageError("--from needs --format (ddxplus, goalset or expimp)")
        built = _import(name, source, fmt)
        folder = save_pack(built, pack_folder(settings.packs_dir, name))
    problems = find_problems(built)
    for p in problems:
        console.print(f"[yellow]warning:[/] {p}")
    click.echo(f"built pack {name} ({len(built.diseases)} diseases, {len(built.findings)} findings) at {folder}")


def _import(name: str, source: Path, fmt: str):
    if fmt == "ddxplus":
        from codx.models.packs.ddxplus import build_ddxplus_pack

        return build_ddxplus_pack(source if source.is_dir() else source.parent)
    if fmt == "goalset":
        from codx.models.packs.goalset import build_goalset_pack

        return build_goalset_pack(source, name)
    from codx.models.packs.expimp import build_expimp_pack

    return build_expimp_pack(source, name)


@pack.command("info")
@click.argument("name")
@click.pass_obj
def pack_info(settings: Settings, name: str) -> None:
    """Print what a pack holds."""
    from codx.models.packs.registry import get_pack

    for k, v in get_pack(settings.packs_dir, name, build_missing=False).summary().items():
        click.echo(f"{k}: {v}")


@pack.command("validate")
@click.argument("name")
@click.pass_obj
def pack_validate(settings: Settings, name: str) -> None:
    """Check a pack (a name, or a folder holding pack.json); exit 1 listing the problems."""
    from codx.models.packs.registry import get_pack
    from codx.models.packs.store import load_pack
    from codx.models.packs.validate import find_problems

    p = Path(name)
    built = load_pack(p) if (p / "pack.json").exists() else get_pack(settings.packs_dir, name, build_missing=False)
    problems = find_problems(built)
    for msg in problems:
        click.echo(f"problem: {msg}")
    if problems:
        sys.exit(1)
    click.echo(f"pack {built.meta.name} {built.meta.version} is valid")


@pack.command("list")
@click.pass_obj
def pack_list(settings: Settings) -> None:
    """Packs that are built, plus the built-in ones codx can build."""
    from codx.models.packs.registry import available

    for n in available(settings.packs_dir):
        built = (settings.packs_dir / n / "pack.json").exists()
        click.echo(f"{n}\t{'built' if built else 'not built'}")


# -- training -----------------------------------------------------------------------------------
@cli.group()
def train() -> None:
    """Train the repository's own models."""


@train.command("diagnosis")
@click.option("--pack", "packs", multiple=True, required=True, help="Pack name (repeat for several).")
@click.option("--synthetic", default=1200, show_default=True, help="Synthetic patients (fit, calibrate, test).")
@click.option("--seed", default=0, show_default=True)
@click.pass_obj
def train_diagnosis(settings: Settings, packs: tuple[str, ...], synthetic: int, seed: int) -> None:
    """Fit the diagnosis model's parameters and calibration; save it with its model card."""
    from codx.bootstrap import model_name
    from codx.models.packs.registry import get_pack, pack_weights
    from codx.training.diagnosis import train_model

    loaded = [get_pack(settings.packs_dir, n) for n in packs]
    with progress_bar("training diagnosis model") as update:
        model = train_model(
            loaded,
            model_name(list(packs)),
            n_synthetic=synthetic,
            seed=seed,
            pack_weights=pack_weights(list(packs)),
            progress=update,
        )
    folder = model.save(settings.models_dir / model.card.name)
    click.echo(model.card.to_markdown())
    click.echo(f"saved to {folder}")


@train.command("encoder")
@click.option(
    "--pack", "packs", multiple=True, default=["hpo", "common"], show_default=True, help="Packs whose pairs to use."
)
@click.option("--steps", default=None, type=int, help="Optimizer steps [default: EncoderTrainConfig].")
@click.option("--batch-size", default=None, type=int, help="Pairs per step (in-batch negatives).")
@click.option("--lr", default=None, type=float, help="Peak learning rate.")
@click.option("--hard-negatives", default=None, type=int, help="Ontology neighbours' labels per pair (0: none) [1].")
@click.option("--device", default=None, help="auto, cpu or cuda[:N] [default: auto, the GPU when torch sees one].")
@click.option(
    "--freeze-embeddings/--train-embeddings", default=None, help="Keep the word vectors fixed [default: they learn]."
)
@click.option("--bf16/--fp32", default=None, help="bfloat16 matrix products where the CPU has them [default: bf16].")
@click.option("--language", "languages", multiple=True, help="Pack label languages to pair (repeat) [default: en].")
@click.option("--dev-size", default=None, type=int, help="Pairs held out for the model card's dev metrics.")
@click.option("--seed", default=0, show_default=True)
@click.pass_obj
def train_encoder_cmd(
    settings: Settings,
    packs: tuple[str, ...],
    steps: int | None,
    batch_size: int | None,
    lr: float | None,
    hard_negatives: int | None,
    device: str | None,
    freeze_embeddings: bool | None,
    bf16: bool | None,
    languages: tuple[str, ...],
    dev_size: int | None,
    seed: int,
) -> None:
    """Fine-tune the English encoder on the packs' phrase/label pairs (held-out lay words excluded)."""
    import dataclasses

    from codx.models.diagnosis.knowledge import Knowledge
    from codx.models.diagnosis.params import DiagnosisParams
    from codx.models.language.trained import trained_dir
    from codx.models.packs.registry import get_pack
    from codx.training.encoder import train_encoder
    from codx.training.encoder_loop import EncoderTrainConfig

    given = {"steps": steps, "batch_size": batch_size, "lr": lr, "hard_negatives": hard_negatives}
    given |= {"freeze_embeddings": freeze_embeddings, "bf16": bf16, "dev_size": dev_size, "device": device}
    given |= {"languages": tuple(languages) or None}
    cfg = EncoderTrainConfig(seed=seed, threads=settings.threads)
    cfg = dataclasses.replace(cfg, **{k: v for k, v in given.items() if v is not None})
    loaded = [get_pack(settings.packs_dir, n) for n in packs]
    heldout_kn = Knowledge([get_pack(settings.packs_dir, "hpo")], DiagnosisParams())  # what the benchmark scores
    out = trained_dir(settings.data_dir)
    with progress_bar("training encoder") as update:
        manifest = train_encoder(loaded, heldout_kn, out, cfg, settings.data_dir / "indexes", progress=update)
    m = manifest["metrics"]
    before, after = m["lay_heldout_before"], m["lay_heldout_after"]
    click.echo(
        f"held-out lay synonyms (n={after['n']}): top-1 {before['top1']} -> {after['top1']}, "
        f"top-5 {before['top5']} -> {after['top5']}; training {manifest['seconds']['train']} s"
    )
    click.echo(f"saved to {out} (model card: {out / 'MODEL_CARD.md'})")


# -- one case ----------------------------------------------------------------------------------
EXAMPLE_CASE = {  # a Marfan-like presentation, written for the demo (not from any dataset)
    "present": ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0001519"],
    "absent": ["HP:0001249"],
}


@cli.command("diagnose")
@click.option("--present", "-p", multiple=True, help="A finding the patient has (HPO id); repeat.")
@click.option("--absent", "-a", multiple=True, help="A finding the patient does not have; repeat.")
@click.option("--age", type=float, help="Age in years.")
@click.option("--sex", type=click.Choice(["female", "male"]))
@click.option("--pack", "packs", multiple=True, default=["common", "hpo"], show_default=True, help="Packs to consult.")
@click.option("--example", is_flag=True, help="Run a built-in example case (Marfan-like).")
@click.option("--top", default=10, show_default=True)
@click.pass_obj
def diagnose(
    settings: Settings,
    present: tuple[str, ...],
    absent: tuple[str, ...],
    age: float | None,
    sex: str | None,
    packs: tuple[str, ...],
    example: bool,
    top: int,
) -> None:
    """Rank diseases for a set of findings and show the next best questions (Chain of Diagnosis)."""
    from rich.table import Table

    from codx.bootstrap import ensure_model
    from codx.models.diagnosis.evidence import CaseEvidence, Observation
    from codx.models.diagnosis.inquiry import StopRule

    if example:
        present, absent = tuple(EXAMPLE_CASE["present"]), tuple(EXAMPLE_CASE["absent"])
    if not present:
        raise click.UsageError("give at least one --present finding (e.g. -p HP:0001166), or --example")
    with progress_bar("loading model") as update:
        model = ensure_model(settings, list(packs), progress=update)
    obs = [Observation(finding=f, status="present") for f in present]
    obs += [Observation(finding=f, status="absent") for f in absent]
    evidence = CaseEvidence(observations=obs, age_years=age, sex=sex)  # type: ignore[arg-type]
    rule = StopRule(tau=settings.tau, max_questions=settings.max_questions, min_gain=settings.min_gain)
    step = model.step(evidence, 0, rule)
    kn = model.knowledge
    out = Console()
    for msg in step.evidence.messages:
        out.print(f"[yellow]note:[/] {msg}")
    table = Table(title="Differential (calibrated probability)")
    for col in ("rank", "id", "disease", "probability"):
        table.add_column(col)
    for r, (i, p) in enumerate(step.ranking.top(top), 1):
        table.add_row(str(r), kn.disease_ids[i], kn.diseases[i].name, f"{p:.3f}")
    out.print(table)
    out.print(f"decision: [bold]{step.decision}[/] (tau={rule.tau})")
    if step.questions:
        qt = Table(title="Next best questions (expected information gain)")
        for col in ("finding", "label", "gain (bits)", "P(yes)"):
            qt.add_column(col)
        for q in step.questions:
            if q.finding >= 0:
                qt.add_row(kn.finding_ids[q.finding], kn.findings[q.finding].label, f"{q.gain:.3f}", f"{q.p_yes:.2f}")
            else:
                g = kn.groups[q.group]
                qt.add_row(g.id, g.question or g.label, f"{q.gain:.3f}", f"{q.p_yes:.2f}")
        out.print(qt)
    out.print("[dim]codx is not a medical device; it does not replace a clinician.[/]")


# -- benchmarks ---------------------------------------------------------------------------------
@cli.group()
def bench() -> None:
    """Benchmarks: print a table and write JSON with per-case predictions."""


def _ensure_trained_encoder(settings: Settings) -> None:
    """Benchmarks of reading measure the reader the app settles on, codx's trained encoder: when none is saved
    they wait for the app's background job if it runs, else train it here with the same defaults
    (CODX_TRAIN_ENCODER=false skips this and measures off-the-shelf MiniLM)."""
    from codx import encoder_job

    if not encoder_job.needed(settings):
        return
    pid = encoder_job.running_pid(settings.data_dir)
    if pid is not None:
        click.echo(
            f"codx's encoder is being trained in the background (pid {pid}, log "
            f"{encoder_job.log_path(settings.data_dir)}); waiting for it (Ctrl-C stops; CODX_TRAIN_ENCODER=false "
            "measures off-the-shelf MiniLM instead).",
            err=True,
        )
        with progress_bar("waiting for the encoder training") as update:
            encoder_job.wait_for_job(settings.data_dir, progress=update)
        if not encoder_job.needed(settings):
            return
    click.echo(
        "No trained encoder yet: training it first, as the app does on its first start (`codx train encoder`; "
        "about an hour on one thread with bfloat16, two on an AVX2-only core; CODX_THREADS=2 is ~1.4x faster on "
        "an idle machine; CODX_TRAIN_ENCODER=false skips this and measures off-the-shelf MiniLM).",
        err=True,
    )
    click.get_current_context().invoke(train_encoder_cmd)


def _hpo_model(settings: Settings):
    from codx.bootstrap import ensure_model

    with progress_bar("loading hpo model") as update:
        return ensure_model(settings, ["hpo"], progress=update)


@bench.command("phenopackets")
@click.option(
    "--cases",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help=".jsonl(.gz) of Phenopacket v2 objects, or a folder of .json phenopackets.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="JSON report to write.")
@click.option(
    "--namespaces",
    default="OMIM",
    show_default=True,
    help="Disease namespaces to rank (comma-separated) or 'all'.",
)
@click.option(
    "--excluded",
    type=click.Choice(["ignore", "use"]),
    default="ignore",
    show_default=True,
    help="Use features marked excluded as absent findings (see README: reporting bias).",
)
@click.pass_obj
def bench_phenopackets(settings: Settings, cases: Path, out: Path, namespaces: str, excluded: str) -> None:
    """Rank diseases for each phenopacket (phenotypes only)."""
    from codx.bench.phenopackets import run_phenopackets
    from codx.bench.report import print_table, write_report

    model = _hpo_model(settings)
    ns = None if namespaces == "all" else [n.strip() for n in namespaces.split(",") if n.strip()]
    summary, records = run_phenopackets(model, cases, ns, excluded)  # type: ignore[arg-type]
    write_report(out, summary, records)
    print_table(f"phenopackets: {cases.name}", [(k, v) for k, v in summary.items() if not isinstance(v, list)])
    click.echo(f"wrote {out}")


@bench.command("interactive")
@click.option("--format", "fmt", type=click.Choice(["ddxplus", "goalset", "expimp"]), required=True)
@click.option("--cases", type=click.Path(exists=True, path_type=Path), required=True, help="Cases to consult.")
@click.option("--train", type=click.Path(exists=True, path_type=Path), help="Training split (pack + fit).")
@click.option("--kb", type=click.Path(exists=True, file_okay=False, path_type=Path), help="DDXPlus KB folder.")
@click.option("--max-questions", default=20, show_default=True, help="Question budget per case.")
@click.option("--tau", type=float, default=None, help="Stop when the top diagnosis reaches this [settings: 0.5].")
@click.option("--min-gain", type=float, default=None, help="Stop when the best question gains fewer bits.")
@click.option("--limit", type=int, default=None, help="Only the first N cases (smoke runs).")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.pass_obj
def bench_interactive(
    settings: Settings,
    fmt: str,
    cases: Path,
    train: Path | None,
    kb: Path | None,
    max_questions: int,
    tau: float | None,
    min_gain: float | None,
    limit: int | None,
    out: Path,
) -> None:
    """Simulated consultations: the patient says the first findings, codx asks, the case answers."""
    from codx.bench.interactive import run_interactive
    from codx.bench.report import print_table, write_report
    from codx.models.diagnosis.inquiry import StopRule

    rule = StopRule(
        tau=settings.tau if tau is None else tau,
        max_questions=max_questions,
        min_gain=settings.min_gain if min_gain is None else min_gain,
    )
    with progress_bar(f"interactive {fmt}") as update:
        summary, records = run_interactive(fmt, cases, train, kb, rule, limit=limit, progress=update)  # type: ignore[arg-type]
    write_report(out, summary, records)
    print_table(
        f"interactive {fmt}: {cases.name}",
        [(k, v) for k, v in summary.items() if not isinstance(v, (list, dict))],
    )
    click.echo(f"wrote {out}")


@bench.command("understanding")
@click.option(
    "--translations",
    "translations",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="HPO babelon TSV of translated labels (repeat for several languages).",
)
@click.option(
    "--polarity",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Negation/uncertainty set (JSONL); default: the set that ships with codx.",
)
@click.option(
    "--vignettes",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="AgentClinic .jsonl files for the extraction count.",
)
@click.option("--limit", type=int, default=None, help="Only the first N translated labels per file (smoke runs).")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.pass_obj
def bench_understanding(
    settings: Settings,
    translations: tuple[Path, ...],
    polarity: Path | None,
    vignettes: tuple[Path, ...],
    limit: int | None,
    out: Path,
) -> None:
    """Cross-lingual labels, held-out lay words, negation/uncertainty, and vignette extraction."""
    from codx.bench.polarity import DEFAULT_SET, run_polarity
    from codx.bench.report import print_table, write_report
    from codx.bench.understanding import (
        run_lay_heldout,
        run_message_speed,
        run_translations,
        run_vignette_extraction,
        translation_language,
    )
    from codx.bootstrap import make_extractor
    from codx.models.language.encoder import MiniLMEncoder, ensure_e5
    from codx.models.language.gloss import GlossedIndex
    from codx.models.language.lexical import english_reader
    from codx.models.language.retrieval import FindingIndex, PhraseIndex
    from codx.models.language.trained import load_trained_encoder

    _ensure_trained_encoder(settings)
    model = _hpo_model(settings)
    kn = model.knowledge
    cache = settings.data_dir / "indexes"
    summary: dict = {}
    cases: list = []
    with progress_bar("understanding") as update:
        encoders = {"": MiniLMEncoder()}
        trained = load_trained_encoder(settings.data_dir)
        if trained is not None:
            encoders["trained"] = trained
        summary["lay_heldout_en"] = []
        for tag, encoder in encoders.items():
            for app in (False, True):  # the encoder alone, and as the app reads (clinical rewrite, lexical half)
                name = "-".join(t for t in (tag, "app" if app else "") if t)
                s, c = run_lay_heldout(kn, encoder, cache, progress=update, app_reader=app)
                summary["lay_heldout_en"].append({"reader": name or "as written", **s})
                cases += [{**x, "id": f"{name}-{x['id']}"} if name else x for x in c]
        if translations:
            e5 = FindingIndex.build(kn, ensure_e5(settings.data_dir, progress=update), cache, progress=update)
            glossed = [  # the app reads Chinese through the gloss (trained encoder once saved); e5 for comparison
                GlossedIndex(english_reader(FindingIndex.build(kn, encoder, cache, progress=update)))
                for encoder in encoders.values()
            ]
            summary["translations"] = []
            for path in translations:
                readers: list[tuple[str, PhraseIndex]] = [("e5", e5)]
                if translation_language(path) == "zh":
                    readers += [(f"gloss+{g.encoder.name}", g) for g in glossed]
                for reader, index in readers:
                    s, c = run_translations(kn, index, path, limit, progress=update, reader=reader)
                    summary["translations"].append(s)
                    cases += c
    pol_summary, pol_cases = run_polarity(polarity or DEFAULT_SET)
    summary["polarity"] = pol_summary
    cases += pol_cases
    with progress_bar("reader") as update:
        extractor = make_extractor(settings, kn, update)
    summary["message_speed"] = speed = run_message_speed(extractor, polarity or DEFAULT_SET)
    if vignettes:
        summary["vignettes"] = []
        for path in vignettes:
            s, c = run_vignette_extraction(extractor, path)
            summary["vignettes"].append(s)
            cases += c
    write_report(out, summary, cases)
    rows = [
        (f"lay held-out (en, {s['reader']}) {k}", v)
        for s in summary["lay_heldout_en"]
        for k, v in s.items()
        if k != "reader"
    ]
    for s in summary.get("translations", []):
        rows += [(f"{s['file']} ({s['reader']}) {k}", v) for k, v in s.items() if k not in ("file", "reader")]
    rows += [(f"polarity {k}", v) for k, v in pol_summary.items() if not isinstance(v, dict | list)]
    for s in summary.get("vignettes", []):
        rows += [(f"{s['file']} {k}", v) for k, v in s.items() if k not in ("file", "by_status")]
    rows += [(f"message {k}", v) for k, v in speed.items() if k != "by_language"]
    rows += [
        (f"message {lang} ms p50 / p95", f"{v['ms_p50']} / {v['ms_p95']}") for lang, v in speed["by_language"].items()
    ]
    print_table("understanding", rows)
    click.echo(f"wrote {out}")


@bench.command("vignettes")
@click.option(
    "--cases",
    "case_files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    required=True,
    help="JSONL of {id, text, age?, sex?, gold_diagnosis?, gold_urgency?}, or AgentClinic / MediQ files as "
    "published. One file per run.",
)
@click.option("--pack", "packs", multiple=True, default=["common", "hpo"], show_default=True, help="Packs to consult.")
@click.option("--limit", type=int, help="Only the first N cases.")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.pass_obj
def bench_vignettes(
    settings: Settings, case_files: tuple[Path, ...], packs: tuple[str, ...], limit: int | None, out: Path
) -> None:
    """Free text -> findings -> ranking and urgency; gold diagnoses matched to pack diseases by name."""
    from codx.bench.report import print_table, write_report
    from codx.bench.vignettes import read_vignettes, run_vignettes
    from codx.bootstrap import ensure_model, make_extractor

    if len(case_files) > 1:  # click would silently keep the last one
        raise click.UsageError(
            f"--cases was given {len(case_files)} times; the report holds one file's cases: run the command once "
            "per file, each with its own --out"
        )
    cases = case_files[0]
    vignettes, counts = read_vignettes(cases)
    vignettes = vignettes[:limit] if limit else vignettes
    _ensure_trained_encoder(settings)
    with progress_bar("loading model and reader") as update:
        model = ensure_model(settings, list(packs), progress=update)
        extractor = make_extractor(settings, model.knowledge, update)
    summary, records = run_vignettes(model, extractor, vignettes)
    summary = {"file": cases.name, "packs": list(packs), "read": counts, **summary}
    write_report(out, summary, records)
    urgency = summary["urgency"]
    rows = [(k, v) for k, v in summary.items() if k not in ("urgency", "unmatched_golds", "read", "packs")]
    rows += [
        ("read", ", ".join(f"{k} {v}" for k, v in counts.items())),
        ("unmatched golds", len(summary["unmatched_golds"])),
    ]
    rows += [(f"urgency {k}", v) for k, v in urgency.items() if k != "table_gold_to_predicted"]
    for gold, row in urgency["table_gold_to_predicted"].items():
        rows.append((f"urgency gold {gold} -> predicted", " ".join(f"{p}:{c}" for p, c in row.items())))
    print_table("vignettes", rows)
    click.echo(f"wrote {out}")


@bench.command("speed")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--cases", "n_cases", default=300, show_default=True, help="Synthetic patients to time.")
@click.pass_obj
def bench_speed(settings: Settings, out: Path, n_cases: int) -> None:
    """Ranking and one inquiry step (update + EIG over every askable finding) on the hpo pack."""
    from codx.bench.report import print_table, write_report
    from codx.bench.speed import run_speed
    from codx.models.packs.registry import pack_folder

    model = _hpo_model(settings)
    summary, records = run_speed(model, pack_folder(settings.packs_dir, "hpo"), n_cases)
    write_report(out, summary, records)
    rows = []
    for k, v in summary.items():
        if isinstance(v, dict):
            rows += [(f"{k} {kk}", vv) for kk, vv in v.items()]
        else:
            rows.append((k, v))
    print_table("speed (hpo pack)", rows)
    click.echo(f"wrote {out}")


# -- app ----------------------------------------------------------------------------------------
_PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}


@cli.command("ui", context_settings=_PASS_THROUGH)
@click.pass_context
def ui(ctx: click.Context) -> None:
    """Open the consultation app in the browser (Streamlit). Extra arguments go to `streamlit run`,
    e.g. `codx ui --server.port 8600 --server.headless true`."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("codx.ui.app")  # located, not imported: the app runs in Streamlit's process
    if spec is None or spec.origin is None:
        raise CodxError("the app module codx.ui.app is missing; reinstall codx (make setup)")
    cmd = [sys.executable, "-m", "streamlit", "run", spec.origin, "--browser.gatherUsageStats", "false", *ctx.args]
    sys.stdout.flush()
    os.execv(sys.executable, cmd)  # become the server: signals (Ctrl-C, a supervisor's TERM) reach it directly


@bench.command("ui")
@click.option("--sessions", default=20, show_default=True, help="Concurrent sessions.")
@click.option("--turns", default=12, show_default=True, help="Most turns per session.")
@click.option(
    "--think", default=3.0, show_default=True, help="Mean pause between a session's turns, seconds (0: worst case)."
)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def bench_ui(sessions: int, turns: int, think: float, out: Path) -> None:
    """Server-side turn time of the app: concurrent sessions through the app's own consultation code,
    checked for cross-talk (runs `python -m codx.ui.bench`, which the CLI does not import)."""
    import os

    args = ["--sessions", str(sessions), "--turns", str(turns), "--think", str(think), "--out", str(out)]
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "codx.ui.bench", *args])


def _register() -> None:
    from codx.cli.chat import chat, history
    from codx.cli.cod import bench_cod_cmd, synth_cod_cmd
    from codx.cli.lm_bench import bench_lm_speed
    from codx.cli.lm_train import train_lm_cmd
    from codx.cli.models import models
    from codx.cli.serve import serve_cmd
    from codx.cli.speech import train_asr_cmd, transcribe
    from codx.cli.speech_bench import bench_asr

    cli.add_command(chat)
    cli.add_command(history)
    cli.add_command(models)
    cli.add_command(serve_cmd)
    cli.add_command(transcribe)
    train.add_command(train_asr_cmd)
    train.add_command(train_lm_cmd)
    bench.add_command(bench_asr)
    bench.add_command(bench_lm_speed)
    train.add_command(synth_cod_cmd)
    bench.add_command(bench_cod_cmd)


_register()

if __name__ == "__main__":
    cli()
