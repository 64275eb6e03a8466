"""The peer benchmark's verdicts: the sign test that orders two peers, the ordering two runs are compared by."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_peers", BENCH / "peers.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("bench_peers", None)
        sys.path.remove(str(BENCH))


def row(peers, label: str, cpu: list[float]):
    return peers.Row(label, "1", 0.0, 0.0, sorted(cpu)[len(cpu) // 2], 0.0, 1.0, False, cpu)


def test_sign_test_is_the_exact_binomial(peers) -> None:
    # 30 of 40 rounds lower: P(X <= 10) * 2 for X ~ Bin(40, 1/2)
    wins, n, p = peers.sign_test([1.0] * 30 + [3.0] * 10, [2.0] * 40)
    assert (wins, n) == (30, 40)
    assert p == pytest.approx(2 * sum(math.comb(40, i) for i in range(11)) / 2**40)
    assert p < peers.SIGNIFICANT


def test_sign_test_even_split_and_equal_rounds(peers) -> None:
    assert peers.sign_test([1.0, 3.0] * 20, [2.0] * 40) == (20, 40, 1.0)
    # rounds that cost the same say nothing either way
    assert peers.sign_test([2.0] * 10, [2.0] * 10) == (0, 0, 1.0)
    assert peers.sign_test([1.0] * 8 + [2.0] * 2, [2.0] * 10)[:2] == (8, 8)


def test_ordering_marks_what_the_rounds_cannot_tell_apart(peers) -> None:
    cheap = row(peers, "cheap", [100.0 + i % 3 for i in range(40)])
    # as cheap as "cheap" on the median, but lower in only half the rounds: a tie
    twin = row(peers, "twin", [100.0 + (i + 1) % 3 for i in range(40)])
    dear = row(peers, "dear", [150.0 + i % 5 for i in range(40)])
    text = peers.ordering([dear, twin, cheap])
    assert text in ("cheap ≈ twin < dear", "twin ≈ cheap < dear")


def test_two_runs_agree_unless_a_pair_reverses(peers) -> None:
    first = "uninstrumented < agentwatch, content off < OTel openai-v2 ≈ agentwatch < Langfuse ≈ OpenInference"
    # ties may resolve either way and neighbours within a tie may swap: still the same ordering
    assert (
        peers.reversals(
            first, "uninstrumented < OTel openai-v2 ≈ agentwatch, content off ≈ agentwatch < OpenInference ≈ Langfuse"
        )
        == []
    )
    assert peers.reversals(
        first, "uninstrumented < agentwatch < agentwatch, content off < OTel openai-v2 < Langfuse < OpenInference"
    ) == ["agentwatch, content off < agentwatch in the first run, agentwatch < agentwatch, content off in the second"]


def test_compare_reads_the_ordering_lines_of_two_logs(peers, tmp_path, capsys) -> None:
    head = "ordering (CPU per call, sign test p < 0.01 for '<'): "
    one, two, three = (tmp_path / name for name in ("one.log", "two.log", "three.log"))
    one.write_text(f"table\n{head}a < b ≈ c\nmore\n{head}x < y\n", encoding="utf-8")
    two.write_text(f"{head}a < c ≈ b\n{head}x ≈ y\n", encoding="utf-8")
    three.write_text(f"{head}b < a ≈ c\n{head}x < y\n", encoding="utf-8")
    assert peers.compare(one, two) == 0
    assert peers.compare(one, three) == 1
    assert "a < b in the first run, b < a in the second" in capsys.readouterr().out
    empty = tmp_path / "empty.log"
    empty.write_text("no table\n", encoding="utf-8")
    assert peers.compare(one, empty) == 1
