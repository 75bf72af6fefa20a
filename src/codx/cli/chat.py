"""`codx chat` and `codx history`: the terminal client over the consultation agent."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from codx.agent.texts import t
from codx.settings import Settings

out = Console(highlight=False)


def _prompt(label: str) -> str | None:
    """One line from the user; None on end of input (Ctrl-D) or /quit."""
    try:
        line = input(label)
    except EOFError:
        return None
    return None if line.strip() in ("/quit", "/exit") else line


@click.command("chat")
@click.option("--resume", "thread", help="Continue this consultation (its id is printed at the start).")
@click.option("--mode", type=click.Choice(["patient", "doctor"]), default=None, help="Patient or doctor mode.")
@click.option("--lang", "language", default=None, help="Language code for the consultation (en, es, fr, zh, ar, hi).")
@click.option("--verbose/--quiet", default=True, help="Show each step of the graph as it runs.")
@click.pass_obj
def chat(settings: Settings, thread: str | None, mode: str | None, language: str | None, verbose: bool) -> None:
    """Consult in the terminal: describe symptoms, answer y / n / not sure or in your own words."""
    from codx.agent.graph import build_graph
    from codx.agent.persistence import open_checkpointer
    from codx.agent.session import new_thread_id, pending_question, send
    from codx.bootstrap import make_consult_context
    from codx.cli.main import progress_bar

    lang = language or settings.language
    out.print(f"[bold yellow]{t(lang, 'disclaimer')}[/] " + t(lang, "emergency", number=settings.emergency_number))
    with progress_bar("loading") as update:
        ctx = make_consult_context(settings, progress=update)
    with open_checkpointer(settings.sqlite_path, settings.database_url) as saver:
        graph = build_graph(ctx.tools, saver)
        thread_id = thread or new_thread_id()
        out.print(f"consultation [bold]{thread_id}[/] (continue later with: codx chat --resume {thread_id})")
        question = pending_question(graph, thread_id) if thread else None
        if thread and question is None and not graph.get_state({"configurable": {"thread_id": thread}}).values:
            raise click.UsageError(f"no consultation {thread!r} in {settings.sqlite_path}; start one with codx chat")
        if question:
            out.print(f"[bold cyan]codx:[/] {question['question']}  ({' / '.join(question['options'])})")
        else:
            out.print(f"[bold cyan]codx:[/] {t(lang, 'greeting')}")
        first = True
        while True:
            text = _prompt("you> ")
            if text is None:
                out.print(f"bye. resume with: codx chat --resume {thread_id}")
                return
            for event in send(graph, ctx, thread_id, text, mode if first else None, language if first else None):
                first = False
                if event.node == "__interrupt__":
                    q = event.data["interrupt"]
                    out.print(f"[bold cyan]codx:[/] {q['question']}  ({' / '.join(q['options'])})")
                elif event.node == "report":
                    out.print("[bold cyan]codx:[/] " + (event.data.get("report") or {}).get("text", ""))
                elif verbose:
                    out.print(f"[dim]  [{event.node}] {event.summary}[/]")
                    for notice in event.data.get("notices") or []:
                        out.print(f"[yellow]  note:[/] {notice}")
            sys.stdout.flush()


@click.command("history")
@click.argument("thread")
@click.pass_obj
def history(settings: Settings, thread: str) -> None:
    """Print the audit trail of a consultation from its checkpoints, oldest first."""
    from codx.agent.graph import build_graph
    from codx.agent.persistence import open_checkpointer

    with open_checkpointer(settings.sqlite_path, settings.database_url) as saver:
        graph = build_graph([], saver)
        snapshots = list(graph.get_state_history({"configurable": {"thread_id": thread}}))
        if not snapshots:
            raise click.UsageError(f"no consultation {thread!r} in {settings.database_url or settings.sqlite_path}")
        seen = 0
        for snap in reversed(snapshots):
            meta = snap.metadata or {}
            messages = snap.values.get("messages", [])
            out.print(f"[bold]step {meta.get('step')}[/] {snap.created_at}  next: {', '.join(snap.next) or '-'}")
            for m in messages[seen:]:
                out.print(f"   {m.type}: {str(m.content)[:300]}")
            seen = len(messages)
            for task in snap.tasks:
                for intr in task.interrupts:
                    out.print(f"   waiting for an answer to: {intr.value.get('question')}")
        final = snapshots[0].values
        out.print(f"findings: {[(f['id'], f['status'], f['source']) for f in final.get('findings', [])]}")
        out.print(f"red flags: {[f['id'] for f in final.get('red_flags', [])]}")
