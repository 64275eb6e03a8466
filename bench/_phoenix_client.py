"""The three questions asked of Phoenix through its own Python client (``arize-phoenix-client``), the way its
documentation asks them. Runs in Phoenix's venv; prints one JSON object: per question the median milliseconds over
the repeats and the answer, for ``_peer_ingest`` to check against what was sent.

    python _phoenix_client.py URL SESSION REPEATS
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from phoenix.client import Client
from phoenix.client.types.spans import SpanQuery

ALL = 10_000_000  # the client's default limit is 1,000 spans


def main() -> None:
    url, session, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = Client(base_url=url)

    def session_spans() -> Any:
        spans = client.spans.get_spans(project_identifier="default", attributes={"session.id": session}, limit=ALL)
        ordered = sorted(spans, key=lambda span: span["start_time"])
        return [span["name"] for span in ordered]

    def tokens_per_model() -> Any:
        frame = client.spans.get_spans_dataframe(
            query=SpanQuery().where("span_kind == 'LLM'").select("llm.model_name", "llm.token_count.total"),
            start_time=datetime.now(timezone.utc) - timedelta(hours=1),
            project_identifier="default",
            limit=ALL,
        )
        return {
            model: int(total) for model, total in frame.groupby("llm.model_name")["llm.token_count.total"].sum().items()
        }

    def slowest_tools() -> Any:
        frame = client.spans.get_spans_dataframe(
            query=SpanQuery().where("span_kind == 'TOOL'").select("name", "start_time", "end_time"),
            project_identifier="default",
            limit=ALL,
        )
        frame["ms"] = (frame["end_time"] - frame["start_time"]).dt.total_seconds() * 1000
        top = frame.nlargest(10, "ms")
        return [[name, round(ms, 1)] for name, ms in zip(top["name"], top["ms"], strict=True)]

    questions: dict[str, Callable[[], Any]] = {
        "session": session_spans,
        "tokens": tokens_per_model,
        "slowest": slowest_tools,
    }
    out = {}
    for name, ask in questions.items():
        times, answer = [], None
        for _ in range(repeats):
            began = time.perf_counter()
            answer = ask()
            times.append((time.perf_counter() - began) * 1000)
        out[name] = {"ms": statistics.median(times), "answer": answer}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
