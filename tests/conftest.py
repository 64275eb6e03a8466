"""Shared fixtures. chDB hosts one embedded engine per process, so the whole test session shares one store
path and each test that needs a store gets a fresh database in it."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

# agentwatch's failures inside the instrumentation are raised in its own tests (swallowed, as in production, where
# a test says so): set before agentwatch is imported, which reads it once
RAISE = {"AGENTWATCH_RAISE_INSTRUMENTATION_ERRORS": "true"}
os.environ.update(RAISE)

from agentwatch.listen import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's agentwatch/OTel environment or touch their default store."""
    for var in list(os.environ):
        if var.startswith(("AGENTWATCH_", "OTEL_")) and var not in RAISE:
            monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    import agentwatch.config as config

    monkeypatch.setattr(config, "_current", None)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def engine_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine") / "store"


@pytest.fixture
def store_config(engine_path: Path):
    from agentwatch.config import configure

    return configure(store=f"chdb://{engine_path}", database=f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(store_config):
    """A migrated store in a database of its own."""
    from agentwatch.migrate import Migrator
    from agentwatch.store import open_store

    handle = open_store(store_config, create=True)
    Migrator(handle, store_config).apply()
    yield handle
    handle.command(f"DROP DATABASE IF EXISTS `{handle.database}`")
    handle.close()


def agentwatch_env(home: Path) -> dict[str, str]:
    """The environment of an agentwatch process a test starts: none of the developer's agentwatch or OTel
    settings, a store and a spool of its own under ``home``, this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWATCH_", "OTEL_"))}
    env.update(RAISE)
    env.update(AGENTWATCH_STORE=f"chdb://{home / 'store'}", AGENTWATCH_SPOOL_DIR=str(home / "spool"))
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the agentwatch CLI in a subprocess against a store of its own."""
    return agentwatch_env(tmp_path)


PYTHON = sys.executable


@pytest.fixture
def spans():
    """agentwatch instrumented into a fresh provider whose spans land in memory; undone afterwards."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import agentwatch

    exporter = InMemorySpanExporter()
    agentwatch.instrument(tracer_provider=TracerProvider(), span_processor=SimpleSpanProcessor(exporter))
    yield exporter
    agentwatch.shutdown()


def by_name(exporter, name):
    found = [s for s in exporter.get_finished_spans() if s.name == name]
    assert found, f"no span {name!r} in {[s.name for s in exporter.get_finished_spans()]}"
    return found


@pytest.fixture
def llm(request):
    """A small OpenAI/Anthropic-compatible server on a free port answering with the test module's
    ``scripted(path, body)``; stopped after the test."""
    from agentwatch.testing import LLMServer

    with LLMServer(request.module.scripted) as server:
        yield server
