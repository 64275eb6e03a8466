"""agentwatch audit on a real store: a fleet of agents run with the real instrumentation (spans over OTLP to a real
collector), with and without each safeguard, then the evaluator and the detectors, then every verdict and its
evidence checked — the healthy look-alikes as closely as the failures."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import uuid

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentwatch
from agentwatch.audit import QUESTIONS, run_audit
from agentwatch.audit._render import render, render_html
from agentwatch.config import configure
from agentwatch.detectors import run_detectors
from agentwatch.evaluators import HeuristicJudge, evaluate
from agentwatch.migrate import Migrator
from agentwatch.store import open_store
from agentwatch.testing import LLMServer, Reply

from .running import RunningCollector, RunningEndpoint, collector_config, count, run_agentwatch, wait_for
from .spans import insert_spans, otel_row

ORDER = {"order_id": "A-1", "status": "shipped", "carrier": "DHL", "warehouse": "Rotterdam", "eta_days": 3}
ORDER_SCHEMA = {
    "title": "Order",
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "status": {"type": "string"}, "carrier": {"type": "string"}},
    "required": ["order_id", "status"],
}
SEARCH_SCHEMA = {"title": "Search", "type": "object", "properties": {"total_hits": {"type": "integer"}}}
GROUNDED = "Order A-1 has shipped with DHL from Rotterdam and arrives in 3 days."
UNGROUNDED = "Order A-1 was delivered yesterday by FedEx to the Lisbon depot, signed by M. Duarte."
FULL = agentwatch.Budget(max_steps=20, max_tokens=100_000, max_cost_usd=5.0)


@agentwatch.tool(name="lookup_order", result_schema=ORDER_SCHEMA)
def lookup_order(order_id: str) -> dict:
    return dict(ORDER, order_id=order_id)


@agentwatch.tool(name="search_docs")  # no result contract
def search_docs(query: str) -> dict:
    return {"total_hits": 1, "documents": [{"title": "Shipping times", "body": "DHL takes 3 days"}]}


@agentwatch.tool(name="inventory", result_schema=SEARCH_SCHEMA)
def inventory(sku: str) -> dict:
    return {"total_hits": 12, "results": []}  # claims hits it does not return


@agentwatch.tool(name="issue_refund", irreversible=True, result_schema=ORDER_SCHEMA)
def issue_refund(order_id: str) -> dict:
    return dict(ORDER, order_id=order_id, status="refunded")


def run_agent(
    client,
    name: str,
    *,
    budget=FULL,
    guards=None,
    allowed=("lookup_order",),
    credential: str | None = "own",
    tools=(lookup_order,),
    calls: int = 1,
    model: str = "audit-model",
    prompt: str = "Where is order A-1?",
    answer: str = GROUNDED,
    gate: float | None = None,
    approve: str | None = None,
    growing: int = 0,
) -> None:
    @agentwatch.agent(
        name=name,
        goal="answer order questions",
        allowed_tools=list(allowed) if allowed else None,
        credential=f"svc-{name}" if credential == "own" else credential,
        budget=budget,
        guards=guards,
        min_grounding=gate,
    )
    def agent(question: str) -> str:
        if approve:
            agentwatch.approve(approve)
        for _ in range(calls):
            for tool in tools:
                tool("A-1")
        for i in range(growing):  # a conversation whose context grows, call after call
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": question + " more" * 60 * i}]
            )
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}])
        return answer

    with agentwatch.session(f"s-{name}-{uuid.uuid4().hex[:6]}"):
        agent(prompt)


def fleet(client) -> None:
    """Phase 1: agents whose answers get evaluated."""
    run_agent(client, "model-citizen", gate=0.5)  # every safeguard: ready on all six
    run_agent(client, "no-guards", budget=None)  # no cap, scope declared but not enforced
    run_agent(client, "steps-only", budget=agentwatch.Budget(max_steps=20))
    run_agent(client, "no-contract", tools=(search_docs,), allowed=("search_docs",), answer="DHL takes 3 days.")
    run_agent(client, "drifting", tools=(inventory,), allowed=("inventory",), answer="The search found 12 hits.")
    run_agent(client, "shared-a", credential="svc-shared")
    run_agent(client, "shared-b", credential="svc-shared")
    run_agent(client, "no-credential", credential=None)
    run_agent(client, "unscoped", allowed=())
    run_agent(
        client,
        "approves-loosely",
        tools=(lookup_order, issue_refund),
        allowed=("lookup_order", "issue_refund"),
        guards=agentwatch.Guards(require_approval=False),
        approve="issue_refund",
    )
    run_agent(
        client,
        "approves-strictly",  # the healthy look-alike: the same refund, approval required and given
        tools=(lookup_order, issue_refund),
        allowed=("lookup_order", "issue_refund"),
        approve="issue_refund",
    )
    run_agent(client, "ungrounded", answer=UNGROUNDED)
    run_agent(client, "long-context", model="audit-small", prompt="Where is order A-1? " + "history " * 900)
    run_agent(client, "unknown-window", model="mystery-9")
    run_agent(client, "looping", calls=8)
    # issue 33: a 25-call loop and a wrong answer, whose context grew many times over but used a tiny share of its
    # window; its fix first was the context
    run_agent(client, "loops-and-lies", calls=8, answer=UNGROUNDED, growing=5)


@pytest.fixture(scope="module")
def audited(engine_path, tmp_path_factory):
    """The fleet's store, evaluated and detected, and its audit."""
    config = configure(store=f"chdb://{engine_path}", database=f"audit_{uuid.uuid4().hex[:10]}")
    store = open_store(config, create=True)
    Migrator(store, config).apply()
    store.insert(
        "model_context_windows",
        [("audit-model", 128_000, dt.datetime(2026, 1, 1)), ("audit-small", 1_000, dt.datetime(2026, 1, 1))],
        ["Model", "ContextTokens", "UpdatedAt"],
    )
    start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=5)
    spool = tmp_path_factory.mktemp("spool")
    with (
        RunningCollector(collector_config(store, spool), store) as rc,
        LLMServer(lambda path, body: Reply(text="Let me check that order.")) as llm,
    ):
        client = openai.OpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
        provider, sent = TracerProvider(), InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(sent))  # what was sent, to know when all of it arrived
        agentwatch.instrument(
            tracer_provider=provider,
            span_processor=SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{rc.http_url}/v1/traces")),
        )
        try:
            fleet(client)
            wait_for(lambda: count(store, "agent_spans") >= len(sent.get_finished_spans()), what="the fleet's spans")
            evaluate(store, HeuristicJudge(), since=start)
            # phase 2: an agent nobody evaluates
            run_agent(client, "unevaluated")
        finally:
            agentwatch.shutdown()
        wait_for(lambda: count(store, "agent_spans") >= len(sent.get_finished_spans()), what="the last spans")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    # an agent seen only through another instrumentation's LLM span: no agent span, no contract, no guards
    insert_spans(
        store,
        [
            otel_row(
                uuid.uuid4().hex[:16],
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.agent.name": "foreign",
                    "gen_ai.request.model": "audit-model",
                    "gen_ai.usage.input_tokens": "120",
                    "gen_ai.usage.output_tokens": "30",
                },
                trace_id=uuid.uuid4().hex,
                timestamp=now,
            )
        ],
    )
    run_detectors(store, window=3600, end=now + dt.timedelta(minutes=1))
    audit = run_audit(store, start=start, end=now + dt.timedelta(minutes=1))
    yield store, audit, start, now, config
    store.close()


def verdicts(audit, agent: str) -> dict[str, str]:
    [found] = [a for a in audit.agents if a.agent == agent]
    return {answer.question.key: answer.verdict for answer in found.answers}


def answer(audit, agent: str, key: str):
    [found] = [a for a in audit.agents if a.agent == agent]
    return next(x for x in found.answers if x.question.key == key)


def test_six_questions_in_the_articles_order():
    assert [q.key for q in QUESTIONS] == ["context", "answers", "tools", "caps", "credentials", "scope"]
    assert QUESTIONS[0].text == "What happens when context degrades across 10+ steps?"
    assert QUESTIONS[5].text == "What prevents the agent from autonomously expanding its scope?"


def test_an_agent_with_every_safeguard_is_ready_on_all_six(audited):
    _, audit, *_ = audited
    assert verdicts(audit, "model-citizen") == dict.fromkeys(
        ["context", "answers", "tools", "caps", "credentials", "scope"], "ready"
    )
    [citizen] = [a for a in audit.agents if a.agent == "model-citizen"]
    assert citizen.overall == "ready" and citizen.next_step is None
    caps = answer(audit, "model-citizen", "caps").evidence
    assert (caps["steps_capped"], caps["tokens_capped"], caps["cost_capped"]) == (1, 1, 1)
    assert (caps["max_steps"], caps["max_tokens"], caps["max_cost_usd"]) == (20, 100_000, 5)
    gated = answer(audit, "model-citizen", "answers").evidence
    assert gated["answer_gate"] == 1 and gated["gate_min_grounding"] == 0.5 and gated["evaluated"] == 1


def test_caps(audited):
    _, audit, *_ = audited
    none = answer(audit, "no-guards", "caps")
    assert none.verdict == "not_ready" and "no cap on steps, tokens or spend" in none.reason
    assert "Budget(max_steps" in none.next_step
    partial = answer(audit, "steps-only", "caps")
    assert partial.verdict == "at_risk" and partial.reason == "capped on steps only"
    assert (partial.evidence["steps_capped"], partial.evidence["tokens_capped"]) == (1, 0)
    loop = answer(audit, "looping", "caps")
    assert loop.verdict == "not_ready" and "runaway_loop" in loop.reason
    assert answer(audit, "foreign", "caps").verdict == "unknown"


def test_tools(audited):
    _, audit, *_ = audited
    bare = answer(audit, "no-contract", "tools")
    assert bare.verdict == "at_risk" and bare.evidence["without_contract"] == ["search_docs"]
    drift = answer(audit, "drifting", "tools")
    assert drift.verdict == "not_ready" and drift.evidence["schema_findings"] >= 1
    assert answer(audit, "model-citizen", "tools").evidence["with_contract"] == ["lookup_order"]
    assert answer(audit, "foreign", "tools").verdict == "unknown"


def test_credentials(audited):
    _, audit, *_ = audited
    for agent, other in (("shared-a", "shared-b"), ("shared-b", "shared-a")):
        shared = answer(audit, agent, "credentials")
        assert shared.verdict == "not_ready" and shared.evidence["shared_with"] == [other]
        assert "svc-shared is shared with" in shared.reason
    assert answer(audit, "no-credential", "credentials").verdict == "unknown"
    own = answer(audit, "model-citizen", "credentials")
    assert own.verdict == "ready" and own.evidence["credentials"] == ["svc-model-citizen"]


def test_scope(audited):
    _, audit, *_ = audited
    unscoped = answer(audit, "unscoped", "scope")
    assert unscoped.verdict == "not_ready" and "no allowed tools declared" in unscoped.reason
    loose = answer(audit, "approves-loosely", "scope")
    assert loose.verdict == "at_risk" and "with no approval required" in loose.reason
    assert (loose.evidence["irreversible_calls"], loose.evidence["approved_calls"]) == (1, 1)
    strict = answer(audit, "approves-strictly", "scope")
    assert strict.verdict == "ready" and strict.evidence["approval_required"] == 1
    unenforced = answer(audit, "no-guards", "scope")
    assert unenforced.verdict == "at_risk" and "declared but not enforced" in unenforced.reason
    assert answer(audit, "foreign", "scope").verdict == "unknown"


def test_answers(audited):
    _, audit, *_ = audited
    wrong = answer(audit, "ungrounded", "answers")
    assert wrong.verdict == "not_ready" and wrong.evidence["ungrounded_answers"] == 1
    assert wrong.evidence["judges"] == ["heuristic"]
    unevaluated = answer(audit, "unevaluated", "answers")
    assert unevaluated.verdict == "unknown" and "none of its 1 answers was evaluated" in unevaluated.reason
    right = answer(audit, "no-contract", "answers")  # the look-alike: evaluated, grounded, no gate needed
    assert right.verdict == "ready" and right.evidence["evaluated_share"] == 1


def test_context(audited):
    _, audit, *_ = audited
    long = answer(audit, "long-context", "context")
    assert long.verdict == "not_ready" and long.evidence["max_window_share"] >= 0.8
    assert long.evidence["context_growth_findings"] >= 1
    unknown = answer(audit, "unknown-window", "context")
    assert unknown.verdict == "unknown" and "mystery-9" in unknown.reason
    small = answer(audit, "model-citizen", "context")
    assert small.verdict == "ready" and small.evidence["max_window_share"] < 0.01
    assert small.evidence["window_share_by_step"]  # utilisation by step


def test_growth_in_a_tiny_share_of_the_window_is_at_most_at_risk_and_not_fixed_first(audited):
    _, audit, *_ = audited
    context = answer(audit, "loops-and-lies", "context")
    assert context.evidence["context_growth_findings"] >= 1 and context.evidence["max_window_share"] < 0.05
    assert context.verdict == "at_risk", context.reason
    assert verdicts(audit, "loops-and-lies")["caps"] == "not_ready"
    assert verdicts(audit, "loops-and-lies")["answers"] == "not_ready"
    [agent] = [a for a in audit.agents if a.agent == "loops-and-lies"]
    assert agent.next_step.question.key in ("caps", "answers"), agent.next_step
    long = answer(audit, "long-context", "context")  # the failure it must not hide: a window nearly full
    assert long.verdict == "not_ready"


def test_the_fleets_fix_first_prefers_what_is_not_ready_over_what_is_at_risk():
    from agentwatch.audit import QUESTIONS, AgentAudit, Assessment, Audit

    by_key = {q.key: q for q in QUESTIONS}

    def agent(name: str, **verdicts: str) -> AgentAudit:
        return AgentAudit(name, [Assessment(by_key[k], v, "", f"fix {k}", {}) for k, v in verdicts.items()])

    now = dt.datetime(2026, 1, 1)
    fleet = Audit(
        now,
        now,
        [agent(f"a{i}", context="at_risk", caps="ready", scope="ready") for i in range(5)]
        + [agent("loopy", context="at_risk", caps="not_ready", scope="ready")],
    )
    question, agents, _ = fleet.fleet_next_step()
    assert question.key == "caps" and agents == ["loopy"]
    tie = agent("both", context="not_ready", caps="not_ready", answers="not_ready", scope="not_ready")
    assert tie.next_step.question.key == "caps"  # loops, wrong answers and scope breaches before the context


def test_overall_verdicts_and_next_steps(audited):
    _, audit, *_ = audited
    overall = {a.agent: a.overall for a in audit.agents}
    assert overall["model-citizen"] == overall["approves-strictly"] == "ready"
    assert overall["steps-only"] == "at_risk" and overall["no-contract"] == "at_risk"
    for agent in ("no-guards", "drifting", "shared-a", "unscoped", "ungrounded", "long-context", "looping"):
        assert overall[agent] == "not_ready", agent
    for agent in ("no-credential", "unevaluated", "unknown-window", "foreign"):  # "not sure" is not ready
        assert overall[agent] == "not_ready", agent
    [drifting] = [a for a in audit.agents if a.agent == "drifting"]
    assert drifting.next_step.question.key == "tools"
    assert audit.overall == "not_ready"
    question, agents, step = audit.fleet_next_step()
    assert agents and question.number in range(1, 7)
    # the caps hold back most (three agents loop or run uncapped, one unknown, one at risk): not ready ones first
    assert (question.key, set(agents[:3]), agents[3:]) == (
        "caps",
        {"looping", "loops-and-lies", "no-guards"},
        ["foreign", "steps-only"],
    )
    assert step.startswith("cap repeats and steps")


def test_one_agent_and_an_empty_window(audited):
    store, _, start, now, _ = audited
    one = run_audit(store, start=start, end=now + dt.timedelta(minutes=1), agent="model-citizen")
    assert [a.agent for a in one.agents] == ["model-citizen"] and one.overall == "ready"
    empty = run_audit(store, start=start - dt.timedelta(days=3), end=start - dt.timedelta(days=2))
    assert empty.agents == [] and empty.overall == "unknown"
    assert "nothing to audit" in render(empty, "table")


def test_formats(audited):
    _, audit, *_ = audited
    table = render(audit, "table")
    assert "model-citizen" in table and "NOT READY" in table and "Fleet: NOT READY" in table
    data = json.loads(render(audit, "json"))
    assert data["fleet"]["verdict"] == "not_ready" and len(data["questions"]) == 6
    citizen = next(a for a in data["agents"] if a["agent"] == "model-citizen")
    assert citizen["verdict"] == "ready" and len(citizen["answers"]) == 6
    markdown = render(audit, "markdown")
    assert markdown.startswith("# agentwatch audit") and "| model-citizen | **ready** |" in markdown
    page = render_html(audit)
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    for external in ("http://", "https://", "<script", "<link", "@import", "src="):
        assert external not in page, external  # self-contained: nothing fetched, nothing run


def test_the_cli_gates_a_deploy(audited, tmp_path, capsys):
    from agentwatch.cli import main

    config = audited[4]
    base = ["audit", "--store", config.store, "--database", config.database, "--window", "1h"]
    assert main([*base, "--fail-on", "not_ready"]) == 1
    err = capsys.readouterr().err
    assert "not ready" in err and "long-context" in err
    assert main([*base, "--agent", "model-citizen", "--fail-on", "not_ready"]) == 0
    assert main([*base, "--agent", "steps-only", "--fail-on", "at_risk"]) == 1
    assert main([*base, "--agent", "nobody"]) == 3
    out = tmp_path / "audit.html"
    assert main([*base, "--format", "html", "--out", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_the_audit_reads_through_serves_query_endpoint(audited, cli_env):
    """While serve holds the embedded store, `agentwatch audit` reads through its read-only endpoint, whose
    allow-list admits the parameterised views the questions use (agent_guards, answer_scores)."""
    store, audit, *_ = audited
    running = RunningEndpoint(store)
    try:
        env = dict(cli_env, AGENTWATCH_STORE=f"http://127.0.0.1:{running.port}", AGENTWATCH_DATABASE=store.database)
        out = run_agentwatch(env, "audit", "--window", "1h", "--format", "json", check=False)
        assert out.returncode == 0, out.stderr
        through = {a["agent"]: a["verdict"] for a in json.loads(out.stdout)["agents"]}
        assert through == {a.agent: a.overall for a in audit.agents}
        assert running.endpoint.counts["ok"] >= 6 and not set(running.endpoint.counts) - {"ok"}  # none refused
    finally:
        running.stop()


def test_the_html_report_renders_in_a_real_browser(audited, tmp_path):
    """Headless Chromium loads the report, draws it to a PNG, and logs no console error. CI installs Debian's
    chromium and requires it (CI_REQUIRE_BROWSER=1); elsewhere, without it, this one test says it skipped."""
    if shutil.which("chromium") is None:
        if os.environ.get("CI_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (apt-get install chromium), and this run requires it")
        pytest.skip("needs Debian's chromium (apt-get install chromium); .ci/run installs it")
    _, audit, *_ = audited
    page = tmp_path / "audit.html"
    page.write_text(render_html(audit))
    shot = tmp_path / "audit.png"
    profile = tmp_path / "profile"
    done = subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1280,2400",
            f"--screenshot={shot}", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(profile)
