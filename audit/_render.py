"""The audit for people: an aligned table for the terminal, Markdown for a pull request, and one self-contained HTML
file (inline styles, no scripts, no external assets) that can be sent to someone."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from agentwatch.audit import QUESTIONS, Audit, label
from agentwatch.output import json_text, printable, render_rows, to_jsonable

__all__ = ["render", "render_html", "render_markdown", "render_table"]

_COLOURS = {"ready": "#1a7f37", "at_risk": "#9a6700", "not_ready": "#cf222e", "unknown": "#57606a"}


def _window(audit: Audit) -> str:
    return f"{audit.start:%Y-%m-%d %H:%M} → {audit.end:%Y-%m-%d %H:%M} UTC"


def _fleet_line(audit: Audit) -> str:
    counts = audit.counts()
    return (
        f"Fleet: {label(audit.overall)} — {counts['ready']} ready, {counts['at_risk']} at risk, "
        f"{counts['not_ready']} not ready, of {len(audit.agents)} agent(s)."
    )


def _fleet_step(audit: Audit) -> str:
    step = audit.fleet_next_step()
    if step is None:
        return "Every question is answered: ready."
    question, agents, text = step
    return f"Next step for the fleet (question {question.number}, {', '.join(agents)}): {text}"


def _evidence(value: Any) -> str:
    value = to_jsonable(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def render_table(audit: Audit, *, detail: bool = True) -> str:
    if not audit.agents:
        return f"No agent seen in {_window(audit)}: nothing to audit."
    columns = ["agent", "overall", *(f"{q.number} {q.key}" for q in QUESTIONS)]
    rows = [[a.agent, label(a.overall), *(label(answer.verdict) for answer in a.answers)] for a in audit.agents]
    lines = [
        f"agentwatch audit: {len(audit.agents)} agent(s), {_window(audit)}",
        "",
        *[f"  {q.number}. {q.text}" for q in QUESTIONS],
        "",
        render_rows(columns, rows).rsplit("\n", 1)[0],  # without the "(n rows)" footer
        "",
        _fleet_line(audit),
        printable(_fleet_step(audit)),
    ]
    if detail:
        for agent in audit.agents:
            lines += ["", f"{printable(agent.agent)}: {label(agent.overall)}"]
            for answer in agent.answers:
                lines.append(
                    f"  {answer.question.number} {answer.question.key:<12} {label(answer.verdict):<10} "
                    f"{printable(answer.reason)}"
                )
            if agent.next_step is not None:
                lines.append(f"  next step: {printable(agent.next_step.next_step)}")
    return "\n".join(lines)


_MARKDOWN = re.compile(r"([\\`*_\[\]()!|<>~#])")


def _md(text: str) -> str:
    """Text from spans as Markdown *text*: one line (control characters spelled out, newlines as ⏎), every character
    that could start a link, an image, emphasis, a table cell, HTML or a heading escaped."""
    return _MARKDOWN.sub(r"\\\1", printable(text))


def render_markdown(audit: Audit) -> str:
    lines = [f"# agentwatch audit — {_window(audit)}", ""]
    if not audit.agents:
        return "\n".join([*lines, "No agent seen in the window: nothing to audit."])
    lines += [f"{n}. {q.text}" for n, q in enumerate(QUESTIONS, 1)]
    lines += ["", "| agent | overall | " + " | ".join(f"{q.number} {q.key}" for q in QUESTIONS) + " |"]
    lines.append("|---" * (len(QUESTIONS) + 2) + "|")
    for a in audit.agents:
        cells = [_md(a.agent), f"**{label(a.overall)}**", *(label(x.verdict) for x in a.answers)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", _fleet_line(audit), "", _md(_fleet_step(audit))]
    for a in audit.agents:
        lines += ["", f"## {_md(a.agent)}: {label(a.overall)}", "", "| question | verdict | why | next step |"]
        lines.append("|---|---|---|---|")
        for x in a.answers:
            lines.append(
                f"| {x.question.number}. {_md(x.question.text)} | {label(x.verdict)} | {_md(x.reason)} | "
                f"{_md(x.next_step)} |"
            )
    return "\n".join(lines)


_STYLE = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.muted { color: #57606a; } table { border-collapse: collapse; width: 100%; margin: .75rem 0; }
th, td { border: 1px solid #d0d7de; padding: .35rem .5rem; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
table.detail td:first-child { width: 22%; } table.detail td:nth-child(2) { width: 7%; }
table.detail td:last-child { width: 24%; }
th { background: #f6f8fa; } .verdict { display: inline-block; padding: .05rem .45rem; border-radius: 1rem;
color: #fff; font-size: .8rem; font-weight: 600; white-space: nowrap; }
.fleet { font-size: 1.05rem; margin: 1rem 0 .25rem; } dl { margin: .25rem 0 0; font-size: .8rem; color: #57606a; }
dt { display: inline; font-weight: 600; } dd { display: inline; margin: 0 .75rem 0 .25rem; }
ol { padding-left: 1.25rem; }
"""


def _badge(verdict: str) -> str:
    return f'<span class="verdict" style="background:{_COLOURS[verdict]}">{html.escape(label(verdict))}</span>'


def render_html(audit: Audit) -> str:
    """One page, everything inline: it reads the same in any browser, offline, sent as an attachment."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>agentwatch audit — {e(_window(audit))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>agentwatch audit: is each agent ready for production?</h1>",
        f'<p class="muted">{len(audit.agents)} agent(s), {e(_window(audit))}. An answer that is not known counts as '
        "not ready.</p>",
        "<ol>" + "".join(f"<li>{e(q.text)}</li>" for q in QUESTIONS) + "</ol>",
    ]
    if not audit.agents:
        parts.append("<p>No agent seen in the window: nothing to audit.</p></body></html>")
        return "\n".join(parts)
    parts.append(f'<p class="fleet">{_badge(audit.overall)} {e(_fleet_line(audit))}</p>')
    parts.append(f"<p>{e(_fleet_step(audit))}</p>")
    header = "".join(f'<th title="{e(q.text)}">{q.number}. {e(q.key)}</th>' for q in QUESTIONS)
    parts.append(f"<table><thead><tr><th>agent</th><th>overall</th>{header}</tr></thead><tbody>")
    for a in audit.agents:
        cells = "".join(f'<td title="{e(x.reason)}">{_badge(x.verdict)}</td>' for x in a.answers)
        parts.append(
            f'<tr><td><a href="#agent-{e(a.agent)}">{e(a.agent)}</a></td><td>{_badge(a.overall)}</td>{cells}</tr>'
        )
    parts.append("</tbody></table>")
    for a in audit.agents:
        parts.append(f'<h2 id="agent-{e(a.agent)}">{e(a.agent)} {_badge(a.overall)}</h2>')
        if a.next_step is not None:
            parts.append(f"<p><b>Next step:</b> {e(a.next_step.next_step)}</p>")
        parts.append(
            '<table class="detail"><thead><tr><th>question</th><th>verdict</th><th>why, and the evidence</th>'
            "<th>next step</th></tr></thead><tbody>"
        )
        for x in a.answers:
            evidence = "".join(f"<dt>{e(k)}</dt><dd>{e(_evidence(v))}</dd>" for k, v in x.evidence.items())
            parts.append(
                f"<tr><td>{x.question.number}. {e(x.question.text)}</td><td>{_badge(x.verdict)}</td>"
                f"<td>{e(x.reason)}<dl>{evidence}</dl></td><td>{e(x.next_step)}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append('<p class="muted">Made by <code>agentwatch audit --format html</code>.</p></body></html>')
    return "\n".join(parts)


def render(audit: Audit, fmt: str) -> str:
    if fmt == "json":
        return json_text(audit.to_json(), indent=2)
    if fmt == "markdown":
        return render_markdown(audit)
    if fmt == "html":
        return render_html(audit)
    return render_table(audit)
