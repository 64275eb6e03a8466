"""agentwatch beside the tools a user would pick instead, measured in one run on this machine.

    python bench/peers.py [--only instrumentation|ingest] [--fresh] [--venvs DIR]
    python bench/peers.py --compare first.log second.log    # did a second run keep the ordering?

1. **Instrumentation cost per call.** Each peer runs in its own process from its own pinned venv (made under a
   temporary folder on first use; ``--fresh`` remakes them), set up as its documentation says, exporting OTLP to a
   local sink of its own (``_sink``), against one local OpenAI-compatible server. The same chat call uninstrumented,
   with agentwatch, with OpenTelemetry's official ``openai-v2`` instrumentation, OpenInference, OpenLLMetry, OpenLIT
   and Langfuse's OpenAI integration; the same tool function plain, under a bare SDK span, and decorated by
   agentwatch's ``@tool``, Langfuse's ``@observe``, Traceloop's ``@tool`` and OpenInference's ``@tracer.tool``, each
   inside its agent scope. Rounds are interleaved, one block per peer, in an order that rotates, and each block
   ends with its exporter flushed; figures are medians over rounds, and "added" is the median of each round's
   difference to the uninstrumented block of the same round. What each recorded is read back from its sink: spans
   per call and whether the call's content (a marker in the prompt or the tool's argument) was kept.
2. **Ingest and query** (``_peer_ingest``): the same OTLP/HTTP protobuf load into ``phoenix serve`` (Arize Phoenix
   on its default SQLite store) and into ``agentwatch serve`` (embedded ClickHouse), each alone in turn.

Ratios are agentwatch ÷ peer: below 1 agentwatch costs less.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peer_envs import ENVS, default_root, prepare, versions
from _sink import Received, Sink

from agentwatch.testing import LLMServer, Reply

WORKER = Path(__file__).resolve().parent / "_peer_worker.py"

# (label, env, peer as the worker knows it, the package whose version the table names)
LLM_PEERS = [
    ("uninstrumented", "plain", "plain", "openai"),
    ("agentwatch", "agentwatch", "agentwatch", "agentwatch"),
    ("agentwatch, content off", "agentwatch", "agentwatch-no-content", "agentwatch"),
    ("OTel openai-v2", "otel-openai-v2", "otel-openai-v2", "opentelemetry-instrumentation-openai-v2"),
    ("OpenInference", "openinference", "openinference", "openinference-instrumentation-openai"),
    ("OpenLLMetry", "openllmetry", "openllmetry", "opentelemetry-instrumentation-openai"),
    ("OpenLIT", "openlit", "openlit", "openlit"),
    ("Langfuse", "langfuse", "langfuse", "langfuse"),
]
TOOL_PEERS = [
    ("plain function", "plain", "plain", "opentelemetry-sdk"),
    ("bare SDK span", "plain", "bare-span", "opentelemetry-sdk"),
    ("agentwatch @tool", "agentwatch", "agentwatch", "agentwatch"),
    ("Langfuse @observe", "langfuse", "langfuse", "langfuse"),
    ("Traceloop @tool", "openllmetry", "openllmetry", "traceloop-sdk"),
    ("OpenInference @tracer.tool", "openinference", "openinference", "openinference-instrumentation"),
]


@dataclass
class Worker:
    """A peer's process: ``run(k)`` is one timed block of k calls."""

    label: str
    proc: subprocess.Popen
    sink: Sink
    version: str
    samples: list[float] = field(default_factory=list)  # wall µs per call, a block each
    cpu: list[float] = field(default_factory=list)  # CPU µs per call of the whole process (every thread)

    def run(self, k: int) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"run {k}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.label} died; its stderr is in the venv folder's worker log")
        return json.loads(line)

    def quit(self) -> int:
        """Shut the peer down (its exporter sends what is left); the calls it made."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            self.proc.wait(timeout=60)
            return json.loads(line)["calls"] if line else 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.sink.__exit__()


def worker_env() -> dict[str, str]:
    """This environment without anything that would configure a peer behind the benchmark's back."""
    mine = ("OTEL_", "AGENTWATCH_", "LANGFUSE_", "TRACELOOP_", "OPENLIT_", "PHOENIX_", "PYTHON", "VIRTUAL_ENV")
    env = {key: value for key, value in os.environ.items() if not key.startswith(mine)}
    env["TRACELOOP_TELEMETRY"] = "false"  # Traceloop's usage telemetry would try the internet
    return env


def start(
    label: str, python: Path, peer: str, workload: str, llm_url: str, marker: str, root: Path, log: IO, version: str
) -> Worker:
    sink = Sink().__enter__()
    proc = subprocess.Popen(
        [
            str(python),
            str(WORKER),
            "--peer",
            peer,
            "--workload",
            workload,
            "--sink",
            sink.url,
            "--llm",
            llm_url,
            "--marker",
            marker,
            "--workdir",
            str(root),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=worker_env(),
    )
    return Worker(label, proc, sink, version)


def interleave(workers: list[Worker], calls: int, rounds: int, warmup: int = 2) -> None:
    """Warm each up, then ``rounds`` rounds of one block per worker, the order rotating round by round."""
    for worker in workers:
        for _ in range(warmup):
            worker.run(calls)
    for r in range(rounds):
        shift = r % len(workers)
        for worker in workers[shift:] + workers[:shift]:
            block = worker.run(calls)
            worker.samples.append(block["us"])
            worker.cpu.append(block["cpu_us"])


@dataclass
class Row:
    label: str
    version: str
    per_call_us: float
    added_us: float
    cpu_us: float
    added_cpu_us: float
    spans_per_call: float
    content: bool
    cpu: list[float]  # CPU µs per call, round by round (the rounds the ordering's sign tests pair)


def sign_test(a: list[float], b: list[float]) -> tuple[int, int, float]:
    """Rounds where ``a`` cost less than ``b``, the rounds that differ, and the two-sided sign test's p-value: how
    likely so lopsided a count would be if neither were cheaper. Paired by round, so a slow minute of the machine
    weighs on both sides alike."""
    wins = sum(x < y for x, y in zip(a, b, strict=True))
    n = sum(x != y for x, y in zip(a, b, strict=True))
    tail = min(wins, n - wins)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(tail + 1)) / 2**n) if n else 1.0
    return wins, n, p


SIGNIFICANT = 0.01  # below this the sign test calls a pair ordered; above it, a tie


def ordering(rows: list[Row]) -> str:
    """The rows from cheapest to dearest by median CPU per call, ``<`` between neighbours the sign test orders and
    ``≈`` between those it cannot tell apart (two runs agree when no pair is ordered one way in one and the other way
    in the other)."""
    ranked = sorted(rows, key=lambda row: row.cpu_us)
    text = ranked[0].label
    for cheaper, dearer in itertools.pairwise(ranked):
        _, _, p = sign_test(cheaper.cpu, dearer.cpu)
        text += f" {'<' if p < SIGNIFICANT else '≈'} {dearer.label}"
    return text


ORDERING_LINE = re.compile(r"^ordering \(.*?\): (.*)$", re.MULTILINE)


def tiers(line: str) -> dict[str, int]:
    """Each label of an ordering line with the number of ``<`` before it: two labels are ordered when theirs differ."""
    tier, ranks = 0, {}
    for token in re.split(r" ([<≈]) ", line.strip()):
        if token == "<":
            tier += 1
        elif token != "≈":
            ranks[token] = tier
    return ranks


def reversals(first: str, second: str) -> list[str]:
    """The pairs one run orders one way and the other run the other way (what "the same ordering" rules out)."""
    a, b = tiers(first), tiers(second)
    both = [label for label in a if label in b]
    return [
        f"{x} < {y} in the first run, {y} < {x} in the second"
        for x, y in itertools.permutations(both, 2)
        if a[x] < a[y] and b[y] < b[x]
    ]


def compare(first: Path, second: Path) -> int:
    """Print, for each table both logs hold, whether the second run kept the first one's ordering; 1 if not."""
    lines = [ORDERING_LINE.findall(path.read_text(encoding="utf-8")) for path in (first, second)]
    if not lines[0] or len(lines[0]) != len(lines[1]):
        print(f"the logs hold {len(lines[0])} and {len(lines[1])} ordering lines: nothing to compare")
        return 1
    failed = 0
    for one, two in zip(*lines, strict=True):
        found = reversals(one, two)
        print(f"{one}\n{two}\n  -> {'; '.join(found) if found else 'same ordering: no pair reverses'}\n")
        failed |= bool(found)
    return failed


def measure(
    peers: list[tuple[str, str, str, str]],
    workload: str,
    pythons: dict[str, Path],
    root: Path,
    llm_url: str,
    calls: int,
    rounds: int,
) -> list[Row]:
    marker = f"awmark{uuid.uuid4().hex[:12]}"
    with (root / f"workers-{workload}.log").open("w") as log:
        known = {
            env: versions(pythons[env], [pkg for _, e, _, pkg in peers if e == env]) for env in {p[1] for p in peers}
        }
        workers = [
            start(label, pythons[env], peer, workload, llm_url, marker, root, log, known[env].get(package, "?"))
            for label, env, peer, package in peers
        ]
        try:
            interleave(workers, calls, rounds)
        finally:
            made = {worker.label: worker.quit() for worker in workers}
    baseline, baseline_cpu = workers[0].samples, workers[0].cpu
    rows = []
    for worker in workers:
        got: Received = worker.sink.received(marker.encode())
        rows.append(
            Row(
                worker.label,
                worker.version,
                statistics.median(worker.samples),
                statistics.median(s - b for s, b in zip(worker.samples, baseline, strict=True)),
                statistics.median(worker.cpu),
                statistics.median(s - b for s, b in zip(worker.cpu, baseline_cpu, strict=True)),
                got.spans / made[worker.label] if made[worker.label] else 0.0,
                got.marker_seen,
                worker.cpu,
            )
        )
    return rows


def print_rows(title: str, rows: list[Row], ours: tuple[str, ...], note: str) -> None:
    """One row per peer. Against each peer, the agentwatch row that records as much (content kept or not, as read
    back from the sinks): the ratios of the added wall time and added CPU, and in how many rounds agentwatch's
    CPU per call was the lower, with the sign test's verdict."""
    print(f"\n{title}\n{note}")
    head = (
        f"{'':<28}{'version':>9}{'µs/call':>9}{'added':>8}{'CPU µs':>8}{'added':>8}{'spans':>7}{'content':>9}"
        f"{'aw÷peer':>9}{'CPU':>7}  {'aw cheaper':<22}"
    )
    print(head)
    print("-" * len(head))
    mine = {row.content: row for row in rows if row.label in ours}
    for row in rows:
        ratios = ""
        match = mine.get(row.content)
        if match is not None and row.label not in ours and row is not rows[0] and row.added_us > 0:
            wins, n, p = sign_test(match.cpu, row.cpu)
            verdict = "tie" if p >= SIGNIFICANT else "ahead" if wins > n - wins else "BEHIND"
            ratios = (
                f"{match.added_us / row.added_us:8.2f}×{match.added_cpu_us / row.added_cpu_us:6.2f}×"
                f"  {wins:>2}/{n} rounds, {verdict}"
            )
        print(
            f"{row.label:<28}{row.version:>9}{row.per_call_us:>9.1f}{row.added_us:>8.1f}{row.cpu_us:>8.1f}"
            f"{row.added_cpu_us:>8.1f}{row.spans_per_call:>7.2f}{'yes' if row.content else 'no':>9}{ratios}"
        )
    print(f"ordering (CPU per call, sign test p < {SIGNIFICANT} for '<'): {ordering(rows)}")


def instrumentation(pythons: dict[str, Path], root: Path, args: argparse.Namespace) -> None:
    with LLMServer(lambda prompt, body: Reply(text="Refunds take five business days.")) as llm:
        began = time.perf_counter()
        llm_rows = measure(LLM_PEERS, "llm", pythons, root, llm.base_url, args.llm_calls, args.llm_rounds)
        llm_s = time.perf_counter() - began
    began = time.perf_counter()
    tool_rows = measure(TOOL_PEERS, "tool", pythons, root, "", args.tool_calls, args.tool_rounds)
    tool_s = time.perf_counter() - began
    print_rows(
        "OpenAI chat call against the local server (agentwatch ÷ peer: the added cost, agentwatch keeping as much content)",
        llm_rows,
        ("agentwatch", "agentwatch, content off"),
        f"{args.llm_rounds} interleaved rounds of {args.llm_calls} calls per peer, {llm_s:.0f} s; "
        "'added' = median over rounds of (peer − uninstrumented, same round); CPU: the peer's whole process",
    )
    print_rows(
        "Decorated tool call, inside the peer's agent scope (agentwatch ÷ peer: the added cost)",
        tool_rows,
        ("agentwatch @tool",),
        f"{args.tool_rounds} interleaved rounds of {args.tool_calls} calls per peer, {tool_s:.0f} s; "
        "'added' over the plain function",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("instrumentation", "ingest"))
    parser.add_argument("--venvs", type=Path, default=default_root(), help="where the peers' venvs live")
    parser.add_argument("--fresh", action="store_true", help="remake every venv")
    parser.add_argument("--llm-calls", type=int, default=50)
    parser.add_argument("--llm-rounds", type=int, default=100)
    parser.add_argument("--tool-calls", type=int, default=500)
    parser.add_argument("--tool-rounds", type=int, default=40)
    parser.add_argument(
        "--ingest-spans", type=int, default=10_000, help="the load (Phoenix takes ~50 spans/s of it here: 200 s)"
    )
    parser.add_argument("--request-spans", type=int, default=500, help="spans per OTLP request")
    parser.add_argument(
        "--prompt-bytes", type=int, default=1200, help="prompt text on each LLM span (FIELD-NOTES' weight)"
    )
    parser.add_argument("--senders", type=int, default=4, help="threads sending the load")
    parser.add_argument("--query-repeats", type=int, default=11)
    parser.add_argument("--starts", type=int, default=3, help="starts of each server; the table has the median")
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar="LOG", help="check two runs' printed orderings agree; runs nothing"
    )
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    began = time.perf_counter()
    wanted = [name for name in ENVS if name != "phoenix"] if args.only != "ingest" else []
    if args.only != "instrumentation":
        wanted.append("phoenix")
    print(f"peer venvs under {args.venvs}")
    pythons = prepare(wanted, args.venvs, fresh=args.fresh)
    if args.only != "ingest":
        instrumentation(pythons, args.venvs, args)
    if args.only != "instrumentation":
        from _peer_ingest import ingest

        ingest(pythons["phoenix"], args.venvs, args)
    print(f"\nall done in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
