"""The consultation as a LangGraph state machine: screen -> understand -> update -> (inquire | report)."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from codx.agent.context import ConsultContext
from codx.agent.nodes.inquire import inquire
from codx.agent.nodes.record_tools import record_tools
from codx.agent.nodes.report import report
from codx.agent.nodes.screen import screen
from codx.agent.nodes.understand import understand
from codx.agent.nodes.update import update
from codx.agent.state import ConsultState
from codx.tools.call import tool_call_wrapper


def route_after_screen(state: ConsultState) -> Literal["understand", "report"]:
    return "report" if state.get("decision") == "emergency" else "understand"


def route_after_understand(state: ConsultState) -> Literal["tools", "update"]:
    messages = state.get("messages", [])
    last = messages[-1] if messages else None
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "update"


def route_after_tools(state: ConsultState) -> Literal["screen", "update"]:
    """A transcript (a new human message) is screened and read like typed text; other results go on."""
    messages = state.get("messages", [])
    return "screen" if messages and isinstance(messages[-1], HumanMessage) else "update"


def route_after_update(state: ConsultState) -> Literal["inquire", "report"]:
    return "inquire" if state.get("decision") == "ask" and state.get("next_questions") else "report"


def build_graph(tools: list[BaseTool], checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    g = StateGraph(ConsultState, context_schema=ConsultContext)
    g.add_node("screen", screen)
    g.add_node("understand", understand)
    g.add_node("tools", ToolNode(tools, handle_tool_errors=True, wrap_tool_call=tool_call_wrapper(tools)))
    g.add_node("record_tools", record_tools)
    g.add_node("update", update)
    g.add_node("inquire", inquire)
    g.add_node("report", report)
    g.add_edge(START, "screen")
    g.add_conditional_edges("screen", route_after_screen)
    g.add_conditional_edges("understand", route_after_understand)
    g.add_edge("tools", "record_tools")
    g.add_conditional_edges("record_tools", route_after_tools)
    g.add_conditional_edges("update", route_after_update)
    g.add_edge("inquire", "screen")
    g.add_edge("report", END)
    return g.compile(checkpointer=checkpointer)
