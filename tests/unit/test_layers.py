"""The layers, pinned (issue 35): the ground floor imports nothing above it, the agent side reaches the server side
only through the judging modules, and those import nothing but each other and the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]

# settings, store, errors, SQL files, redaction and the small pieces they stand on
GROUND = {
    "agentwatch._version",
    "agentwatch.auth",
    "agentwatch.config",
    "agentwatch.control_file",
    "agentwatch.dsn",
    "agentwatch.errors",
    "agentwatch.inflate",
    "agentwatch.listen",
    "agentwatch.migrate",
    "agentwatch.output",
    "agentwatch.redaction",
    "agentwatch.sqlfiles",
    "agentwatch.store",
}
# the offline judge: the agent's answer gate and the server's evaluator both run it
JUDGING = {
    "agentwatch.evaluators",
    "agentwatch.evaluators._evidence_text",
    "agentwatch.evaluators._grounding_model",
    "agentwatch.evaluators._model",
    "agentwatch.evaluators._text",
    "agentwatch.evaluators.heuristic",
}
AGENT_SIDE_MAY_USE = {"agentwatch._version", "agentwatch.config", "agentwatch.dsn", "agentwatch.errors"}
AGENT_SIDE_MAY_USE |= {"agentwatch.redaction", *JUDGING}


def _path(module: str) -> Path:
    package, _, rest = module.rpartition(".")
    if module in PACKAGES:
        return ROOT / PACKAGES[module] / "__init__.py"
    return ROOT / PACKAGES[package] / f"{rest}.py"


def _imports(module: str) -> set[str]:
    """Every agentwatch module ``module`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(_path(module).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("agentwatch")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agentwatch"):
            for alias in node.names:  # from agentwatch.x import y: y may be a module of its own
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if _exists(candidate) else node.module)
    return found


def _exists(module: str) -> bool:
    try:
        return _path(module).is_file()
    except KeyError:
        return False


def _modules(package: str) -> list[str]:
    folder = ROOT / PACKAGES[package]
    return [package] + [f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"]


def test_the_ground_floor_imports_nothing_above_it():
    upward = {m: sorted(_imports(m) - GROUND) for m in GROUND}
    assert not {m: up for m, up in upward.items() if up}, upward


def test_the_agent_side_reaches_the_server_side_only_through_the_judge():
    reached = {
        m: sorted(
            i for i in _imports(m) if not i.startswith("agentwatch.instrumentation") and i not in AGENT_SIDE_MAY_USE
        )
        for m in _modules("agentwatch.instrumentation")
    }
    assert not {m: r for m, r in reached.items() if r}, reached


def test_the_judge_imports_only_itself_and_the_standard_library():
    for module in JUDGING:
        top = set()
        for node in ast.walk(ast.parse(_path(module).read_text())):
            if isinstance(node, ast.Import):
                top |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                top.add(node.module.split(".")[0])
        third_party = {t for t in top if t not in sys.stdlib_module_names and t not in ("agentwatch", "__future__")}
        assert not third_party, (module, third_party)
        beyond = {i for i in _imports(module) if i not in JUDGING and not i.startswith("agentwatch.evaluators.")}
        lazy = {"agentwatch.evaluators.worker", "agentwatch.evaluators.openai_judge", "agentwatch.config"}
        assert beyond <= lazy, (module, beyond)


def test_what_an_llm_call_is_is_decided_once():
    """Issue 35: six SQL files said Operation = 'chat', the dashboards said chat, text_completion and
    generate_content. The schema decides it (agent_spans.Kind = 'llm'; agent_spans_in's Operation = 'chat', which
    also leaves out calls nested in another call's span); nothing outside sql/schema names the conventions' names."""
    readers = [p for p in (ROOT / "sql").rglob("*.sql") if p.parent.name != "schema"]
    readers += [ROOT / "dashboards" / "_build.py", *(ROOT / "detectors").glob("*.py"), *(ROOT / "audit").glob("*.py")]
    redecided = [
        str(p.relative_to(ROOT))
        for p in readers
        if any(name in p.read_text() for name in ("'text_completion'", "'generate_content'", "'embeddings'"))
    ]
    assert not redecided, redecided


def test_whose_a_span_is_is_decided_once():
    """Issue 35: secret_exposure took the session from 3 of the view's 5 sources and the agent from 1 of 4. The
    schema resolves identity (agent_spans_in: a span's run, its agent, its session); no reader names the
    conventions' identity attributes again."""
    readers = [p for p in (ROOT / "sql").rglob("*.sql") if p.parent.name != "schema"]
    readers += [
        ROOT / "dashboards" / "_build.py",
        *(ROOT / "detectors").glob("*.py"),
        *(ROOT / "evaluators").glob("*.py"),
    ]
    identity = ("'gen_ai.conversation.id'", "'session.id'", "'gen_ai.agent.name'", "'agent.name'", "'graph.node.id'")
    redecided = [str(p.relative_to(ROOT)) for p in readers if any(name in p.read_text() for name in identity)]
    assert not redecided, redecided


def test_no_package_reaches_into_another_packages_private_modules():
    """Issue 35 counted 8 imports of another package's private modules (the audit's renderer, the judge's model,
    the instrumentation's attributes, content and state). Each package's public names are its __init__'s."""
    reached = []
    for package in PACKAGES:
        for module in _modules(package):
            for imported in _imports(module):
                owner, _, name = imported.rpartition(".")
                if name.startswith("_") and owner != package and imported != "agentwatch._version":
                    reached.append(f"{module} -> {imported}")
    assert not reached, reached


def test_where_a_span_says_what_is_decided_once():
    """Issue 35: the evaluator's answer query and the investigation query each read a span's input, output and
    tool result from their own list of attributes (the investigation query from GenAI's alone, so a framework's
    answers showed no sources). The schema's functions decide it; no reader names the text attributes again."""
    readers = [p for p in (ROOT / "sql").rglob("*.sql") if p.parent.name != "schema"]
    readers += [
        *(ROOT / "evaluators").glob("*.py"),
        *(ROOT / "detectors").glob("*.py"),
        ROOT / "dashboards" / "_build.py",
    ]
    texts = ("'gen_ai.input.messages'", "'gen_ai.output.messages'", "'input.value'", "'output.value'",
             "'traceloop.entity.output'", "'gen_ai.tool.call.result'", "'final_result'")  # fmt: skip
    redecided = [str(p.relative_to(ROOT)) for p in readers if any(name in p.read_text() for name in texts)]
    assert not redecided, redecided


def test_the_alert_state_is_read_beside_the_alert_engine():
    """Issue 35: `agentwatch alerts list` queried alert_rule_runs and alerts itself. The alert engine reads its
    state (AlertEngine.rule_status, sql/alerts/); the entry points write no query of that state."""
    entry_points = [ROOT / "agentwatch" / f"{name}.py" for name in ("cli", "serve", "control", "operations")]
    tables = ("alert_rule_runs", "FROM alerts", "alert_silences")
    reading = [str(p.relative_to(ROOT)) for p in entry_points if any(t in p.read_text() for t in tables)]
    assert not reading, reading
