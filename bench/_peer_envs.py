"""The peers' environments: one venv each, pinned, made on first use and reused while the pins are unchanged.

Every instrumentation venv shares one ``openai`` client and one OpenTelemetry SDK (``CONSTRAINTS``), so that an
uninstrumented call costs the same in each and only the instrumentation differs. ``openai`` is the newest 2.x:
OpenLIT 1.45 refuses 3.x. The SDK is 1.45.1 with contrib 0.66b1, the newest pair Traceloop's SDK resolves with here.
agentwatch's venv takes the checkout being measured, reinstalled on every run.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONSTRAINTS = """\
openai==2.54.0
opentelemetry-api==1.45.1
opentelemetry-sdk==1.45.1
opentelemetry-proto==1.45.1
opentelemetry-exporter-otlp==1.45.1
opentelemetry-exporter-otlp-proto-http==1.45.1
opentelemetry-exporter-otlp-proto-grpc==1.45.1
opentelemetry-exporter-otlp-proto-common==1.45.1
opentelemetry-instrumentation==0.66b1
opentelemetry-semantic-conventions==0.66b1
opentelemetry-util-http==0.66b1
opentelemetry-instrumentation-logging==0.66b1
opentelemetry-instrumentation-redis==0.66b1
opentelemetry-instrumentation-requests==0.66b1
opentelemetry-instrumentation-threading==0.66b1
opentelemetry-instrumentation-urllib3==0.66b1
opentelemetry-instrumentation-httpx==0.66b1
"""

_SDK = ["openai", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"]


@dataclass(frozen=True)
class Env:
    name: str
    requirements: tuple[str, ...]
    constrained: bool = True  # the shared client and SDK pins apply (not to Phoenix, a server with its own)
    checkout: bool = False  # also install this repository (agentwatch, agent side only)

    def key(self) -> str:
        text = "\n".join([*self.requirements, CONSTRAINTS if self.constrained else "", sys.version])
        return hashlib.sha256(text.encode()).hexdigest()[:12]


ENVS: dict[str, Env] = {
    env.name: env
    for env in (
        Env("plain", tuple(_SDK)),
        Env("agentwatch", tuple(_SDK), checkout=True),
        # 2.4b0 imports util-genai's ``instruments`` module, which 1.2b0 made private: the newest that has it
        Env(
            "otel-openai-v2",
            (*_SDK, "opentelemetry-instrumentation-openai-v2==2.4b0", "opentelemetry-util-genai==1.1b0"),
        ),
        Env(
            "openinference",
            (*_SDK, "openinference-instrumentation-openai==0.1.66", "openinference-instrumentation==0.1.72"),
        ),
        Env("openllmetry", (*_SDK, "opentelemetry-instrumentation-openai==0.62.4", "traceloop-sdk==0.62.4")),
        Env("openlit", (*_SDK, "openlit==1.45.0")),
        Env("langfuse", (*_SDK, "langfuse==5.2.0")),
        Env("phoenix", ("arize-phoenix==20.26.1",), constrained=False),
    )
}


def default_root() -> Path:
    return Path(tempfile.gettempdir()) / "agentwatch-peers"


def python(root: Path, env: Env) -> Path:
    return root / f"{env.name}-{env.key()}" / "bin" / "python"


def _pip(py: Path, *args: str, log: Path) -> None:
    with log.open("a") as out:
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wheel(root: Path) -> Path:
    """This checkout as a wheel, built by the running interpreter (which has the build tools)."""
    out = root / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    leftovers = [REPO / "build", REPO / "agentwatch.egg-info"]
    existed = [p.exists() for p in leftovers]
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(out),
                str(REPO),
            ],
            check=True,
            capture_output=True,
        )
    finally:  # setuptools builds in the checkout: leave it as it was
        for path, was in zip(leftovers, existed, strict=True):
            if not was:
                shutil.rmtree(path, ignore_errors=True)
    return next(out.glob("agentwatch-*.whl"))


def _make(root: Path, env: Env, wheel: Path | None) -> tuple[str, float]:
    """The env's venv, made if missing; returns (what was done, seconds)."""
    began = time.perf_counter()
    folder = python(root, env).parent.parent
    log = root / f"{env.name}.log"
    done = "reused"
    if not python(root, env).exists():
        shutil.rmtree(folder, ignore_errors=True)
        for stale in root.glob(f"{env.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        constraints = root / "constraints.txt"
        extra = ["-c", str(constraints)] if env.constrained else []
        try:
            # the checkout after the pins, on its own: pip's resolver gives up on some framework's pins and the
            # checkout's ranges together, though the pins satisfy those ranges
            _pip(python(root, env), *extra, *env.requirements, log=log)
            if wheel:
                _pip(python(root, env), *extra, str(wheel), log=log)
        except subprocess.CalledProcessError:
            shutil.rmtree(folder, ignore_errors=True)
            raise SystemExit(f"could not install {env.name}'s pins; pip's output is in {log}") from None
        done = "made"
    elif wheel:  # the code being measured, whatever the venv's age
        _pip(python(root, env), "--no-deps", "--force-reinstall", str(wheel), log=log)
    return done, time.perf_counter() - began


def prepare(names: list[str | Env], root: Path, *, fresh: bool = False) -> dict[str, Path]:
    """Each env's interpreter (by name in :data:`ENVS`, or given), made three at a time (pip waits on the index and
    the disk as much as on a core), the slowest first: Phoenix's alone takes about as long as the six others
    together."""
    if fresh:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / "constraints.txt").write_text(CONSTRAINTS)
    chosen = [ENVS[name] if isinstance(name, str) else name for name in names]
    envs = sorted(chosen, key=lambda env: env.constrained)
    wheel = _wheel(root) if any(env.checkout for env in envs) else None
    with ThreadPoolExecutor(3) as pool:
        made = pool.map(lambda e: _make(root, e, wheel if e.checkout else None), envs)
        for env, (done, seconds) in zip(envs, made, strict=True):
            print(f"  venv {env.name:<15} {done} in {seconds:5.1f} s", flush=True)
    return {env.name: python(root, env) for env in envs}


def versions(py: Path, packages: list[str]) -> dict[str, str]:
    """Installed versions, as the env's own pip metadata says."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    import json

    return json.loads(subprocess.run([str(py), "-c", code, *packages], check=True, capture_output=True).stdout)
