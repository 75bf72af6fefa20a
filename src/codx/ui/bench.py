"""`codx bench ui` (or `python -m codx.ui.bench`): server-side turn time of the app under concurrent sessions.

N sessions (default 20) run consultations at the same time, each in its own thread, through the same
`Consultations` calls the page makes for one turn: `turn` (the graph), `view` (the checkpoint the page draws)
and `assess` (the Chain of Diagnosis and urgency, which the page computes when the chain is open: counted on
every turn here, the worst case). Streamlit's own drawing is not included. Each session opens with a complaint
in one of the six languages and answers every question (yes / no / not sure in rotation, in the question's
language) until the report or the turn limit; after every turn it checks that its consultation holds exactly
the messages it sent (no cross-talk between sessions).

Pacing: people read a question and click a reply between turns. `--think S` (default 3 s) is the mean pause
(uniform between 0.5 S and 1.5 S) and sessions arrive spread over the first S seconds; `--think 0` sends every
turn as soon as the last one is answered, all sessions at once: the worst case, reported beside it.

Consultations go to a throw-away SQLite file (or to CODX_DATABASE_URL when set), never to the app's list.
Writes `{"summary": {...}, "cases": [one per session]}` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

OPENINGS = [
    ("en", "I have a sore throat and a fever"),
    ("en", "I've had a bad headache since yesterday and light hurts my eyes"),
    ("es", "Tengo tos y fiebre desde hace tres días"),
    ("fr", "J'ai mal à la tête et des nausées"),
    ("zh", "我咳嗽，还发烧"),
    ("ar", "أعاني من سعال وحمى"),
    ("hi", "मुझे बुखार और खांसी है"),
    ("en", "my nose is runny and I keep sneezing"),
    ("en", "stomach pain and diarrhoea since this morning"),
    ("en", "I feel very tired and my joints hurt"),
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_session(cons: Any, index: int, max_turns: int, think: float, rng: random.Random) -> dict[str, Any]:
    from codx.agent.session import new_thread_id

    thread = f"bench{index:02d}-{new_thread_id()}"
    language, text = OPENINGS[index % len(OPENINGS)]
    sent: list[str] = []
    times: list[float] = []
    problems: list[str] = []
    view = None
    time.sleep(rng.uniform(0, think))  # arrivals spread over the first pause
    for turn in range(max_turns):
        if turn:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        t0 = time.perf_counter()
        cons.turn(thread, text)
        view = cons.view(thread)
        cons.assess(view)
        times.append(time.perf_counter() - t0)
        sent.append(text)
        said = [e.text for e in view.entries if e.role == "user"]
        if said != sent:
            problems.append(f"turn {turn + 1}: the consultation holds {said[-3:]!r}, this session sent {sent[-3:]!r}")
            break
        if view.question is None:
            break
        options = view.question["options"]
        text = options[turn % len(options)]
    assert view is not None
    return {
        "id": thread,
        "gold": None,
        "language": language,
        "opening": OPENINGS[index % len(OPENINGS)][1],
        "turns": len(times),
        "turn_ms": [round(t * 1000, 2) for t in times],
        "finished": view.question is None,
        "decision": (view.report or {}).get("decision"),
        "predictions": [{"id": c["id"], "label": c["label"], "probability": c["probability"]} for c in view.top],
        "cross_talk": problems,
    }


def run_bench(cons: Any, sessions: int, max_turns: int, think: float, seed: int = 0) -> tuple[dict, list[dict]]:
    """Run the sessions at once; returns the summary and one case per session."""
    import torch

    peak = [threading.active_count()]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], threading.active_count())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="session") as pool:
        futures = [
            pool.submit(run_session, cons, i, max_turns, think, random.Random(seed * 1000 + i)) for i in range(sessions)
        ]
        cases = [f.result() for f in futures]
    wall = time.perf_counter() - start
    stop.set()
    watcher.join()
    all_ms = [ms for c in cases for ms in c["turn_ms"]]
    summary = {
        "sessions": sessions,
        "think_s": think,
        "turns": len(all_ms),
        "turn_ms_p50": round(statistics.median(all_ms), 1),
        "turn_ms_p95": round(_percentile(all_ms, 95), 1),
        "turn_ms_max": round(max(all_ms), 1),
        "first_turn_ms_p95": round(_percentile([c["turn_ms"][0] for c in cases], 95), 1),
        "turns_per_s": round(len(all_ms) / wall, 1),
        "wall_s": round(wall, 1),
        "finished_sessions": sum(c["finished"] for c in cases),
        "sessions_with_cross_talk": sum(bool(c["cross_talk"]) for c in cases),
        "python_threads_peak": peak[0],
        "torch_threads": torch.get_num_threads(),
        "cpu_count": __import__("os").cpu_count(),
    }
    return summary, cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codx bench ui", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    parser.add_argument("--turns", type=int, default=12, help="most turns per session (default 12)")
    parser.add_argument("--think", type=float, default=3.0, help="mean pause between turns, seconds (default 3)")
    parser.add_argument("--out", type=Path, required=True, help="JSON report")
    args = parser.parse_args(argv)

    import torch
    from rich.console import Console
    from rich.table import Table

    from codx.settings import Settings
    from codx.ui.launch import open_engine

    settings = Settings()
    torch.set_num_threads(settings.threads)
    console = Console(stderr=True)
    console.print(f"loading the default packs {settings.packs} (first use builds and trains)…")
    scratch = tempfile.TemporaryDirectory(prefix="codx-bench-ui-")  # bench threads stay out of the real list
    stages: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        if not stages or stages[-1] != stage:
            stages.append(stage)
            console.print(f"  {stage}")

    engine = open_engine(settings, progress, sqlite_path=Path(scratch.name) / "bench.sqlite")
    try:
        warm = engine.consultations
        warm.turn("bench-warmup", "I have a headache")  # first-call costs (lazy imports, caches) out of the timing
        summary, cases = run_bench(warm, args.sessions, args.turns, args.think)
    finally:
        engine.close()
        scratch.cleanup()
    summary = {"packs": settings.packs, "semantic_matching": settings.semantic_matching, **summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "cases": cases}, ensure_ascii=False, indent=1))
    table = Table(title="app turn time (server side)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in summary.items():
        table.add_row(k, str(v))
    Console().print(table)
    print(f"wrote {args.out}")
    return 1 if summary["sessions_with_cross_talk"] else 0


if __name__ == "__main__":
    sys.exit(main())
