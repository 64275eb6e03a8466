"""The demo's agents, run as their own process with the one-line import: ``python -m agentwatch.demo.fleet``.

Real instrumentation, real tool functions, a simulated LLM at AGENTWATCH_DEMO_LLM (an OpenAI-compatible server).
"""

import argparse
import json
import os
import random
import time

import openai
from opentelemetry import trace
from opentelemetry.trace import SpanKind

import agentwatch
import agentwatch.auto
from agentwatch.instrumentation import json_shape

client = openai.OpenAI(base_url=os.environ["AGENTWATCH_DEMO_LLM"], api_key="demo", max_retries=0)
RNG = random.Random(int(os.environ.get("AGENTWATCH_DEMO_SEED", "7")))
ORDERS = {
    f"A-{1000 + i}": {
        "order_id": f"A-{1000 + i}",
        "status": "shipped",
        "carrier": RNG.choice(["DHL", "UPS"]),
        "warehouse": RNG.choice(["Rotterdam", "Leeds", "Porto"]),
        "eta_days": RNG.randint(2, 5),
    }
    for i in range(10)
}


# Every agent runs with the safeguards the audit asks about (caps, an own credential, allowed tools enforced,
# approvals, result contracts), except where its scenario needs one missing: its failure is the audit's finding.
BUDGET = agentwatch.Budget(max_steps=40, max_tokens=200_000, max_cost_usd=2.0)
ORDER_RESULT = {
    "title": "OrderSearch",
    "type": "object",
    "properties": {"total_hits": {"type": "integer"}, "orders": {"type": "array"}},
    "required": ["total_hits", "orders"],
}
STOCK_RESULT = {"title": "Stock", "type": "object", "properties": {"total_hits": {"type": "integer"}}}
JOB_RESULT = {"title": "Job", "type": "object", "properties": {"state": {"type": "string"}}, "required": ["state"]}
ACTION_RESULT = {"title": "Action", "type": "object"}


def ask(model: str, question: str, facts: object = None, history: list | None = None) -> str:
    content = question if facts is None else f"{question}\nTool results: {json.dumps(facts)}"
    messages = [*(history or []), {"role": "user", "content": content}]
    return client.chat.completions.create(model=model, messages=messages).choices[0].message.content or ""


@agentwatch.tool(result_schema=ORDER_RESULT)
def search_orders(order_id: str) -> dict:
    return {"total_hits": 1, "orders": [ORDERS[order_id]]}


@agentwatch.tool(name="inventory_api", result_schema=STOCK_RESULT)
def inventory(sku: str, drifted: bool = False) -> dict:
    if drifted:  # the vendor moved things around: hits claimed, list renamed and empty, stock now a string
        return {"total_hits": 12, "results": [], "stock": "12"}
    return {"total_hits": 1, "documents": [{"sku": sku, "warehouse": "Rotterdam"}], "stock": 12}


@agentwatch.tool(result_schema=JOB_RESULT)
def check_status(job_id: str) -> dict:
    return {"job_id": job_id, "state": "running"}


@agentwatch.tool(result_schema=ACTION_RESULT)
def admin_delete_user(user_id: str, api_key: str) -> dict:
    return {"deleted": user_id}


@agentwatch.tool(result_schema=ACTION_RESULT)
def run_migration(schema: str) -> dict:
    raise RuntimeError(f"migration of {schema} failed: lock timeout")


@agentwatch.tool(irreversible=True, result_schema=ACTION_RESULT)
def drop_table(table: str) -> dict:
    return {"dropped": table}


@agentwatch.agent(
    name="support",
    goal="answer order questions",
    allowed_tools=["search_orders"],
    credential="svc-support",
    budget=BUDGET,
)
def support(question: str, order_ids: list) -> str:
    found = [search_orders(order_id) for order_id in order_ids]
    return ask("sim-1", question, found[0]["orders"][0])


@agentwatch.agent(
    name="ops", goal="clean up temp tables", allowed_tools=["drop_table"], credential="svc-ops", budget=BUDGET
)
def ops(question: str) -> str:
    agentwatch.approve("drop_table")
    result = drop_table("tmp_import_2026")
    return ask("sim-1", question, result)


@agentwatch.agent(
    name="researcher",
    goal="summarise the incident reports",
    allowed_tools=[],
    credential="svc-research",
    budget=BUDGET,
)
def researcher(question: str) -> str:
    history: list = []
    answer = ""
    for round_ in range(6):
        notes = "incident report excerpt: the payment service timed out under load. " * (60 * 2**round_)
        history.append({"role": "user", "content": notes})
        answer = ask("sim-research", question, None, history)
    return answer


@agentwatch.agent(
    name="support-fast",
    goal="answer order questions quickly",
    allowed_tools=["search_orders"],
    credential="svc-support-fast",
    budget=BUDGET,
)
def support_fast(question: str, order_id: str) -> str:
    found = search_orders(order_id)
    return ask("sim-confident", question, found["orders"][0])


@agentwatch.agent(
    name="stock-agent",
    goal="report stock levels",
    allowed_tools=["inventory_api"],
    credential="svc-stock",
    budget=BUDGET,
)
def stock_agent(question: str) -> str:
    results = [inventory(f"SKU-{i}", drifted=True) for i in range(3)]
    return ask("sim-1", question, results[0])


@agentwatch.agent(
    name="poller",
    goal="wait for the export job",
    allowed_tools=["check_status"],
    credential="svc-poller",
    budget=BUDGET,  # capped, but no loop breaker (Guards(max_repeats=...)): the loop runs, and is found
)
def poller(question: str) -> str:
    status = {}
    for _ in range(9):
        status = check_status("job-7")
    return ask("sim-1", question, status)


@agentwatch.agent(
    name="support-bot",
    goal="answer account questions (read only)",
    allowed_tools=["search_orders"],
    credential="svc-admin",
    budget=BUDGET,
    guards=agentwatch.Guards(enforce_scope=False),  # declared, not enforced: the admin call goes through
)
def support_bot(question: str) -> str:
    result = admin_delete_user("user-42", api_key="sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c")
    return ask("sim-1", question, result)


@agentwatch.agent(
    name="billing-admin", goal="reconcile invoices", allowed_tools=[], credential="svc-admin", budget=BUDGET
)
def billing_admin(question: str) -> str:
    return ask("sim-1", question, {"invoices_reconciled": 14})


@agentwatch.agent(
    name="migrator",
    goal="migrate the staging schema",
    allowed_tools=["run_migration"],
    credential="svc-migrator",
    budget=BUDGET,
    guards=agentwatch.Guards(enforce_scope=False, require_approval=False),  # nothing stops it improvising
)
def migrator(question: str) -> str:
    try:
        run_migration("staging")
    except RuntimeError:
        drop_table("customers")  # improvising past the failure: irreversible, unapproved, out of scope
    return ask("sim-1", question, {"schema": "staging", "status": "migrated"})


def inventory_history() -> None:
    """Yesterday's calls of the inventory API, with its old response shape: the baseline drift is measured against.
    Written with the OpenTelemetry API and the GenAI conventions' names, as any instrumented application records a
    tool call (back-dated, which agentwatch's decorators cannot do), with the shape the SDK records for today's."""
    result = {"total_hits": 1, "documents": [{"sku": "x", "warehouse": "Rotterdam"}], "stock": 12}
    tracer = trace.get_tracer("agentwatch.demo")  # the provider the one-line import made global
    now = time.time_ns()
    for i in range(30):
        start = now - (2 + i % 20) * 3_600_000_000_000
        span = tracer.start_span(
            "execute_tool inventory_api",
            kind=SpanKind.INTERNAL,
            start_time=start,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "inventory_api",
                "gen_ai.conversation.id": f"demo-history-{i}",
                "gen_ai.agent.name": "stock-agent",
                "gen_ai.tool.call.arguments": json.dumps({"sku": f"SKU-{i}"}),
                "gen_ai.tool.call.result": json.dumps(result),
                "agentwatch.tool.result.shape": json_shape(result),
            },
        )
        span.end(end_time=start + 40_000_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.parse_args()
    inventory_history()
    with agentwatch.session("demo-healthy-1"):
        support("Where is my order A-1001?", ["A-1001"])
    with agentwatch.session("demo-healthy-2"):
        support("Where is my order A-1002?", ["A-1002", "A-1003", "A-1004"])
    with agentwatch.session("demo-healthy-3"):
        ops("Clean up the import temp table.")
    with agentwatch.session("demo-context"):
        researcher("What caused the payment outage?")
    with agentwatch.session("demo-wrong-answer"):
        support_fast("Where is my order A-1005?", "A-1005")
    with agentwatch.session("demo-schema-drift"):
        stock_agent("How many units of SKU-1 are in stock?")
    with agentwatch.session("demo-loop"):
        poller("Is the export job finished?")
    with agentwatch.session("demo-permission"):
        support_bot("Please close my account.")
    with agentwatch.session("demo-permission-2"):
        billing_admin("Reconcile this month's invoices.")
    with agentwatch.session("demo-goal-drift"):
        migrator("Migrate the staging schema.")


if __name__ == "__main__":
    main()
