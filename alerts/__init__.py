"""agentwatch.alerts: scheduled rules over the detectors, alert state, and publishers (webhook, Slack, log)."""

from agentwatch.alerts.engine import AlertEngine, RuleOutcome, RuleStatus
from agentwatch.alerts.publishers import DeliveryError, Notification, deliver, sign
from agentwatch.alerts.rules import Channel, Rule, RulesError, RuleSet, load_rules, parse_rules
from agentwatch.alerts.scheduler import Scheduler, next_run

__all__ = [
    "AlertEngine",
    "Channel",
    "DeliveryError",
    "Notification",
    "Rule",
    "RuleOutcome",
    "RuleSet",
    "RuleStatus",
    "RulesError",
    "Scheduler",
    "deliver",
    "load_rules",
    "next_run",
    "parse_rules",
    "sign",
]
