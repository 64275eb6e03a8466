"""agentwatch: observability and evaluation for AI agents in production.

Importing this package stays light (the OpenTelemetry API only); the SDK loads when ``instrument()`` runs, and the
store, collector and evaluators load their server-side dependencies when used. The public names are the
instrumentation's (``agent``, ``tool``, ``instrument``…), the errors of :mod:`agentwatch.errors` and the settings.
"""

from agentwatch import errors, instrumentation
from agentwatch._version import __version__
from agentwatch.config import Config, configure, get_config
from agentwatch.errors import *  # noqa: F403  (every error, at the top: except agentwatch.AgentLoopError)
from agentwatch.instrumentation import *  # noqa: F403  (the one-line API and the decorators)

__all__ = ["Config", "__version__", "configure", "get_config"]
__all__ += [name for name in errors.__all__ if name.endswith("Error")]
__all__ += instrumentation.__all__
