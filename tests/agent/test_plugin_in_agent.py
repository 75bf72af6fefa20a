"""A developer's tool package, installed from tests/plugins, discovered by entry point and called by the agent."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.plugin import installed_echo_plugin

from codx.agent.graph import build_graph
from codx.agent.persistence import open_checkpointer
from codx.agent.session import new_thread_id, send
from codx.tools.registry import ToolContext, load_tools


@pytest.mark.slow
def test_the_agent_calls_an_installed_plugin_tool(tmp_path, consult_ctx, clinic_model):
    with installed_echo_plugin(tmp_path):
        workdir = tmp_path / "work"
        loaded = load_tools(ToolContext(workdir=workdir, model=clinic_model))
        assert "echo_upper" in loaded.names
        ctx = replace(consult_ctx, tools=loaded.tools)
        with open_checkpointer(tmp_path / "plugin.sqlite") as saver:
            graph = build_graph(ctx.tools, saver)
            t = new_thread_id()
            list(send(graph, ctx, t, '/tool echo_upper {"text": "hello", "save_as": "notes/a.txt"}', mode="doctor"))
            results = graph.get_state({"configurable": {"thread_id": t}}).values["tool_results"]
            assert results[-1] == {"tool": "echo_upper", "ok": True, "content": "HELLO"} or (
                results[-1]["ok"] and results[-1]["content"].startswith("HELLO")
            )
            assert (workdir / "notes" / "a.txt").read_text() == "HELLO"
            list(send(graph, ctx, t, '/tool echo_upper {"text": "x", "save_as": "../../etc/evil"}'))
            last = graph.get_state({"configurable": {"thread_id": t}}).values["tool_results"][-1]
            assert not last["ok"] and "outside the tool folder" in last["content"]
