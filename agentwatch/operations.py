"""The commands that write to the store — detect, alerts run, alerts silence, evaluate — as functions of a store
and a JSON request, returning a JSON answer: the CLI runs them on the store it opens, or, when ``agentwatch serve``
holds the embedded store, sends them to serve's control interface (:mod:`agentwatch.control`), which runs the same
functions. Either way the command does the same thing and prints the same answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from agentwatch.errors import ConfigError
from agentwatch.store import Store

__all__ = ["OPERATIONS", "run_operation"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


_MAX_SECONDS = 10 * 366 * 86400.0  # ten years: more than any retention


def _seconds(request: dict[str, Any], key: str, *, positive: bool = False) -> float:
    """A duration field of a request, in seconds: a number no longer than ten years (and above zero if
    ``positive``; the detectors say so about their window themselves)."""
    if key not in request:
        raise ConfigError(key, "is missing from the request")
    try:
        value = float(request[key])
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be a number of seconds, not {request[key]!r}") from None
    if not abs(value) <= _MAX_SECONDS:  # also NaN
        raise ConfigError(key, f"must be at most {_MAX_SECONDS:.0f} seconds (ten years), not {value!r}")
    if positive and value <= 0:
        raise ConfigError(key, f"must be longer than zero, not {value:g}s")
    return value


def detect(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    from agentwatch.detectors import run_detectors

    runs = run_detectors(
        store,
        window=_seconds(request, "window"),
        baseline=_seconds(request, "baseline"),
        names=request.get("detectors") or None,
        params=request.get("params") or {},
        write=bool(request.get("write", True)),
    )
    findings = [f.as_dict() for r in runs for f in r.findings]
    return {
        "findings": findings,
        "errors": {r.detector.name: r.error for r in runs if r.error},
        "seconds": {r.detector.name: round(r.seconds, 3) for r in runs},
    }


def alerts_run(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    from agentwatch.alerts import AlertEngine, load_rules

    outcomes = AlertEngine(store, load_rules(request.get("rules"))).run_all()
    return {
        "outcomes": [
            {
                "rule": o.rule,
                "findings": o.findings,
                "firing": o.firing,
                "pending": o.pending,
                "notified": len(o.notified),
                "problems": "; ".join(o.failures) or o.error,
                "error": o.error,
            }
            for o in outcomes
        ]
    }


def alerts_silence(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    from agentwatch.alerts import AlertEngine, load_rules

    until = dt.datetime.fromisoformat(request["until"])
    engine = AlertEngine(store, load_rules(request.get("rules")))
    matchers = dict(request["matchers"])
    silence = engine.silence(matchers, until, request.get("comment", ""))
    return {"id": silence, "until": until.isoformat(), "matching": engine.matching(matchers)}


def alerts_unsilence(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    from agentwatch.alerts import AlertEngine, load_rules

    lifted = AlertEngine(store, load_rules(request.get("rules"))).unsilence(str(request["id"]))
    return {"id": request["id"], "lifted": lifted}


def evaluate(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    from agentwatch.config import get_config
    from agentwatch.evaluators import evaluate as run_evaluation
    from agentwatch.evaluators import make_judge

    config = get_config()
    if request.get("judge") and request["judge"] != config.judge:
        config = dataclasses.replace(config, judge=request["judge"])
    judge = make_judge(config)
    since = _now() - dt.timedelta(seconds=_seconds(request, "since", positive=True))
    stats = run_evaluation(
        store,
        judge,
        since=since,
        sample=float(request.get("sample", 1.0)),
        shard=int(request.get("shard", 0)),
        shards=int(request.get("shards", 1)),
    )
    return {
        "judge": judge.name,
        "answers": stats.answers,
        "scored": stats.scored,
        "cached": stats.cached,
        "skipped": stats.skipped,
        "errors": stats.errors,
        "seconds": round(stats.seconds, 3),
        "budget_exhausted": stats.budget_exhausted,
        "error_messages": sorted(set(stats.error_messages))[:5],
        # nothing new: how many were evaluated before (by serve's evaluator, or an earlier run)
        "already_evaluated": (
            store.run_sql("evaluators/already_evaluated", {"since": since, "evaluator": judge.name}).result_rows[0][0]
            if stats.answers == 0
            else 0
        ),
    }


OPERATIONS: dict[str, Callable[[Store, dict[str, Any]], dict[str, Any]]] = {
    "detect": detect,
    "alerts_run": alerts_run,
    "alerts_silence": alerts_silence,
    "alerts_unsilence": alerts_unsilence,
    "evaluate": evaluate,
}


def run_operation(name: str, store: Store, request: dict[str, Any]) -> dict[str, Any]:
    """Run an operation; a request of the wrong shape is a ConfigError that names the field, never a crash."""
    if name not in OPERATIONS:
        raise ConfigError("operation", f"{name!r} is not one of {sorted(OPERATIONS)}")
    if not isinstance(request, dict):
        raise ConfigError("request", f"must be a JSON object, not {type(request).__name__}")
    try:
        return OPERATIONS[name](store, request)
    except ConfigError:
        raise
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), "is missing from the request") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError("request", f"{name}: {exc}") from None
