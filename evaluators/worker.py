"""Evaluation workers: read answers from the store, score them, write the scores back (idempotently)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentwatch.errors import STOPPED_BY
from agentwatch.evaluators._evidence_text import history_text
from agentwatch.evaluators._model import METRICS, Answer, Score, Source
from agentwatch.evaluators.openai_judge import JudgeBudgetExhausted, JudgeError
from agentwatch.sqlfiles import load_sql
from agentwatch.store import Store

__all__ = ["EvaluationStats", "Judge", "evaluate", "read_answers"]

log = logging.getLogger("agentwatch.evaluators")

_MAX_SOURCE_CHARS = 8000
_WORDS = re.compile(r"[a-z0-9]{3,}")
_COLUMNS = [
    "Timestamp",
    "EvaluatedAt",
    "TraceId",
    "SpanId",
    "SessionId",
    "ServiceName",
    "AgentName",
    "Evaluator",
    "Metric",
    "Status",
    "Score",
    "Label",
    "Explanation",
    "ContentHash",
    "Details",
]


class Judge(Protocol):
    name: str

    def score(self, answer: Answer) -> list[Score]: ...


def _parts(message: dict) -> str:
    parts = message.get("parts")
    if parts is None:  # OpenAI-style {"role", "content"}, as OpenInference and Traceloop record it
        content = message.get("content")
        if isinstance(content, list):  # content blocks (the Responses API's output_text, Anthropic's text)
            return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict) and "text" in c)
        return content if isinstance(content, str) else ""
    return "\n".join(str(p.get("content", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


# LangChain's message types, as OpenInference records LangGraph's state ({"type": "ai", "data": {...}}) and
# its model inputs ({"lc": 1, "id": [..., "AIMessage"], "kwargs": {...}})
_LANGCHAIN_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool"}
_LANGCHAIN_CLASSES = {"HumanMessage": "human", "AIMessage": "ai", "SystemMessage": "system", "ToolMessage": "tool"}


def _plain(message: dict) -> dict:
    """A LangChain message as an OpenAI-style one; any other message as it is."""
    if "lc" in message and isinstance(message.get("kwargs"), dict):
        kind = _LANGCHAIN_CLASSES.get(str((message.get("id") or [""])[-1]), "")
        message = {"type": kind, "data": message["kwargs"]}
    data = message.get("data")
    if "role" not in message and isinstance(data, dict) and message.get("type") in _LANGCHAIN_ROLES:
        return {"role": _LANGCHAIN_ROLES[message["type"]], "content": data.get("content"), "name": data.get("name")}
    return message


def _tool_text(result: str) -> str:
    """A tool's recorded result as its text: a LangChain ToolMessage (LangGraph under OpenInference records
    ``{"type": "tool", "data": {"content": …}}``) holds it in its content."""
    if not result.startswith("{") or '"tool"' not in result:
        return result
    try:
        message = json.loads(result)
    except ValueError:
        return result
    content = _plain(message).get("content") if isinstance(message, dict) and message.get("type") == "tool" else None
    return content if isinstance(content, str) else result


def _messages(recorded: str) -> list[dict] | str:
    """A recorded input or output: GenAI messages (a list), an OpenInference ``input.value`` (text, or JSON with
    ``messages``/``input``…), or plain text."""
    if not recorded:
        return ""
    try:
        data = json.loads(recorded)
    except ValueError:
        return recorded
    if isinstance(data, dict):
        for key in ("messages", "input", "query", "question", "output", "answer", "content", "text", "raw"):
            if key in data:
                value = data[key]
                return value if isinstance(value, str) else _messages(json.dumps(value))
        return recorded
    if isinstance(data, str):
        return data
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], list):  # a batch of one conversation
        data = data[0]
    return [_plain(m) for m in data if isinstance(m, dict)] if isinstance(data, list) else recorded


def _conversation(recorded: str) -> tuple[str, str, list[Source]]:
    """(the last user message, the rest of the conversation, the tool results it carries) of a recorded input.
    Tool results count wherever they stand (a plain loop's last request carries them after the user's question);
    the earlier turns are the conversation the answer continues."""
    messages = _messages(recorded)
    if isinstance(messages, str):
        return messages, "", []
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), None)
    names: dict[str, str] = {}
    sources: list[Source] = []
    rest: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if i == last:
            continue
        for part in message.get("parts") or ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "tool_call" and part.get("id"):
                names[str(part["id"])] = str(part.get("name") or "")
            elif part.get("type") == "tool_call_response":
                response = part.get("response")
                text = response if isinstance(response, str) else json.dumps(response)
                sources.append(Source("tool", names.get(str(part.get("id")), "tool"), text))
        if message.get("role") == "tool" and message.get("parts") is None:  # OpenAI-style, as OpenInference records
            sources.append(Source("tool", str(message.get("name") or "tool"), _parts(message)))
        elif message.get("role") != "tool" and _parts(message):
            rest.append((str(message.get("role", "")), _parts(message)))
    query = _parts(messages[last]) if last is not None else ""
    return query, history_text(rest), sources


def _asked_for_tools(recorded: str) -> bool:
    """Whether a recorded output is a tool-call turn: the model asked for tools instead of answering."""
    messages = _messages(recorded)
    return isinstance(messages, list) and any(
        isinstance(p, dict) and p.get("type") == "tool_call" for m in messages for p in m.get("parts") or ()
    )


def _reply(recorded: str) -> str:
    """The text of the last assistant message of a recorded output."""
    messages = _messages(recorded)
    if isinstance(messages, str):
        return messages
    for message in reversed(messages):
        if message.get("role") in ("assistant", None, ""):
            return _parts(message)
    return ""


def _skip_reason(inp: str, out: str, inline: dict[str, str]) -> str:
    """Why an answer with no text cannot be evaluated, as it is: never a setting that is not set."""
    stopped = STOPPED_BY.get(inline.get("error.type", ""))
    if stopped:
        return f"stopped by the {stopped} before it answered ({inline['error.type']}): no answer reached the user"
    if _asked_for_tools(out):
        return "a tool-call turn: the model asked for tools and gave no answer to evaluate"
    if inline.get(CAPTURE_ATTRIBUTE, "").lower() == "false":
        return (
            "no captured content: the answer was recorded with content capture off (AGENTWATCH_CAPTURE_CONTENT=false)"
        )
    if not inp and not out:
        return "no content was recorded on this span (its instrumentation records no prompts or answers)"
    return "no answer text was recorded (the span has no output messages)"


def _rank(sources: list[Source], query: str, answer: str) -> list[Source]:
    """Most relevant first (word overlap with the query and answer), bounded in total size."""
    if sum(len(s.text) for s in sources) <= _MAX_SOURCE_CHARS:
        return sources  # everything fits: nothing to choose
    wanted = set(_WORDS.findall(f"{query} {answer}".lower()))
    ranked = sorted(sources, key=lambda s: -len(wanted & set(_WORDS.findall(s.text.lower()))))
    kept, size = [], 0
    for source in ranked:
        if size >= _MAX_SOURCE_CHARS:
            break
        text = source.text[: _MAX_SOURCE_CHARS - size]
        kept.append(Source(source.kind, source.name, text, source.failed))
        size += len(text)
    return kept


_START = (dt.datetime(1970, 1, 1), "", "")
CAPTURE_ATTRIBUTE = "agentwatch.content.capture"  # false on spans recorded with content capture off


def read_answers(
    store: Store,
    *,
    since: dt.datetime,
    until: dt.datetime,
    evaluator: str,
    sample: float = 1.0,
    shard: int = 0,
    shards: int = 1,
    limit: int = 5000,
    after: tuple[dt.datetime, str, str] = _START,
) -> list[Answer]:
    """Answers not yet scored by ``evaluator``, oldest first, after the cursor ``after``."""
    sql = load_sql("evaluators/answers")
    rows = store.query(
        sql.body,
        {
            "since": since,
            "until": until,
            "evaluator": evaluator,
            "sample_per_10k": round(sample * 10000),
            "shard": shard,
            "shards": shards,
            "limit": limit,
            "after_ts": after[0],
            "after_trace": after[1],
            "after_span": after[2],
            "max_attempts": MAX_ATTEMPTS,
        },
        sql_name=f"sql/{sql.name}.sql",
    ).result_rows
    answers = []
    for trace, span, ts, service, agent, session, inp, out, evidence, inline, goal in rows:
        (query, history, carried), text = _conversation(inp), _reply(out)
        # whether a tool failed is decided once, by agent_spans_mv (error status, exception, error payload)
        sources = [
            Source(kind, name, _tool_text(result), bool(errored))
            for _, kind, name, result, errored in sorted(evidence or [])
        ]
        recorded = {s.text for s in sources}
        sources += [s for s in carried if s.text not in recorded]  # the same result, recorded twice, counts once
        answer = Answer(
            trace, span, ts, query, text, _rank(sources, query, text), service, agent, session, history, goal
        )
        if inline and inline.get("agentwatch.evaluation.judge") == evaluator:
            try:
                answer.inline = [
                    Score(
                        m,
                        float(inline[f"agentwatch.evaluation.{m}"]),
                        inline.get(f"agentwatch.evaluation.{m}.label", ""),
                        inline.get(f"agentwatch.evaluation.{m}.explanation", ""),
                    )
                    for m in METRICS
                ]
            except (KeyError, ValueError):
                answer.inline = None
        if not text and answer.inline is None:
            answer.skip_reason = _skip_reason(inp, out, inline or {})
        answers.append(answer)
    return answers


@dataclass
class EvaluationStats:
    answers: int = 0
    scored: int = 0
    skipped: int = 0
    errors: int = 0
    cached: int = 0
    judge_calls: int = 0
    budget_exhausted: bool = False
    seconds: float = 0.0
    error_messages: list[str] = field(default_factory=list)


BUDGET_EXHAUSTED = "budget_exhausted"  # the label of an answer put off until the judge's budget allows
MAX_ATTEMPTS = 3  # a judge that fails on an answer this many times is not asked again


def _rows(
    answer: Answer,
    evaluator: str,
    status: str,
    scores: list[Score] | None,
    reason: str,
    now: dt.datetime,
    label: str = "",
) -> list[list[Any]]:
    if scores is None:
        scores = [Score(m, 0.0, label or status, reason) for m in METRICS]
    return [
        [
            answer.timestamp,
            now,
            answer.trace_id,
            answer.span_id,
            answer.session_id,
            answer.service_name,
            answer.agent_name,
            evaluator,
            s.metric,
            status,
            s.score,
            s.label,
            s.explanation,
            answer.content_hash,
            "{}",
        ]
        for s in scores
    ]


def _cached(store: Store, evaluator: str, hashes: list[str]) -> dict[str, list[Score]]:
    if not hashes:
        return {}
    found: dict[str, list[Score]] = {}
    for content, metric, score, label, explanation in store.query(
        "SELECT ContentHash, Metric, argMax(Score, EvaluatedAt), argMax(Label, EvaluatedAt), "
        "argMax(Explanation, EvaluatedAt) FROM evaluations WHERE Evaluator = {e:String} AND Status = 'scored' "
        "AND ContentHash IN {h:Array(String)} GROUP BY ContentHash, Metric",
        {"e": evaluator, "h": hashes},
    ).result_rows:
        found.setdefault(content, []).append(Score(metric, score, label, explanation))
    return {h: s for h, s in found.items() if len(s) == len(METRICS)}


def evaluate(
    store: Store,
    judge: Judge,
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    sample: float = 1.0,
    shard: int = 0,
    shards: int = 1,
    batch: int = 2000,
    progress: Callable[[EvaluationStats], None] | None = None,
) -> EvaluationStats:
    """Score every answer in [since, until) not yet scored by this judge; idempotent and resumable.

    Reads and writes run in threads with their own clients, so ClickHouse fetches the next batch and stores the
    last one while Python scores this one.
    """
    until = until or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    stats = EvaluationStats()
    started = time.perf_counter()
    memo: dict[str, list[Score]] = {}
    concurrency = max(1, int(getattr(judge, "concurrency", 1)))
    processes = _process_pool(judge)
    reader_store, writer_store = store.clone(), store.clone()
    reader = ThreadPoolExecutor(1, thread_name_prefix="agentwatch-answers")
    writer = ThreadPoolExecutor(1, thread_name_prefix="agentwatch-evaluations")

    def fetch(after: tuple[dt.datetime, str, str]) -> list[Answer]:
        return read_answers(
            reader_store,
            since=since,
            until=until,
            evaluator=judge.name,
            sample=sample,
            shard=shard,
            shards=shards,
            limit=batch,
            after=after,
        )

    pending = None
    upcoming = reader.submit(fetch, _START)
    try:
        while True:
            answers = upcoming.result()
            if not answers:
                break
            last = answers[-1]
            upcoming = reader.submit(fetch, (last.timestamp or _START[0], last.trace_id, last.span_id))
            rows = _score_batch(store, judge, answers, memo, concurrency, stats, processes)
            if pending is not None:
                pending.result()
            pending = writer.submit(writer_store.insert, "evaluations", rows, _COLUMNS)
            stats.answers += len(answers)
            stats.judge_calls = int(getattr(judge, "calls", stats.scored - stats.cached))
            if progress:
                progress(stats)
            if stats.budget_exhausted:
                log.warning("the judge's token budget is spent; stopping (the rest is evaluated in the next hour)")
                break
        if pending is not None:
            pending.result()
    finally:
        if processes is not None:
            processes.shutdown(wait=True)
        reader.shutdown(wait=True)
        writer.shutdown(wait=True)
        reader_store.close()
        writer_store.close()
    stats.seconds = time.perf_counter() - started
    return stats


_MIN_FOR_PROCESSES = 500


def _process_pool(judge: Judge) -> Any:
    """CPU-bound judges (the heuristic) score large batches on every core. Processes are spawned, not forked: a
    fork of a process hosting chDB's threads could inherit a held allocator lock."""
    if not getattr(judge, "cpu_bound", False) or (os.cpu_count() or 1) < 2:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("spawn"))


def _score_batch(
    store: Store,
    judge: Judge,
    answers: list[Answer],
    memo: dict[str, list[Score]],
    concurrency: int,
    stats: EvaluationStats,
    processes: Any = None,
) -> list[list[Any]]:
    """Score one batch (skips, cache, judge) and return its rows for ``evaluations``."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows: list[list[Any]] = []
    todo = [a for a in answers if not a.skip_reason]
    for a in answers:
        if a.skip_reason:
            rows += _rows(a, judge.name, "skipped", None, a.skip_reason, now)
            stats.skipped += 1
    memo.update(_cached(store, judge.name, sorted({a.content_hash for a in todo} - set(memo))))

    failures: dict[str, str] = {}  # content hash → why the judge could not score it

    def judge_one(answer: Answer) -> None:
        if stats.budget_exhausted:
            failures[answer.content_hash] = "the judge's token budget for this hour is spent"
            return
        try:
            memo[answer.content_hash] = judge.score(answer)
        except JudgeBudgetExhausted as exc:
            stats.budget_exhausted = True
            failures[answer.content_hash] = str(exc)
        except JudgeError as exc:
            failures[answer.content_hash] = str(exc)

    # each distinct content is judged once, whichever way the batch is spread (paid calls)
    fresh = list({a.content_hash: a for a in todo if a.inline is None and a.content_hash not in memo}.values())
    if processes is not None and len(fresh) >= _MIN_FOR_PROCESSES:
        chunk = max(64, len(fresh) // (4 * (os.cpu_count() or 1)))
        for answer, scores in zip(fresh, processes.map(judge.score, fresh, chunksize=chunk), strict=True):
            memo[answer.content_hash] = scores
    elif concurrency > 1 and len(fresh) > 1:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(judge_one, fresh))
    else:
        for answer in fresh:
            judge_one(answer)
    judged = {id(a) for a in fresh}
    for answer in todo:
        scores = answer.inline if answer.inline is not None else memo.get(answer.content_hash)
        if scores is not None:
            rows += _rows(answer, judge.name, "scored", scores, "", now)
            stats.scored += 1
            stats.cached += int(id(answer) not in judged)
            continue
        error = failures.get(answer.content_hash, "not scored")
        if stats.budget_exhausted and "budget" in error:
            rows += _rows(answer, judge.name, "skipped", None, error, now, BUDGET_EXHAUSTED)
            stats.skipped += 1
        else:
            rows += _rows(answer, judge.name, "error", None, error, now)
            stats.errors += 1
            stats.error_messages.append(error)
    return rows
