"""Agents as people write them without a framework: a tool-calling loop over the real SDK, nothing decorated.

Each loop runs one question to its final answer through a scripted model (:func:`responder`) that plays three
agents: a healthy one that looks an order up and answers from the result, one that answers with numbers the tool
result contradicts, and one stuck calling the same tool with the same arguments. The flavours cover the SDK
surfaces agents use: chat completions (sync, async, streamed, ``with_raw_response``), the Responses API and
Anthropic's Messages API (sync, streamed).
"""

from __future__ import annotations

import json
from typing import Any

from agentwatch.testing import Reply

ORDER = {"order_id": "1093", "status": "delayed", "carrier": "DHL", "eta_days": 2, "total": 42.5, "currency": "USD"}
QUESTIONS = {
    "healthy": "Where is my order 1093?",
    "wrong": "Where is order 1093 right now?",
    "loop": "Track order 1093 until it moves.",
}
ANSWERS = {
    "healthy": "Order 1093 is delayed: DHL expects to deliver it in 2 days. The total was 42.5 USD.",
    "wrong": "Order 1093 was delivered yesterday by FedEx to your front door; it cost 99 EUR.",
    "loop": "Order 1093 is still delayed with DHL.",
}
LOOP_CALLS = 25
SYSTEM = "You are the order support agent. Use lookup_order to answer."
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look an order up by its id.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
        },
    }
]
RESPONSES_TOOLS = [{"type": "function", **OPENAI_TOOLS[0]["function"]}]
ANTHROPIC_TOOLS = [
    {
        "name": "lookup_order",
        "description": "Look an order up by its id.",
        "input_schema": OPENAI_TOOLS[0]["function"]["parameters"],
    }
]


def lookup_order(order_id: str) -> dict[str, Any]:
    return dict(ORDER, order_id=order_id)


def scenario_of(text: str) -> str:
    for name, question in QUESTIONS.items():
        if question in text:
            return name
    return "healthy"


def _results(body: dict[str, Any]) -> int:
    """How many tool results the conversation holds so far, whatever the API."""
    seen = 0
    for item in body.get("messages") or body.get("input") or []:
        if not isinstance(item, dict):
            continue
        if item.get("role") == "tool" or item.get("type") == "function_call_output":
            seen += 1
        content = item.get("content")
        if isinstance(content, list):
            seen += sum(1 for block in content if isinstance(block, dict) and block.get("type") == "tool_result")
    return seen


def responder(path: str, body: dict[str, Any]) -> Reply:
    scenario = scenario_of(json.dumps(body.get("messages") or body.get("input")))
    results = _results(body)
    wanted = LOOP_CALLS if scenario == "loop" else 1
    if results < wanted:
        return Reply(tool_calls=[("lookup_order", {"order_id": "1093"})])
    return Reply(text=ANSWERS[scenario])


# -- the loops --------------------------------------------------------------------------------------
def chat_loop(client: Any, question: str, *, stream: bool = False, raw: bool = False, model: str = "gpt-4o-mini"):
    messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    while True:
        create = client.chat.completions.with_raw_response.create if raw else client.chat.completions.create
        response = create(model=model, messages=messages, tools=OPENAI_TOOLS, stream=stream)
        if raw:
            response = response.parse()
        text, calls = _collect_chat(response) if stream else _message_of(response)
        if not calls:
            return text
        _run_tools(messages, text, calls)


async def async_chat_loop(
    client: Any, question: str, *, stream: bool = False, raw: bool = False, model: str = "gpt-4o-mini"
):
    messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    while True:
        create = client.chat.completions.with_raw_response.create if raw else client.chat.completions.create
        response = await create(model=model, messages=messages, tools=OPENAI_TOOLS, stream=stream)
        if raw:
            response = response.parse()
        if stream:
            text, pieces = "", {}
            async for chunk in response:
                text, pieces = _absorb_chunk(chunk, text, pieces)
            calls = _calls_of(pieces)
        else:
            text, calls = _message_of(response)
        if not calls:
            return text
        _run_tools(messages, text, calls)


def _run_tools(messages: list[Any], text: str, calls: list[dict[str, Any]]) -> None:
    """What a loop does with a tool-calling turn: keep the assistant's message, run each call, send its result."""
    messages.append({"role": "assistant", "content": text or None, "tool_calls": calls})
    for call in calls:
        result = lookup_order(**json.loads(call["function"]["arguments"]))
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)})


def _message_of(response: Any) -> tuple[str, list[dict[str, Any]]]:
    message = response.choices[0].message
    calls = [
        {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
        for c in message.tool_calls or []
    ]
    return message.content or "", calls


def _absorb_chunk(chunk: Any, text: str, pieces: dict[int, dict[str, Any]]) -> tuple[str, dict]:
    for choice in chunk.choices:
        text += choice.delta.content or ""
        for piece in choice.delta.tool_calls or []:
            slot = pieces.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] = piece.id or slot["id"]
            if piece.function is not None:
                slot["name"] = piece.function.name or slot["name"]
                slot["arguments"] += piece.function.arguments or ""
    return text, pieces


def _calls_of(pieces: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": p["id"], "type": "function", "function": {"name": p["name"], "arguments": p["arguments"]}}
        for _, p in sorted(pieces.items())
    ]


def _collect_chat(stream: Any) -> tuple[str, list[dict[str, Any]]]:
    text, pieces = "", {}
    for chunk in stream:
        text, pieces = _absorb_chunk(chunk, text, pieces)
    return text, _calls_of(pieces)


def responses_loop(client: Any, question: str, *, model: str = "gpt-4o-mini") -> str:
    items: list[Any] = [{"role": "user", "content": question}]
    while True:
        response = client.responses.create(model=model, instructions=SYSTEM, input=items, tools=RESPONSES_TOOLS)
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            return response.output_text
        for call in calls:
            items.append(
                {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments}
            )
            result = lookup_order(**json.loads(call.arguments))
            items.append({"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(result)})


def anthropic_loop(
    client: Any, question: str, *, stream: bool = False, raw: bool = False, model: str = "claude-sonnet-4-5"
) -> str:
    messages: list[Any] = [{"role": "user", "content": question}]
    while True:
        if stream:
            with client.messages.stream(
                model=model, max_tokens=512, system=SYSTEM, messages=messages, tools=ANTHROPIC_TOOLS
            ) as s:
                message = s.get_final_message()
        else:
            create = client.messages.with_raw_response.create if raw else client.messages.create
            message = create(model=model, max_tokens=512, system=SYSTEM, messages=messages, tools=ANTHROPIC_TOOLS)
            if raw:
                message = message.parse()
        uses = [block for block in message.content if block.type == "tool_use"]
        if not uses:
            return "".join(block.text for block in message.content if block.type == "text")
        messages.append({"role": "assistant", "content": [block.model_dump() for block in message.content]})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": u.id, "content": json.dumps(lookup_order(**u.input))}
                    for u in uses
                ],
            }
        )
