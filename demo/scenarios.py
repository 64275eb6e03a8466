"""What the demo injects, shared by the fleet (which acts it out) and the report (which checks it was caught)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SCENARIOS", "Scenario"]


@dataclass(frozen=True)
class Scenario:
    key: str
    failure_mode: str  # "" for a healthy session
    description: str
    session: str
    agents: tuple[str, ...] = ()


SCENARIOS = (
    Scenario(
        "healthy-1", "", "a support agent looks up an order and answers from the result", "demo-healthy-1", ("support",)
    ),
    Scenario(
        "healthy-2",
        "",
        "the same, for another order, with three lookups of different orders",
        "demo-healthy-2",
        ("support",),
    ),
    Scenario("healthy-3", "", "an ops agent deletes a temp table after an approval", "demo-healthy-3", ("ops",)),
    Scenario(
        "context",
        "context_degradation",
        "a research agent keeps stuffing its context until it balloons",
        "demo-context",
        ("researcher",),
    ),
    Scenario(
        "wrong-answer",
        "silent_wrong_answers",
        "a confident answer contradicting the tool's result (HTTP 200 all the way)",
        "demo-wrong-answer",
        ("support-fast",),
    ),
    Scenario(
        "schema-drift",
        "tool_schema_drift",
        "the inventory API changes its response schema mid-run",
        "demo-schema-drift",
        ("stock-agent",),
    ),
    Scenario(
        "loop",
        "runaway_loops_and_cost",
        "an agent stuck polling the same job with the same arguments",
        "demo-loop",
        ("poller",),
    ),
    Scenario(
        "permission",
        "permission_explosion",
        "a read-only support bot calls an admin tool with a credential another agent also uses",
        "demo-permission",
        ("support-bot", "billing-admin"),
    ),
    Scenario(
        "goal-drift",
        "goal_drift",
        "after a failed migration the agent drops a table without approval",
        "demo-goal-drift",
        ("migrator",),
    ),
)
