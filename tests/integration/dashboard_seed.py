"""A store seeded the way a day of agentwatch leaves it: the detector scenarios (every failure mode next to healthy
look-alikes), answers scored by the real evaluator, findings from the real detectors and alerts from the real
engine. The dashboard tests query it; ``python -m tests.integration.dashboard_seed chdb:///path`` builds one to look
at (``agentwatch grafana preview --store chdb:///path --out DIR``)."""

from __future__ import annotations

import datetime as dt
import sys

from agentwatch.alerts import AlertEngine, load_rules
from agentwatch.detectors import run_detectors
from agentwatch.evaluators import HeuristicJudge, evaluate

from . import scenarios
from .spans import insert_spans, otel_row
from .test_evaluators import BAD, GOOD, agent_trace

SESSION = "c-" + "00" * 16  # an answer with its LLM call, tool result, scores and an ungrounded-answer finding


def seed(store, now: dt.datetime) -> None:
    scenarios.load(store, scenarios.build(now))
    answers = []
    for i in range(12):
        query, answer, source = GOOD if i % 3 else BAD
        trace, minutes = f"{i:02x}" * 16, 5 + i * 4
        answers += agent_trace(trace, query, answer, source, minutes=minutes, agent=f"support-{i % 2}")
        tokens = 800 + 150 * i
        answers.append(  # the LLM call behind the answer, priced as the OpenAI instrumentation prices it
            otel_row(
                f"{trace[:14]}cc",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.agent.name": f"support-{i % 2}",
                    "gen_ai.conversation.id": f"c-{trace}",
                    "gen_ai.usage.input_tokens": str(tokens),
                    "gen_ai.usage.output_tokens": "60",
                    "agentwatch.usage.cost_usd": str(round(tokens * 0.15e-6 + 60 * 0.6e-6, 8)),
                },
                trace_id=trace,
                parent=f"{trace[:14]}aa",
                name="chat gpt-4o-mini",
                timestamp=now - dt.timedelta(minutes=minutes),
            )
        )
    insert_spans(store, answers)
    evaluate(store, HeuristicJudge(), since=now - dt.timedelta(hours=2), until=now)
    run_detectors(store, window=3600, end=now, write=True)
    AlertEngine(store, load_rules()).run_all(now)


if __name__ == "__main__":
    from agentwatch.config import configure
    from agentwatch.migrate import Migrator
    from agentwatch.store import open_store

    config = configure(store=sys.argv[1])
    with open_store(config, create=True) as handle:
        Migrator(handle, config).apply()
        seed(handle, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
