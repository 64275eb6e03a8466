"""The agent-side install stays light, and the wheel ships the SQL and dashboards."""

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_importing_agentwatch_does_not_pull_server_dependencies():
    code = (
        "import sys, agentwatch, agentwatch.config, agentwatch.errors; "
        "heavy = [m for m in ('clickhouse_connect', 'chdb', 'pandas', 'openai', 'pyarrow') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_missing_extra_names_the_extra():
    from agentwatch.errors import MissingExtraError

    err = MissingExtraError("chdb", "server", "The embedded store")
    assert "pip install 'agentwatch[server]'" in str(err)
    assert isinstance(err, ImportError)


def test_package_namespace_maps_the_top_level_folders():
    import importlib

    for folder in COMPONENTS:
        module = importlib.import_module(f"agentwatch.{folder}")
        assert Path(module.__file__).resolve().parent == ROOT / folder


# The tree reads as the data flows: each component in a folder of its own, mapped into the agentwatch namespace.
COMPONENTS = (
    "instrumentation",
    "collector",
    "evaluators",
    "detectors",
    "alerts",
    "dashboards",
    "query",
    "sql",
    "demo",
    "testing",
)
# What the core folder holds: the ground floor (settings, store, migrations, errors, the CLI and serve that host the
# components) and nothing of a component's own.
GROUND_FLOOR = {
    "__init__",
    "__main__",
    "_version",
    "auto",
    "cli",
    "config",
    "control_file",
    "dsn",
    "errors",
    "store",
    "migrate",
    "sqlfiles",
    "redaction",
    "auth",
    "inflate",
    "listen",
    "output",
    "serve",
    "control",
    "operations",
    "llm_server",  # a re-export of agentwatch.testing, so code importing the old name keeps working
}


def test_the_core_holds_the_ground_floor_only():
    modules = {p.stem for p in (ROOT / "agentwatch").glob("*.py")}
    assert modules == GROUND_FLOOR
    assert not [p for p in (ROOT / "agentwatch").iterdir() if p.is_dir() and p.name != "__pycache__"]
    import agentwatch.llm_server
    import agentwatch.testing

    assert agentwatch.llm_server.LLMServer is agentwatch.testing.LLMServer


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built once from a copy of the source tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", ".venv", "venv")
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
        ],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    return next((tmp / "dist").glob("agentwatch-*.whl"))


@pytest.mark.slow
def test_wheel_contains_sql_and_dashboards(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_sql = {f"agentwatch/sql/{p.relative_to(ROOT / 'sql')}" for p in (ROOT / "sql").rglob("*.sql")}
    assert shipped_sql and shipped_sql <= names, sorted(shipped_sql - names)
    shipped_dash = {
        f"agentwatch/dashboards/{p.relative_to(ROOT / 'dashboards')}"
        for p in (ROOT / "dashboards").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "agentwatch/dashboards/__init__.py" in names
    assert shipped_dash <= names, sorted(shipped_dash - names)
    folders = {"agentwatch": "agentwatch", **{f: f"agentwatch/{f}" for f in COMPONENTS if f != "sql"}}
    modules = {  # every Python module of every package, subpackages included (agentwatch.demo, agentwatch.query …)
        f"{target}/{p.relative_to(ROOT / folder)}"
        for folder, target in folders.items()
        for p in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules <= names, sorted(modules - names)
    assert "agentwatch/evaluators/grounding_model.json" in names  # the offline judge's weights
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "agentwatch = agentwatch.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_every_public_function_of_a_plain_install_leaves_the_server_side_unloaded():
    """The inline answer gate runs the judge; it must not drag in the store, the worker or their dependencies."""
    code = textwrap.dedent("""
        import sys
        import agentwatch
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        agentwatch.instrument(span_processor=SimpleSpanProcessor(exporter))

        @agentwatch.tool
        def search(q: str) -> dict:
            return {"hits": [{"title": "Refunds take 5 days"}]}

        @agentwatch.tool(irreversible=True)
        def refund(order: str) -> str:
            return "ok"

        @agentwatch.agent(name="support", goal="answer refund questions", guards=agentwatch.Guards(max_repeats=3))
        def support(q: str) -> str:
            with agentwatch.step(intent="look up"):
                found = search(q)
            agentwatch.sources([found])
            agentwatch.approve("refund")
            refund("A-1")
            return agentwatch.check_answer(q, "Refunds take 5 days.", [found], fallback="I am not sure.")

        with agentwatch.session("s-1"):
            print(support("how long do refunds take?"))
        agentwatch.shutdown()
        assert exporter.get_finished_spans()
        server = sorted(m for m in sys.modules if m.startswith(("agentwatch.store", "agentwatch.evaluators.worker",
            "agentwatch.evaluators.openai_judge", "agentwatch.collector", "agentwatch.alerts", "agentwatch.migrate",
            "agentwatch.query", "clickhouse_connect", "chdb", "pandas", "pyarrow", "yaml",
            # LLM SDKs are patched when the application imports them, never imported by instrumenting
            "openai", "anthropic", "litellm")))
        print(",".join(server))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    answer, loaded = out.stdout.splitlines()
    assert answer == "Refunds take 5 days."
    assert loaded == ""


SNIPPET = """
import agentwatch


@agentwatch.tool
def search(query: str, limit: int = 3) -> dict[str, int]:
    return {"hits": limit}


@agentwatch.tool(name="lookup", irreversible=False)
async def lookup(order_id: str) -> list[str]:
    return [order_id]


@agentwatch.agent(name="support")
def support(question: str) -> str:
    with agentwatch.step(intent="look up"):
        return str(search(question))


reveal_type(search)
reveal_type(lookup)
reveal_type(support)
search(3)
"""


@pytest.mark.slow
def test_a_type_checker_keeps_a_decorated_functions_signature(wheel, tmp_path):
    """The wheel is typed (py.typed): mypy, seeing agentwatch installed as a user would have it, keeps what the
    decorators wrap as it was, and so still catches a wrong argument."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "agentwatch" / "py.typed").exists()
    (tmp_path / "snippet.py").write_text(SNIPPET)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--python-executable",
            str(venv / "bin" / "python"),
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--no-error-summary",
            "snippet.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.splitlines()
    revealed = [
        line.split("Revealed type is ", 1)[1].replace("builtins.", "") for line in lines if "Revealed type is" in line
    ]
    assert revealed == [
        '"def (query: str, limit: int =) -> dict[str, int]"',
        '"def (order_id: str) -> typing.Coroutine[Any, Any, list[str]]"',
        '"def (question: str) -> str"',
    ], done.stdout
    errors = [line for line in lines if ": error:" in line]
    # the one error is the wrong argument; a `with step(...)` block that returns is not "missing a return"
    assert len(errors) == 1 and 'Argument 1 to "search" has incompatible type "int"' in errors[0], lines
    assert not any("py.typed" in line or "missing library stubs" in line for line in lines), lines


def test_the_server_side_does_not_load_the_opentelemetry_sdk():
    """Issue 35: agentwatch/__init__ loaded the OpenTelemetry SDK for every server-side import (the store, the
    collector, the detectors). The SDK loads when instrument() runs."""
    code = (
        "import sys, agentwatch.store, agentwatch.collector, agentwatch.detectors, agentwatch.evaluators; "
        "print(','.join(m for m in sys.modules if m.startswith('opentelemetry.sdk')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
