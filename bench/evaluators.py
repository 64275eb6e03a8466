"""Evaluator throughput: the heuristic judge end to end, and the LLM judge against a local server.

    python bench/evaluators.py [--answers 10000] [--llm-answers 200] [--against REV]

Heuristic: answers of a few hundred words with a few KB of tool results each are generated into otel_traces, then
``evaluate()`` reads them, scores them and writes the scores; prints answers/s end to end and the split between
reading, scoring and writing (the scoring-only rate is the baseline in the same process). ``--against REV``
also scores the same answers with the judge of git revision REV (default: the judge before issue 33's evidence
shapes), rounds alternating, and prints the median rates and their ratio. LLM judge: half of the
answers are duplicates, so the content-hash cache's savings show; prints answers/s at concurrency 1 and 4.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _store import fresh_store

from agentwatch.evaluators import HeuristicJudge, OpenAIJudge, evaluate, read_answers
from agentwatch.testing import LLMServer, Reply

GENERATE = """
INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, SpanAttributes,
                         StatusCode)
SELECT
    fromUnixTimestamp64Nano(toInt64({start_ns:Int64} + intDiv(number, 2) * 1000000)),
    lower(hex(sipHash128(intDiv(number, 2) + {offset:UInt64}, {salt:String}))),
    lower(hex(sipHash64(number + {offset:UInt64}, {salt:String}))),
    if(number % 2 = 1, lower(hex(sipHash64(number - 1 + {offset:UInt64}, {salt:String}))), ''),
    if(number % 2 = 0, 'invoke_agent support', 'execute_tool get_order'), 'Internal', 'bench',
    if(number % 2 = 0,
       map('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', 'support',
           'gen_ai.input.messages', concat('[{"role":"user","parts":[{"type":"text","content":"Where is order A-',
                                           toString(intDiv(number, 2) % {distinct:UInt64}), ' and when will it arrive?"}]}]'),
           'gen_ai.output.messages', concat('[{"role":"assistant","parts":[{"type":"text","content":"Order A-',
               toString(intDiv(number, 2) % {distinct:UInt64}), ' shipped from the Rotterdam warehouse with DHL. ',
               repeat('It left the sorting centre this morning and the carrier reports it is on schedule. ', 25),
               'It should arrive in ', toString(2 + number % 5), ' days."}]}]')),
       map('gen_ai.operation.name', 'execute_tool', 'gen_ai.tool.name', 'get_order',
           'gen_ai.tool.call.result', concat('{"order": "A-', toString(intDiv(number, 2) % {distinct:UInt64}),
               '", "warehouse": "Rotterdam", "carrier": "DHL", "eta_days": ', toString(2 + (number - 1) % 5),
               ', "events": [', arrayStringConcat(arrayMap(i -> concat('{"step": ', toString(i),
               ', "note": "the carrier reports it is on schedule, sorting centre scan ok"}'), range(40)), ','), ']}'))),
    'Unset'
FROM numbers({count:UInt64})
"""


def generate(store, answers: int, distinct: int, salt: str) -> None:
    start_ns = int((dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)).timestamp() * 1e9)
    store.command(
        GENERATE, {"start_ns": start_ns, "count": answers * 2, "offset": 0, "salt": salt, "distinct": distinct}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--llm-answers", type=int, default=200)
    parser.add_argument("--against", default="b4f0c75", help="git revision of the judge to compare with")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the comparison")
    args = parser.parse_args()
    _, _, store = fresh_store("aw-bench-eval-")
    since = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)
    until = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

    generate(store, args.answers, args.answers, "heuristic")
    judge = HeuristicJudge()
    began = time.perf_counter()
    answers = read_answers(store, since=since, until=until, evaluator="probe", limit=args.answers)
    read_s = time.perf_counter() - began
    sizes = [len(a.answer.split()) for a in answers]
    source_kb = sum(len(s.text) for a in answers for s in a.sources) / max(1, len(answers)) / 1024
    began = time.perf_counter()
    for answer in answers:
        judge.score(answer)
    score_s = time.perf_counter() - began
    if args.against:
        from _judge_at import judge_at

        judges = {"today": judge, args.against: judge_at(args.against)()}
        rates: dict[str, list[float]] = {name: [] for name in judges}
        for _ in range(args.rounds):
            for name, each in judges.items():
                began = time.perf_counter()
                for answer in answers:
                    each.score(answer)
                rates[name].append(len(answers) / (time.perf_counter() - began))
        today, then = statistics.median(rates["today"]), statistics.median(rates[args.against])
        print(
            f"score only, median of {args.rounds} alternating rounds: today {today:,.0f} answers/s, "
            f"at {args.against} {then:,.0f} answers/s: {today / then:.2f}×"
        )
    began = time.perf_counter()
    stats = evaluate(store, judge, since=since, batch=5000)
    e2e_s = time.perf_counter() - began
    print(f"answers: {len(answers):,} of ~{sum(sizes) // max(1, len(sizes))} words with {source_kb:.1f} KB of sources")
    print(f"read only      {len(answers) / read_s:>10,.0f} answers/s")
    print(f"score only     {len(answers) / score_s:>10,.0f} answers/s   (baseline: the judge alone)")
    print(
        f"end to end     {stats.answers / e2e_s:>10,.0f} answers/s   (read + score + write; "
        f"{(stats.answers / e2e_s) / (len(answers) / score_s):.2f}× the judge alone)"
    )

    for concurrency in (1, 4) if args.llm_answers > 1 else ():  # --llm-answers 0: the offline judge only
        salt = f"llm{concurrency}"
        for table in ("otel_traces", "agent_spans"):  # answers are read through agent_spans
            store.command(f"TRUNCATE TABLE {table}")
        generate(store, args.llm_answers, args.llm_answers // 2, salt)  # half the answers are duplicates
        reply = json.dumps(
            {
                m: {"score": 0.9, "label": "ok", "explanation": "supported"}
                for m in ("grounding", "relevance", "calibration")
            }
        )
        with LLMServer(lambda p, b, reply=reply: Reply(text=reply, delay=0.02)) as llm:
            judge = OpenAIJudge(
                model=f"judge-c{concurrency}", base_url=llm.base_url, api_key="sk-bench", concurrency=concurrency
            )
            began = time.perf_counter()
            stats = evaluate(store, judge, since=since)
            took = time.perf_counter() - began
        print(
            f"LLM judge, concurrency {concurrency}: {stats.answers / took:,.1f} answers/s; {judge.calls} judge calls "
            f"for {stats.answers} answers ({stats.cached} served by the cache), 20 ms per call at the server"
        )


if __name__ == "__main__":
    main()
