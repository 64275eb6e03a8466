"""The support question the provider tests ask and the answer they script, as the GenAI conventions record them
(gen_ai.input.messages and gen_ai.output.messages): one expectation for every provider."""

from __future__ import annotations

from typing import Any

RECORDED_INPUT = [
    {"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Where is my order A-17?"}]},
]


def recorded_output(finish_reason: str) -> list[dict[str, Any]]:
    """The scripted answer as recorded, with the provider's own finish reason."""
    return [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Your order A-17 ships tomorrow."}],
            "finish_reason": finish_reason,
        }
    ]
