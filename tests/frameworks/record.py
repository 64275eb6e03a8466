"""Record what each agent framework really emits, into the fixtures the framework tests replay.

    python tests/frameworks/record.py                 # every framework, every mode
    python tests/frameworks/record.py strands crewai  # some

Each framework runs in a venv of its own (pinned below, made on first use under the temp dir and reused while the
pins are unchanged; agentwatch is installed there from this checkout for the one-line modes), as the agent program
``agents/<framework>_agent.py``, against a local OpenAI-compatible model server that plays the three agents of
``tests/integration/plain_agents.py``: a healthy one, one answering with numbers the tool result contradicts, one
calling the same tool 25 times. Whatever the process exports over OTLP/HTTP is kept byte for byte, as the framework
(or agentwatch's exporter, in the one-line modes) wrote it, in ``tests/data/frameworks/<framework>.<mode>.json.gz``
with the versions that wrote it. Regenerate after changing a pin or the SDK side of agentwatch (the one-line
fixtures hold agentwatch's own spans too).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from _peer_envs import Env, prepare, versions  # noqa: E402
from _sink import Sink  # noqa: E402

from agentwatch.testing import LLMServer, Reply  # noqa: E402
from tests.integration import plain_agents  # noqa: E402

FIXTURES = REPO / "tests" / "data" / "frameworks"
_OTEL = ("opentelemetry-sdk==1.45.2", "opentelemetry-exporter-otlp-proto-http==1.45.2")


@dataclass(frozen=True)
class Framework:
    name: str
    requirements: tuple[str, ...]
    modes: tuple[str, ...]
    packages: tuple[str, ...]  # whose versions the fixture records
    env: dict[str, str] = field(default_factory=dict)
    final_answer_tool: bool = False  # the framework ends a run by calling a final_answer tool
    program: str = ""  # agents/<program>_agent.py; the name if empty


FRAMEWORKS = {
    fw.name: fw
    for fw in (
        Framework(
            "pydantic_ai",
            ("pydantic-ai-slim[openai]==2.78.0", *_OTEL),
            ("framework", "framework+oneline", "limited"),
            ("pydantic-ai-slim", "openai"),
        ),
        Framework(
            "langgraph",
            (
                "langgraph==1.2.24",
                "langchain-openai==1.8.1",
                "openinference-instrumentation-langchain==0.1.80",
                *_OTEL,
            ),
            ("framework", "framework+oneline"),
            ("langgraph", "langchain-core", "langchain-openai", "openinference-instrumentation-langchain", "openai"),
        ),
        Framework(
            "openai_agents",
            ("openai-agents==0.24.0", "openinference-instrumentation-openai-agents==2.6.0", *_OTEL),
            ("framework", "framework+oneline", "oneline", "limited"),
            ("openai-agents", "openinference-instrumentation-openai-agents", "openai"),
        ),
        Framework(
            "strands",
            ("strands-agents[openai,otel]==1.62.0", "opentelemetry-exporter-otlp-proto-http"),
            ("framework", "framework+oneline"),
            ("strands-agents", "openai"),
        ),
        Framework(  # the same, with the GenAI conventions' latest: content in operation.details events
            "strands_semconv",
            ("strands-agents[openai,otel]==1.62.0", "opentelemetry-exporter-otlp-proto-http"),
            ("framework",),
            ("strands-agents", "openai"),
            env={"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"},
            program="strands",
        ),
        Framework(
            "google_adk",
            ("google-adk==2.13.0", "litellm==1.110.2", "opentelemetry-exporter-otlp-proto-http"),
            ("framework", "framework+oneline"),
            ("google-adk", "litellm", "openai"),
            # content on, as ADK documents it (SPAN_ONLY is also what agentwatch's own processes then read)
            env={
                "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
            },
        ),
        Framework(
            "smolagents",
            ("smolagents[openai]==1.26.0", "openinference-instrumentation-smolagents==0.1.43", *_OTEL),
            ("framework", "framework+oneline"),
            ("smolagents", "openinference-instrumentation-smolagents", "openai"),
            final_answer_tool=True,
        ),
        Framework(
            "crewai",
            (
                "crewai==1.15.30",
                "openinference-instrumentation-crewai==1.1.21",
                "opentelemetry-exporter-otlp-proto-http",
            ),
            ("framework", "oneline"),
            ("crewai", "openinference-instrumentation-crewai", "litellm", "openai"),
            env={"CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "false", "CREWAI_TRACING_ENABLED": "false"},
        ),
    )
}


def responder(framework: Framework):
    """plain_agents' scripted model; a framework that ends runs with a ``final_answer`` tool gets its answer so."""

    def reply(path: str, body: dict[str, Any]) -> Reply:
        if not framework.final_answer_tool:
            return plain_agents.responder(path, body)
        # such a framework (smolagents) sends each tool result back as a user message "Observation: …"
        observed = sum(1 for m in body.get("messages", []) if m.get("role") == "user" and "Observation:" in str(m))
        name = plain_agents.scenario_of(json.dumps(body.get("messages")))
        if observed < (plain_agents.LOOP_CALLS if name == "loop" else 1):
            return Reply(tool_calls=[("lookup_order", {"order_id": "1093"})])
        return Reply(tool_calls=[("final_answer", {"answer": plain_agents.ANSWERS[name]})])

    return reply


def scenario() -> str:
    return json.dumps(
        {
            "order": plain_agents.ORDER,
            "questions": plain_agents.QUESTIONS,
            "system": plain_agents.SYSTEM,
            "loop_calls": plain_agents.LOOP_CALLS,
        }
    )


def record(framework: Framework, python: Path, mode: str, out: Path = FIXTURES) -> Path:
    program = HERE / "agents" / f"{framework.program or framework.name}_agent.py"
    with LLMServer(responder(framework)) as llm, Sink() as sink:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTWATCH_", "AW_"))},
            "AW_SCENARIO": scenario(),
            "AW_MODE": mode,
            "AW_LLM_BASE_URL": llm.base_url,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": llm.base_url,
            "OTEL_SERVICE_NAME": "orders-service",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "AGENTWATCH_ENDPOINT": sink.url,
            "PYTHONPATH": str(program.parent),
            **framework.env,
        }
        done = subprocess.run(
            [str(python), str(program)], env=env, capture_output=True, text=True, timeout=600, cwd=tempfile.gettempdir()
        )
        if done.returncode != 0:
            raise SystemExit(f"{framework.name} ({mode}) failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
        bodies = [(path, ctype, body) for path, ctype, body in sink.bodies() if path.endswith("/v1/traces")]
        answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        llm_calls = len(llm.requests)
    fixture = {
        "framework": framework.name,
        "mode": mode,
        "recorded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "versions": versions(python, [*framework.packages, "agentwatch", "opentelemetry-sdk"]),
        "program": str(program.relative_to(REPO)),
        "env": dict(framework.env),
        "llm_calls": llm_calls,
        "answers": answers,
        "requests": [{"content_type": ctype, "body": base64.b64encode(body).decode()} for _, ctype, body in bodies],
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{framework.name}.{mode}.json.gz"
    path.write_bytes(gzip.compress((json.dumps(fixture, indent=1) + "\n").encode(), mtime=0))
    return path


def venvs(chosen: list[Framework], root: Path, *, fresh: bool = False) -> dict[str, Path]:
    """Each framework's interpreter, its venv made (pins, then this checkout) if missing."""
    return prepare(
        [Env(fw.name, fw.requirements, constrained=False, checkout=True) for fw in chosen], root, fresh=fresh
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frameworks", nargs="*", choices=[[], *FRAMEWORKS], default=[])
    parser.add_argument("--modes", nargs="*", help="only these modes")
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "agentwatch-frameworks")
    parser.add_argument("--fresh", action="store_true", help="make the venvs anew")
    args = parser.parse_args()
    chosen = [FRAMEWORKS[name] for name in (args.frameworks or FRAMEWORKS)]
    pythons = venvs(chosen, args.root, fresh=args.fresh)
    for fw in chosen:
        for mode in fw.modes:
            if args.modes and mode not in args.modes:
                continue
            out = record(fw, pythons[fw.name], mode)
            fixture = json.loads(gzip.decompress(out.read_bytes()))
            print(
                f"  {fw.name:<14} {mode:<18} {len(fixture['requests']):3} exports, {fixture['llm_calls']:3} LLM calls"
                f" → {out.relative_to(REPO)}",
                flush=True,
            )


if __name__ == "__main__":
    main()
