"""Where every benchmark starts: a fresh, migrated embedded store in a folder of its own."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agentwatch.config import Config, configure
from agentwatch.migrate import Migrator
from agentwatch.store import Store, open_store

__all__ = ["fresh_store"]


def fresh_store(prefix: str, **settings: Any) -> tuple[Path, Config, Store]:
    """(the folder, the configuration, the open store): database ``bench`` of ``<folder>/store``, spool in
    ``<folder>/spool``; ``settings`` add to or override the configuration."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    config = configure(
        **{"store": f"chdb://{work / 'store'}", "database": "bench", "spool_dir": str(work / "spool"), **settings}
    )
    store = open_store(config, create=True)
    Migrator(store, config).apply()
    return work, config, store
