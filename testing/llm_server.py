"""A small LLM API server with scripted replies, for tests, benchmarks and the demo.

It speaks enough of OpenAI's API for the real ``openai`` client: ``POST /v1/chat/completions`` (with tool calls and
SSE streaming, usage included when ``stream_options.include_usage`` is set), ``POST /v1/responses`` (streamed
too) and ``POST /v1/embeddings``; and enough of Anthropic's for the real ``anthropic`` client (``base_url`` =
:attr:`LLMServer.root_url`): ``POST /v1/messages``, with tool use, cache usage and the streamed event sequence. A
*responder* decides each reply; the default one answers deterministically. A reply can also be an HTTP error, with
``Retry-After``, or a delay (for timeouts).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LLMServer", "Reply", "default_responder", "estimate_tokens"]


@dataclass
class Reply:
    """What the server answers: ``text`` and/or ``tool_calls`` (name, arguments) from the assistant, or an error
    ``status`` with a message; ``delay`` seconds before answering."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    error: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    finish_reason: str | None = None
    raw_body: bytes | None = None  # send these bytes as they are (malformed replies)
    cache_read_tokens: int = 0  # prompt tokens read from the provider's cache (reported apart by Anthropic)
    cache_creation_tokens: int = 0


Responder = Callable[[str, dict[str, Any]], Reply]


def estimate_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    return max(1, (len(text) + 3) // 4)


def _prompt_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        parts = [body["system"]] if isinstance(body.get("system"), str) else []
        for message in body["messages"]:
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(str(c.get("text", "")) for c in content if isinstance(c, dict))
        return "\n".join(parts)
    raw = body.get("input", "")
    return raw if isinstance(raw, str) else json.dumps(raw)


def default_responder(path: str, body: dict[str, Any]) -> Reply:
    """Echo the last user message back, deterministically."""
    text = _prompt_text(body).splitlines()[-1:] or [""]
    return Reply(text=f"You said: {text[0][:200]}")


class LLMServer:
    """``with LLMServer() as llm: OpenAI(base_url=llm.base_url, api_key="test")``."""

    def __init__(self, responder: Responder = default_responder, host: str = "127.0.0.1", port: int = 0) -> None:
        self.responder = responder
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in separate writes: without TCP_NODELAY a kept-alive connection waits ~40 ms
            # for the client's delayed ACK on every reply
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
                    return
                path = self.path.split("?")[0].removeprefix("/v1")
                with server._lock:
                    server.requests.append((path, body))
                reply = server.responder(path, body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
                    error: dict[str, Any] = {
                        "message": reply.error or "error",
                        "type": "server_error",
                        "code": str(reply.status),
                    }
                    if path == "/messages":  # Anthropic's error shape
                        error = {"type": "error", "error": {"type": "api_error", "message": reply.error or "error"}}
                    else:
                        error = {"error": error}
                    self._json(reply.status, error, headers)
                    return
                if reply.raw_body is not None:
                    self._send(200, reply.raw_body, "application/json")
                elif path == "/chat/completions":
                    self._chat(body, reply)
                elif path == "/responses":
                    self._responses(body, reply)
                elif path == "/embeddings":
                    self._json(200, server._embeddings(body))
                elif path == "/messages":
                    message = server._message(body, reply)
                    if body.get("stream"):
                        self._stream([(e["type"], e) for e in server._message_events(message)], done=False)
                    else:
                        self._json(200, message)
                else:
                    self._json(404, {"error": {"message": f"unknown path {self.path}"}})

            def _send(self, status: int, payload: bytes, content_type: str, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def _json(self, status: int, data: Any, headers: dict | None = None) -> None:
                self._send(status, json.dumps(data).encode(), "application/json", headers)

            def _chat(self, body: dict[str, Any], reply: Reply) -> None:
                completion = server._completion(body, reply)
                if body.get("stream"):
                    self._stream([(None, chunk) for chunk in server._chunks(body, completion)], done=True)
                else:
                    self._json(200, completion)

            def _responses(self, body: dict[str, Any], reply: Reply) -> None:
                response = server._response(body, reply)
                if body.get("stream"):
                    self._stream([(event["type"], event) for event in server._response_events(response)], done=False)
                else:
                    self._json(200, response)

            def _stream(self, events: list[tuple[str | None, dict[str, Any]]], done: bool) -> None:
                """Server-sent events, chunked; chat streams end with ``[DONE]``, Responses streams just end."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                frames = [
                    (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n" for name, data in events
                ]
                if done:
                    frames.append("data: [DONE]\n\n")
                for frame in frames:
                    data = frame.encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                import sys

                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)  # a client closing a stream early is normal

        self._server = Server((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="llm-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def root_url(self) -> str:
        """The server's address without ``/v1``: the ``base_url`` of an ``anthropic`` client."""
        return self.base_url.removesuffix("/v1")

    def start(self) -> LLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- payloads ---------------------------------------------------------------------------------
    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}x{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for i, (name, args) in enumerate(reply.tool_calls)
            ]
        prompt_tokens = estimate_tokens(_prompt_text(body))
        completion_tokens = estimate_tokens(reply.text + json.dumps(reply.tool_calls))
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": f"{body.get('model', 'sim')}-sim",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _chunks(self, body: dict[str, Any], completion: dict[str, Any]) -> list[dict[str, Any]]:
        base = {
            "id": completion["id"],
            "object": "chat.completion.chunk",
            "created": completion["created"],
            "model": completion["model"],
        }
        message = completion["choices"][0]["message"]
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        ]
        text = message.get("content") or ""
        for start in range(0, len(text), 8):
            chunks.append(
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"content": text[start : start + 8]}, "finish_reason": None}],
                }
            )
        for index, call in enumerate(message.get("tool_calls") or []):
            arguments = call["function"]["arguments"]
            chunks.append(
                {
                    **base,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {
                                        "index": index,
                                        "id": call["id"],
                                        "type": "function",
                                        "function": {"name": call["function"]["name"], "arguments": ""},
                                    }
                                ]
                            },
                            "finish_reason": None,
                        }
                    ],
                }
            )
            for start in range(0, len(arguments), 10):
                chunks.append(
                    {
                        **base,
                        "choices": [
                            {
                                "index": 0,
                                "delta": {
                                    "tool_calls": [
                                        {"index": index, "function": {"arguments": arguments[start : start + 10]}}
                                    ]
                                },
                                "finish_reason": None,
                            }
                        ],
                    }
                )
        chunks.append(
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": completion["choices"][0]["finish_reason"]}]}
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": completion["usage"]})
        return chunks

    def _response(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt_tokens = estimate_tokens(_prompt_text(body))
        output: list[dict[str, Any]] = []
        if reply.text:
            output.append(
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
                }
            )
        for i, (name, args) in enumerate(reply.tool_calls):
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_{i}",
                    "call_id": f"call_{len(self.requests)}x{i}",
                    "name": name,
                    "arguments": json.dumps(args),
                    "status": "completed",
                }
            )
        return {
            "id": f"resp_{len(self.requests)}",
            "object": "response",
            "created_at": int(time.time()),
            "model": f"{body.get('model', 'sim')}-sim",
            "status": "completed",
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": prompt_tokens,
                "output_tokens": estimate_tokens(reply.text),
                "total_tokens": prompt_tokens + estimate_tokens(reply.text),
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }

    def _response_events(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        """A Responses stream as the API sends it: created; per output item added, its text or arguments in deltas,
        done; then completed with the whole response."""
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": {**response, "status": "in_progress", "output": [], "usage": None}}
        ]
        for index, item in enumerate(response["output"]):
            where = {"item_id": item["id"], "output_index": index}
            if item["type"] == "message":
                part = item["content"][0]
                events.append(
                    {"type": "response.output_item.added", "output_index": index, "item": {**item, "content": []}}
                )
                events.append(
                    {"type": "response.content_part.added", **where, "content_index": 0, "part": {**part, "text": ""}}
                )
                for word in part["text"].split(" "):
                    events.append(
                        {
                            "type": "response.output_text.delta",
                            **where,
                            "content_index": 0,
                            "delta": word + " ",
                            "logprobs": [],
                        }
                    )
                events.append(
                    {
                        "type": "response.output_text.done",
                        **where,
                        "content_index": 0,
                        "text": part["text"],
                        "logprobs": [],
                    }
                )
                events.append({"type": "response.content_part.done", **where, "content_index": 0, "part": part})
            else:
                events.append(
                    {"type": "response.output_item.added", "output_index": index, "item": {**item, "arguments": ""}}
                )
                events.append({"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]})
                events.append(
                    {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}
                )
            events.append({"type": "response.output_item.done", "output_index": index, "item": item})
        events.append({"type": "response.completed", "response": response})
        return [{**event, "sequence_number": n} for n, event in enumerate(events)]

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input")
        inputs = inputs if isinstance(inputs, list) else [inputs]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(str(x)) % 7), 0.5, 0.25, 0.125]}
            for i, x in enumerate(inputs)
        ]
        tokens = sum(estimate_tokens(str(x)) for x in inputs)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", "sim"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        """An Anthropic Messages API reply."""
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text, "citations": None})
        for i, (name, args) in enumerate(reply.tool_calls):
            content.append(
                {"type": "tool_use", "id": f"toolu_{len(self.requests):04d}{i:02d}", "name": name, "input": args}
            )
        prompt = estimate_tokens(_prompt_text(body))
        return {
            "id": f"msg_{len(self.requests):04d}",
            "type": "message",
            "role": "assistant",
            "model": f"{body.get('model', 'sim')}-sim",
            "content": content,
            "stop_reason": reply.finish_reason or ("tool_use" if reply.tool_calls else "end_turn"),
            "stop_sequence": None,
            "usage": {
                "input_tokens": max(1, prompt - reply.cache_read_tokens - reply.cache_creation_tokens),
                "output_tokens": estimate_tokens(reply.text + json.dumps(reply.tool_calls)),
                "cache_read_input_tokens": reply.cache_read_tokens,
                "cache_creation_input_tokens": reply.cache_creation_tokens,
            },
        }

    def _message_events(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """A streamed message as Anthropic sends it: message_start (input usage), per content block start, deltas
        and stop, then message_delta (stop reason, output usage) and message_stop."""
        usage = message["usage"]
        start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
        events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                events.append({"type": "content_block_start", "index": index, "content_block": {**block, "text": ""}})
                text = block["text"]
                for at in range(0, len(text), 8):
                    delta = {"type": "text_delta", "text": text[at : at + 8]}
                    events.append({"type": "content_block_delta", "index": index, "delta": delta})
            else:
                events.append({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}})
                arguments = json.dumps(block["input"])
                for at in range(0, len(arguments), 10):
                    delta = {"type": "input_json_delta", "partial_json": arguments[at : at + 10]}
                    events.append({"type": "content_block_delta", "index": index, "delta": delta})
            events.append({"type": "content_block_stop", "index": index})
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            }
        )
        events.append({"type": "message_stop"})
        return events
