"""The scripted LLM server moved to :mod:`agentwatch.testing`; this name keeps working for code that imports it."""

from agentwatch.testing.llm_server import LLMServer, Reply, default_responder, estimate_tokens

__all__ = ["LLMServer", "Reply", "default_responder", "estimate_tokens"]
