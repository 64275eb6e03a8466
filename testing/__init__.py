"""agentwatch.testing: what tests, benchmarks and the demo run against instead of the internet.

:class:`LLMServer` is a small LLM API server with scripted replies, speaking enough of OpenAI's and Anthropic's APIs
for their real SDKs (``OpenAI(base_url=llm.base_url)``, ``Anthropic(base_url=llm.root_url)``).
:class:`RecordingServer` records every POST it receives (webhooks, alert channels, OTLP sinks).
"""

from agentwatch.testing.llm_server import LLMServer, Reply, default_responder, estimate_tokens
from agentwatch.testing.recorder import Recorded, RecordingServer

__all__ = ["LLMServer", "Recorded", "RecordingServer", "Reply", "default_responder", "estimate_tokens"]
