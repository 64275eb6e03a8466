"""Running alert rules on their schedules: each rule in its own turn, a slow rule never delays the others, and
runs missed while the process was paused are not replayed as a storm (the next run is planned from now)."""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from agentwatch.alerts.engine import AlertEngine, RuleOutcome
from agentwatch.alerts.rules import Rule

__all__ = ["Scheduler", "next_run"]

log = logging.getLogger("agentwatch.alerts")


def next_run(rule: Rule, after: dt.datetime) -> dt.datetime:
    if rule.cron is not None:
        return rule.cron.next_after(after)
    return after + dt.timedelta(seconds=rule.interval or 60)


class Scheduler:
    def __init__(self, engines: list[AlertEngine], *, workers: int = 2) -> None:
        self.engines = engines  # each has its own store client; a rule borrows an idle one for its run
        self.rules = list(engines[0].ruleset.rules)
        self.next: dict[str, dt.datetime] = {}
        self.running: dict[str, Future[RuleOutcome]] = {}
        self.last: dict[str, RuleOutcome] = {}
        self._pool = ThreadPoolExecutor(min(workers, len(engines)), thread_name_prefix="agentwatch-alerts")
        self._idle: queue.SimpleQueue[AlertEngine] = queue.SimpleQueue()
        for engine in engines:
            self._idle.put(engine)
        self._lock = threading.Lock()

    def _evaluate(self, rule: Rule, now: dt.datetime) -> RuleOutcome:
        engine = self._idle.get()  # a client serves one query at a time: never two rules on one engine
        try:
            return engine.evaluate(rule, now)
        except Exception as exc:  # recorded as the rule's error; the scheduler goes on
            log.error("alert rule %s failed: %s", rule.name, exc)
            return RuleOutcome(rule.name, error=str(exc))
        finally:
            self._idle.put(engine)

    def tick(self, now: dt.datetime) -> list[str]:
        """Start every rule that is due and not still running; returns their names."""
        started = []
        with self._lock:
            for name, future in list(self.running.items()):
                if future.done():
                    del self.running[name]
                    self.last[name] = future.result()
            if not self.next:
                self.engines[0].deliver_pending(now)
            for rule in self.rules:
                due = self.next.get(rule.name, now)
                if due > now or rule.name in self.running:
                    continue
                self.running[rule.name] = self._pool.submit(self._evaluate, rule, now)
                self.next[rule.name] = next_run(rule, now)  # from now: missed runs are skipped, not replayed
                started.append(rule.name)
        return started

    def run(self, stop: threading.Event, poll: float = 1.0) -> None:
        while not stop.is_set():
            self.tick(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
            stop.wait(poll)
        self._pool.shutdown(wait=True)
