"""A LangGraph agent built the classic way (a model node, a tool node, a conditional edge), traced by OpenInference's
LangChain instrumentation."""

from __future__ import annotations

from _common import AGENT, BASE_URL, FRAMEWORK_TELEMETRY, MODEL, QUESTIONS, SYSTEM, finish, report, setup_tracing
from _common import lookup_order as _lookup
from langchain_core.messages import SystemMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

provider = setup_tracing()
if FRAMEWORK_TELEMETRY:
    from openinference.instrumentation.langchain import LangChainInstrumentor

    LangChainInstrumentor().instrument(tracer_provider=provider)


@tool
def lookup_order(order_id: str) -> dict:
    """Look an order up by its id."""
    return _lookup(order_id)


model = ChatOpenAI(model=MODEL, base_url=BASE_URL, api_key="sk-test").bind_tools([lookup_order])


def call_model(state: MessagesState) -> dict:
    return {"messages": [model.invoke([SystemMessage(SYSTEM), *state["messages"]])]}


def should_continue(state: MessagesState) -> str:
    return "tools" if state["messages"][-1].tool_calls else END


graph = StateGraph(MessagesState)
graph.add_node("agent", call_model)
graph.add_node("tools", ToolNode([lookup_order]))
graph.add_edge(START, "agent")
graph.add_conditional_edges("agent", should_continue, ["tools", END])
graph.add_edge("tools", "agent")
app = graph.compile(name=AGENT)
for name, question in QUESTIONS.items():
    state = app.invoke({"messages": [("user", question)]}, {"recursion_limit": 100})
    report(name, state["messages"][-1].content)
finish(provider)
