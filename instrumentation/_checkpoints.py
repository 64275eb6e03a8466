"""Where the guards act: before a tool call, before an LLM call, after a tool returns, after an agent answers.

These run outside the instrumentation's safety net on purpose: raising the documented guard errors is their job.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentwatch.errors import (
    AgentBudgetError,
    AgentGuardError,
    AgentLoopError,
    ApprovalRequiredError,
    ScopeViolationError,
    ToolSchemaError,
)
from agentwatch.instrumentation import _attributes as A
from agentwatch.instrumentation._context import AgentRun, session_approvals
from agentwatch.instrumentation._state import tracer
from agentwatch.instrumentation.guards import RunGuard, estimate_cost

__all__ = [
    "LoopMessage",
    "after_answer",
    "after_llm",
    "after_tool",
    "before_handoff",
    "before_llm",
    "before_tool",
    "block",
    "record",
    "schema_problems",
]

log = logging.getLogger("agentwatch.guards")


class LoopMessage(str):
    """What a tool returns instead of running, in the loop guard's "message" mode."""


def record(
    span: Span, guard: str, decision: str, limit: Any = None, observed: Any = None, fallback: str | None = None
) -> None:
    attributes: dict[str, Any] = {"agentwatch.guard.name": guard, "agentwatch.guard.decision": decision}
    if fallback is not None:  # what the user got instead (the answer gate's configured text, not user content)
        attributes["agentwatch.guard.fallback"] = fallback[:1000]
    if limit is not None:
        attributes["agentwatch.guard.limit"] = limit if isinstance(limit, (int, float, str)) else str(limit)
    if observed is not None:
        attributes["agentwatch.guard.observed"] = observed if isinstance(observed, (int, float, str)) else str(observed)
    span.add_event(f"agentwatch.guard.{guard}", attributes)


def _blocked(span_name: str, attributes: dict[str, Any], error: AgentGuardError) -> AgentGuardError:
    """Leave a span that says what was prevented, then hand the error back to be raised."""
    span = tracer().start_span(span_name, kind=SpanKind.INTERNAL, attributes=attributes)
    record(span, error.guard, "blocked", error.limit, error.observed)
    span.set_attribute(A.ERROR_TYPE, type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR, str(error)[:1000]))
    span.end()
    return error


block = _blocked  # for the LLM seam: a refusal earned elsewhere (the conversation's loop guard), recorded alike


def _budget(guard: RunGuard, what: str) -> AgentBudgetError | None:
    budget = guard.guards.budget
    if budget is None:
        return None
    if budget.max_steps is not None and guard.steps + 1 > budget.max_steps:
        return AgentBudgetError(
            "budget",
            f"{what} would be step {guard.steps + 1}, over the budget of {budget.max_steps} steps",
            limit=budget.max_steps,
            observed=guard.steps + 1,
        )
    elapsed = time.monotonic() - guard.started
    if budget.max_seconds is not None and elapsed > budget.max_seconds:
        return AgentBudgetError(
            "budget",
            f"{what} after {elapsed:.1f}s, over the budget of {budget.max_seconds}s",
            limit=budget.max_seconds,
            observed=round(elapsed, 3),
        )
    return None


def _spent(guard: RunGuard) -> AgentBudgetError | None:
    """The run's token or cost budget, when it is spent: no further LLM call."""
    budget = guard.guards.budget
    if budget is None:
        return None
    if budget.max_tokens is not None and guard.tokens >= budget.max_tokens:
        return AgentBudgetError(
            "budget",
            f"{guard.tokens} tokens used, the budget of {budget.max_tokens} is spent",
            limit=budget.max_tokens,
            observed=guard.tokens,
        )
    if budget.max_cost_usd is not None and guard.cost >= budget.max_cost_usd:
        return AgentBudgetError(
            "budget",
            f"${guard.cost:.4f} spent, the budget of ${budget.max_cost_usd} is spent",
            limit=budget.max_cost_usd,
            observed=round(guard.cost, 6),
        )
    return None


def before_tool(
    run: AgentRun, name: str, arguments: dict[str, Any], args_hash: str, irreversible: bool, attributes: dict[str, Any]
) -> tuple[list[tuple], LoopMessage | None]:
    """Check a tool call before its body runs; raises a guard error or returns the decisions to record."""
    guard: RunGuard = run.guard
    guards = guard.guards
    decisions: list[tuple] = []
    span_name = f"execute_tool {name}"
    if run.allowed_tools is not None and guards.enforce_scope:
        if name not in run.allowed_tools:
            raise _blocked(
                span_name,
                attributes,
                ScopeViolationError(
                    "scope",
                    f"{run.name} may not call {name}: its allowed tools are {list(run.allowed_tools)}",
                    limit=",".join(run.allowed_tools),
                    observed=name,
                ),
            )
        decisions.append(("scope", "allowed", ",".join(run.allowed_tools), name))
    if irreversible and guards.require_approval:
        approved = (
            name in session_approvals()
            or name in guards.approved_actions
            or (guards.approval_callback is not None and guards.approval_callback(name, arguments))
        )
        if not approved:
            log.warning(
                "blocked the irreversible action %s of %s (stated intent: %s)",
                name,
                run.name,
                run.intent or "none stated",
            )
            raise _blocked(
                span_name,
                attributes,
                ApprovalRequiredError(
                    "approval",
                    f"{name} is irreversible and was not approved (stated intent: "
                    f"{run.intent or 'none stated'}); call agentwatch.approve({name!r}) first",
                    observed=name,
                ),
            )
        decisions.append(("approval", "allowed", None, name))
    error = _budget(guard, f"calling {name}")
    if error is not None:
        raise _blocked(span_name, attributes, error)
    key = (name, args_hash)
    count = guard.calls.get(key, 0) + 1
    if guards.max_repeats is not None:
        if count > guards.max_repeats:
            message = f"{name} was called {count} times with the same arguments (limit {guards.max_repeats})"
            if guards.loop_mode == "message":
                decisions.append(("loop", "warned", guards.max_repeats, count))
                guard.calls[key] = count
                return decisions, LoopMessage(
                    f"Stop: {message}. The result will not change; try a different "
                    "approach or answer with what you have."
                )
            raise _blocked(
                span_name, attributes, AgentLoopError("loop", message, limit=guards.max_repeats, observed=count)
            )
        decisions.append(("loop", "allowed", guards.max_repeats, count))
    guard.calls[key] = count
    guard.steps += 1
    if guards.budget is not None:
        decisions.append(("budget", "allowed", guards.budget.max_steps, guard.steps))
    return decisions, None


def _alternations(names: list[str]) -> int:
    return sum(1 for i in range(len(names) - 2) if names[i] == names[i + 2] and names[i] != names[i + 1])


def before_handoff(parent: AgentRun, name: str, attributes: dict[str, Any]) -> None:
    guard: RunGuard = parent.guard
    guard.handoffs.append(name)
    limit = guard.guards.max_handoff_alternations
    if limit is None:
        return
    chain = [parent.name, *guard.handoffs]
    alternations = _alternations(chain)
    if alternations > limit:
        raise _blocked(
            f"invoke_agent {name}",
            attributes,
            AgentLoopError(
                "handoff",
                f"agents are handing the session back and forth: {' → '.join(chain)}",
                limit=limit,
                observed=alternations,
            ),
        )


def before_llm(run: AgentRun, model: str, attributes: dict[str, Any]) -> float:
    """Check an LLM call before it is made; raises a guard error, or returns the seconds to back off first after
    rate limits (the caller waits: blocking, or awaiting in async code)."""
    guard: RunGuard = run.guard
    guards = guard.guards
    span_name = f"chat {model}"
    retries = guards.max_rate_limit_retries
    retrying = retries is not None and guard.rate_limited > 0
    if retries is not None and retrying and guard.rate_limited > retries:
        raise _blocked(
            span_name,
            attributes,
            AgentLoopError(
                "rate_limit",
                f"{guard.rate_limited} rate-limited LLM calls in this run (limit "
                f"{guards.max_rate_limit_retries}); stop retrying",
                limit=guards.max_rate_limit_retries,
                observed=guard.rate_limited,
            ),
        )
    error = _spent(guard) or _budget(guard, f"calling {model}")
    if error is not None:
        raise _blocked(span_name, attributes, error)
    guard.steps += 1
    return min(8.0, guards.rate_limit_backoff * 2 ** (guard.rate_limited - 1)) if retrying else 0.0


def after_llm(run: AgentRun | None, model: str, input_tokens: int, output_tokens: int) -> float:
    """Account an LLM call's usage to its run; returns its estimated cost."""
    guard: RunGuard | None = run.guard if run is not None else None
    cost = estimate_cost(model, input_tokens, output_tokens, guard.guards.prices if guard else None)
    if guard is not None:
        guard.tokens += input_tokens + output_tokens
        guard.cost += cost
    return cost


def schema_problems(result: Any, schema: Any) -> list[str]:
    """Fields of a tool's result that do not satisfy ``schema`` (a JSON Schema, a dataclass or a pydantic model); used
    both to flag results (guards off) and to enforce the contract (guards on)."""
    from agentwatch.instrumentation._content import to_jsonable

    plain = isinstance(result, (dict, list)) or dataclasses.is_dataclass(result)
    data = result if plain else to_jsonable(result)
    if isinstance(schema, dict):
        problems = []
        if schema.get("type") == "object" and not isinstance(data, dict):
            return ["(result is not an object)"]
        if not isinstance(data, dict):
            return []
        for key in schema.get("required", ()):
            if key not in data:
                problems.append(f"{key} (missing)")
            elif data[key] is None:
                problems.append(f"{key} (null)")
        types: dict[Any, type | tuple[type, ...]] = {
            "string": str,
            "number": (int, float),
            "integer": int,
            "boolean": bool,
            "array": list,
            "object": dict,
        }
        for key, spec in (schema.get("properties") or {}).items():
            expected = types.get(spec.get("type")) if isinstance(spec, dict) else None
            if key in data and data[key] is not None and expected and not isinstance(data[key], expected):
                problems.append(f"{key} (expected {spec['type']}, got {type(data[key]).__name__})")
        return problems
    if dataclasses.is_dataclass(schema) and isinstance(schema, type):
        if isinstance(data, schema):
            return []
        if not isinstance(data, dict):
            return ["(result is not an object)"]
        problems = []
        for f in dataclasses.fields(schema):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and f.name not in data:
                problems.append(f"{f.name} (missing)")
            elif required and data.get(f.name) is None:
                problems.append(f"{f.name} (null)")
        return problems
    validate = getattr(schema, "model_validate", None)
    if callable(validate):
        try:
            validate(data)
        except Exception as exc:
            errors = getattr(exc, "errors", None)
            if callable(errors):
                return [".".join(str(p) for p in e.get("loc", ())) + f" ({e.get('type', 'invalid')})" for e in errors()]
            return [str(exc)]
    return []


def after_tool(run: AgentRun, span: Span, name: str, result: Any, schema: Any) -> list[str]:
    """Check a guarded tool call's result against its declared schema; returns the problems found (recorded, or
    raised as :class:`ToolSchemaError` in the strict mode)."""
    problems = schema_problems(result, schema)
    guard: RunGuard = run.guard
    if not problems:
        record(span, "tool_schema", "allowed")
        return problems
    if guard.guards.schema_mode == "flag":
        record(span, "tool_schema", "warned", observed=", ".join(problems))
        return problems
    record(span, "tool_schema", "blocked", observed=", ".join(problems))
    raise ToolSchemaError(f"{name} returned a result that does not match its schema: {', '.join(problems)}", problems)


def after_answer(run: AgentRun, span: Span, query: str, answer: Any) -> Any:
    """The answer gate: score the answer before it reaches the user; raise or substitute the fallback."""
    guards = run.guard.guards
    if guards.min_grounding is None or not isinstance(answer, str):
        return answer
    from agentwatch.instrumentation._gate import gate

    return gate(
        span,
        query,
        answer,
        run.evidence,
        min_grounding=guards.min_grounding,
        fallback=guards.fallback,
        decided=lambda decision, grounding: record(
            span,
            "answer_quality",
            decision,
            guards.min_grounding,
            round(grounding, 3),
            guards.fallback if decision == "blocked" else None,
        ),
    )
