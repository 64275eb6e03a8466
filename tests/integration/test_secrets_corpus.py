"""The secrets corpus (tests/data/secrets.json) through both places that redact: the collector (spans sent by the
real OTLP exporter, every place a sender controls) and the SDK's capture (@agentwatch.tool, @agentwatch.agent).
No corpus secret may reach otel_traces or agent_spans; no look-alike may be masked."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link

import agentwatch

from .running import RunningCollector, collector_config, count, wait_for

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "secrets.json").read_text())
SECRETS = CORPUS["secrets"]
LOOKALIKES = CORPUS["lookalikes"]


def _dump(store, table: str) -> str:
    rows = store.query(f"SELECT * FROM {table}")
    return json.dumps([list(map(str, r)) for r in rows.result_rows], ensure_ascii=False)


def _leaks(text: str) -> list[str]:
    found = []
    for case in SECRETS:
        secret = case["secret"]
        variants = {secret, secret.replace("\\/", "/"), base64.b64encode(secret.encode()).decode()}
        if any(v in text or json.dumps(v)[1:-1] in text for v in variants):
            found.append(case["format"])
    return found


def test_no_corpus_secret_reaches_the_store_through_the_collector(store, tmp_path):
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc:
        tp = TracerProvider(resource=Resource.create({"service.name": "corpus", "env.secret": SECRETS[0]["text"]}))
        tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{rc.http_url}/v1/traces")))
        sent = 0
        for i, case in enumerate(SECRETS):
            text = case["text"]
            tracer = tp.get_tracer(f"scope {text}" if i % 2 else "agentwatch-test")
            anchor = tracer.start_span("anchor")
            anchor.end()
            attributes = {
                "gen_ai.tool.call.result": text,  # a string value
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "content": text}]),  # JSON-encoded
                "list": [text, "ordinary"],  # an array value
                "blob": text.encode(),  # a bytes value, stored base64
                text[:200]: "secret in the key",  # an attribute key
            }
            span = tracer.start_span(
                f"execute_tool {text}",  # a span name
                attributes=attributes,
                links=[Link(anchor.get_span_context(), {"link.note": text})],
            )
            span.add_event(f"event {text}", {"exception.message": text})
            span.end()
            sent += 2
        for case in LOOKALIKES:
            with tp.get_tracer("agentwatch-test").start_as_current_span("lookalike", attributes={"text": case["text"]}):
                pass
            sent += 1
        tp.shutdown()
        wait_for(lambda: count(store) == sent, what="every span")
        wait_for(lambda: count(store, "agent_spans") == sent, what="every agent span")
    assert _leaks(_dump(store, "otel_traces")) == []
    assert _leaks(_dump(store, "agent_spans")) == []
    stored = {r[0] for r in store.query("SELECT SpanAttributes['text'] FROM otel_traces WHERE SpanName = 'lookalike'")
              .result_rows}  # fmt: skip
    assert stored == {case["text"] for case in LOOKALIKES}  # no look-alike masked


def test_a_50_mb_span_name_is_capped(store, tmp_path):
    with RunningCollector(collector_config(store, tmp_path / "spool"), store) as rc:
        tp = TracerProvider()
        tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{rc.http_url}/v1/traces")))
        with tp.get_tracer("t").start_as_current_span("n" * (50 << 20)):
            pass
        tp.shutdown()
        wait_for(lambda: count(store) == 1, what="the span")
    (length,) = store.query("SELECT length(SpanName) FROM otel_traces").result_rows[0]
    assert length < 2048


@pytest.mark.parametrize("capture_shape", ["string", "dict"])
def test_no_corpus_secret_is_captured_by_the_sdk(spans, capture_shape):
    @agentwatch.tool
    def fetch(query: str) -> object:
        return query if capture_shape == "string" else {"text": query, "nested": {"value": query}}

    @agentwatch.agent(name="corpus-agent")
    def answer(question: str) -> str:
        fetch(question)
        return f"Done: {question}"

    for case in SECRETS:
        answer(case["text"])
    for case in LOOKALIKES:
        answer(case["text"])
    recorded = json.dumps(
        [{k: str(v) for k, v in (s.attributes or {}).items()} for s in spans.get_finished_spans()], ensure_ascii=False
    )
    assert _leaks(recorded) == []
    tools = [s for s in spans.get_finished_spans() if s.name == "execute_tool fetch"][len(SECRETS) :]
    for case, span in zip(LOOKALIKES, tools, strict=True):
        result = span.attributes["gen_ai.tool.call.result"]
        expected = (
            case["text"]
            if capture_shape == "string"
            else json.dumps(
                {"text": case["text"], "nested": {"value": case["text"]}}, ensure_ascii=False, separators=(",", ":")
            )
        )
        assert result == expected, case["kind"]
