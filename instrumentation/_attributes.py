"""Every attribute agentwatch emits beyond the GenAI semantic conventions, in one place (see docs/attributes.md)."""

from __future__ import annotations

# GenAI semantic conventions (used as they are)
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_TOP_K = "gen_ai.request.top_k"
REQUEST_STREAM = "gen_ai.request.stream"
REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
OUTPUT_TYPE = "gen_ai.output.type"
EMBEDDING_DIMENSIONS = "gen_ai.embeddings.dimension.count"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
HTTP_STATUS_CODE = "http.response.status_code"
ERROR_TYPE = "error.type"

# agentwatch: the agent's contract
GOAL = "agentwatch.agent.goal"
ALLOWED_TOOLS = "agentwatch.agent.allowed_tools"
RESOURCES = "agentwatch.agent.resources"
CREDENTIAL = "agentwatch.credential.id"
SESSION_ID = "agentwatch.session.id"
# agentwatch: the guards an agent ran with (the effective configuration, recorded on every invoke_agent span)
GUARDS = "agentwatch.guards"  # prefix: .enabled, .max_steps, .max_tokens, .max_cost_usd, .max_seconds, …
# agentwatch: steps and tools
STEP_INDEX = "agentwatch.step.index"
STEP_INTENT = "agentwatch.step.intent"
TOOL_IRREVERSIBLE = "agentwatch.tool.irreversible"
TOOL_APPROVED = "agentwatch.tool.approved"
TOOL_RESOURCE = "agentwatch.tool.resource"
TOOL_DESCRIPTION = "gen_ai.tool.description"
ARGUMENTS_HASH = "agentwatch.tool.arguments.hash"
RESULT_SHAPE = "agentwatch.tool.result.shape"
RESULT_SCHEMA = "agentwatch.tool.result.schema"  # the declared result contract's name
RESULT_SIZE = "agentwatch.tool.result.size"
RESULT_ERROR = "agentwatch.tool.result.error"
RESULT_FLAGS = "agentwatch.tool.result.flags"
# agentwatch: cost
COST = "agentwatch.usage.cost_usd"
USAGE_ESTIMATED = "agentwatch.usage.estimated"  # a stream reported no usage: tokens estimated from its text
DERIVED_AGENT = "agentwatch.agent.derived"  # a run read from a plain loop's conversation (no decorator)
DERIVED_TOOL = "agentwatch.tool.derived"  # a tool call read from the conversation (no decorator)
# agentwatch: content bookkeeping
CONTENT_TRUNCATED = "agentwatch.content.truncated"
CONTENT_CAPTURE = "agentwatch.content.capture"  # false on LLM and agent spans recorded with content capture off
CONTENT_REDACTED = "agentwatch.content.redacted"
# events
SOURCES_EVENT = "agentwatch.sources"
SOURCES_CONTENT = "agentwatch.sources.content"
SOURCES_COUNT = "agentwatch.sources.count"
APPROVAL_EVENT = "agentwatch.approval"
APPROVAL_ACTION = "agentwatch.approval.action"

__all__ = [name for name in dir() if name.isupper()]  # last: every name above is defined by now
