"""Runtime guards: stop the expensive, irreversible and wrong before it happens.

Opt-in per agent (``@agentwatch.agent(..., budget=Budget(...), guards=Guards(...))``) or globally from the
environment for the one-line import (``AGENTWATCH_MAX_STEPS``, ``AGENTWATCH_MAX_TOKENS``, ``AGENTWATCH_MAX_COST_USD``,
``AGENTWATCH_MAX_SECONDS``, ``AGENTWATCH_MAX_REPEATS``, ``AGENTWATCH_ENFORCE_SCOPE``, ``AGENTWATCH_REQUIRE_APPROVAL``,
``AGENTWATCH_APPROVED_ACTIONS``; rows of the settings table, shown by ``agentwatch config``). Every decision —
allowed near a limit, warned, blocked — is an ``agentwatch.guard.<name>`` event on the span, with the limit and the
observed value. With no guards configured, nothing is checked and nothing changes.

The errors a guard raises (AgentGuardError and its kinds) live with agentwatch's other errors, in
:mod:`agentwatch.errors`, so the server side can name them without importing the instrumentation.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentwatch.instrumentation import _attributes as A

if TYPE_CHECKING:
    from agentwatch.config import Config

__all__ = [
    "PRICES",
    "UNGUARDED",
    "Budget",
    "Guards",
    "estimate_cost",
    "guards_from_config",
]


# USD per 1M tokens (input, output), by model-name prefix; the longest prefix wins. Override with Guards(prices=…).
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o3-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "gpt-5": (1.25, 10.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.0-flash": (0.10, 0.40),
}


def estimate_cost(
    model: str, input_tokens: int, output_tokens: int, prices: dict[str, tuple[float, float]] | None = None
) -> float:
    per_input, per_output = _price(model, {**PRICES, **prices}) if prices else _listed_price(model)
    return (input_tokens * per_input + output_tokens * per_output) / 1_000_000


def _price(model: str, table: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """Dollars per million input and output tokens: the longest model-name prefix in ``table`` wins."""
    matches = [m for m in table if model.startswith(m)]
    return table[max(matches, key=len)] if matches else (0.0, 0.0)


@functools.lru_cache(maxsize=256)
def _listed_price(model: str) -> tuple[float, float]:
    return _price(model, PRICES)  # looked up on every LLM call, so once per model


@dataclass(frozen=True)
class Budget:
    """Per agent invocation (a hand-off to a child agent draws on its parent's budget)."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_seconds: float | None = None


@dataclass(frozen=True)
class Guards:
    budget: Budget | None = None
    max_repeats: int | None = None  # identical tool calls allowed in one run
    max_handoff_alternations: int | None = None  # A→B→A returns allowed in one session
    max_rate_limit_retries: int | None = None  # rate-limited LLM calls allowed in one run (backing off between)
    rate_limit_backoff: float = 0.5  # seconds before the next LLM call after a rate limit, doubling, capped at 8s
    loop_mode: str = "raise"  # "raise", or "message": the tool returns a message telling the agent to change course
    enforce_scope: bool = True  # tools outside allowed_tools raise ScopeViolationError (when allowed_tools is set)
    require_approval: bool = True  # irreversible tools need agentwatch.approve(), the callback or the allow-list
    approved_actions: tuple[str, ...] = ()
    approval_callback: Callable[[str, dict[str, Any]], bool] | None = None
    schema_mode: str = "raise"  # "raise" ToolSchemaError, or "flag" the span and pass the result through
    min_grounding: float | None = None  # answer gate on the agent's output (the heuristic judge)
    fallback: str | None = None  # returned instead of raising AgentQualityError
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.loop_mode not in ("raise", "message"):
            raise ValueError("loop_mode must be 'raise' or 'message'")
        if self.schema_mode not in ("raise", "flag"):
            raise ValueError("schema_mode must be 'raise' or 'flag'")
        if self.max_repeats is not None and self.max_repeats < 1:
            raise ValueError("max_repeats must be at least 1 (None: no limit); 0 would refuse every tool call")

    def merged(self, budget: Budget | None) -> Guards:
        return dataclasses.replace(self, budget=budget) if budget is not None else self

    @functools.cached_property
    def attributes(self) -> dict[str, Any]:
        """The configuration as ``agentwatch.guards.*`` span attributes: recorded on every agent span, so the store
        knows which caps, gates and enforcement each agent ran with (``agentwatch audit`` reads them). Worked out
        once per Guards (they are frozen); callers copy, never change it."""
        found: dict[str, Any] = {
            f"{A.GUARDS}.enabled": True,
            f"{A.GUARDS}.enforce_scope": self.enforce_scope,
            f"{A.GUARDS}.require_approval": self.require_approval,
        }
        budget = self.budget or Budget()
        for name, value in (
            ("max_steps", budget.max_steps),
            ("max_tokens", budget.max_tokens),
            ("max_cost_usd", budget.max_cost_usd),
            ("max_seconds", budget.max_seconds),
            ("max_repeats", self.max_repeats),
            ("min_grounding", self.min_grounding),
        ):
            if value is not None:
                found[f"{A.GUARDS}.{name}"] = value
        return found


UNGUARDED = {f"{A.GUARDS}.enabled": False}  # what an agent span without guards records


def guards_from_config(config: Config) -> Guards | None:
    """Global guard defaults from the settings table (``AGENTWATCH_MAX_STEPS`` …); ``None`` when none is set."""
    budget = Budget(config.max_steps, config.max_tokens, config.max_cost_usd, config.max_seconds)
    approved = tuple(a.strip() for a in config.approved_actions.split(",") if a.strip())
    if (
        budget == Budget()
        and config.max_repeats is None
        and not approved
        and not config.enforce_scope
        and not config.require_approval
    ):
        return None
    return Guards(
        budget=budget if budget != Budget() else None,
        max_repeats=config.max_repeats,
        enforce_scope=config.enforce_scope,
        require_approval=config.require_approval,
        approved_actions=approved,
    )


@dataclass
class RunGuard:
    """The counters a guarded agent run keeps (shared with child agents, which draw on the same budget)."""

    guards: Guards
    started: float = field(default_factory=time.monotonic)
    steps: int = 0
    tokens: int = 0
    cost: float = 0.0
    calls: dict[tuple[str, str], int] = field(default_factory=dict)
    rate_limited: int = 0
    handoffs: list[str] = field(default_factory=list)
