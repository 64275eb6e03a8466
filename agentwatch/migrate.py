"""Schema migrations: ``sql/schema/NNNN_name.sql`` applied in order, each recorded in ``agentwatch_migrations``.

Every statement is ``IF NOT EXISTS``, so applying twice (or from two processes at once) is safe. The files are
templates with a few placeholders that are never user data:

``{{database}}``           the agentwatch database, as a quoted identifier
``{{on_cluster}}``         `` ON CLUSTER `name` `` when a cluster is configured
``{{engine X(args)}}``     ``X(args)``, or ``ReplicatedX('/clickhouse/tables/{shard}/{database}/{table}',
                           '{replica}', args)`` on a cluster
``{{retention KIND}}``     the configured days for ``traces``, ``evaluations`` or ``findings``
``{{ttl}}``                ``TTL <the file's "ttl:" header>``

Retention is not part of a migration's identity: when the configured days change, ``db init`` alters the TTLs.
A file with the header ``store: embedded`` tunes the embedded engine only; on a ClickHouse server it is recorded as
applied without running (servers are the operator's to tune, and may predate the settings it uses).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from agentwatch.config import Config
from agentwatch.errors import MigrationError, StoreError
from agentwatch.sqlfiles import SqlFile, list_sql, load_sql
from agentwatch.store import Store

__all__ = ["Migration", "MigrationStatus", "Migrator", "migrations", "render"]

_FILE = re.compile(r"^schema/(\d{4})_(\w+)$")
_ENGINE = re.compile(r"\{\{engine\s+(\w+)\((.*?)\)\}\}")
_RETENTION = re.compile(r"\{\{retention\s+(\w+)\}\}")
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
_REPLICA_ARGS = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: SqlFile

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.text.encode()).hexdigest()[:16]

    @property
    def table(self) -> str:
        return self.sql.header.get("name", self.name)


@dataclass(frozen=True)
class MigrationStatus:
    migration: Migration
    state: str  # applied, pending, modified (applied from a file that has changed since)
    applied_at: dt.datetime | None


def migrations() -> list[Migration]:
    """The shipped migrations, in version order."""
    found = []
    for name in list_sql("schema"):
        match = _FILE.match(name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), load_sql(name)))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two schema files share a version: {versions}")
    return found


def _retention(config: Config, kind: str) -> int:
    days = {
        "traces": config.traces_retention_days,
        "evaluations": config.evaluations_retention_days,
        "findings": config.findings_retention_days,
    }
    if kind not in days:
        raise MigrationError(f"unknown retention kind {kind!r} in a schema file")
    return int(days[kind])


def _ttl(text: str, config: Config) -> str:
    return _RETENTION.sub(lambda m: str(_retention(config, m.group(1))), text)


def render(sql: SqlFile, config: Config, database: str | None = None) -> str:
    """The statement of a schema file for this configuration (database, cluster, retention)."""
    db = database or config.database
    text = sql.body
    cluster = config.cluster

    def engine(match: re.Match[str]) -> str:
        name, args = match.group(1), match.group(2).strip()
        if not cluster:
            return f"{name}({args})"
        return f"Replicated{name}({_REPLICA_ARGS}{', ' + args if args else ''})"

    text = _ENGINE.sub(engine, text)
    ttl = sql.header.get("ttl")
    text = text.replace("{{ttl}}", f"TTL {_ttl(ttl, config)}" if ttl else "")
    text = _ttl(text, config)
    text = text.replace("{{database}}", f"`{db}`")
    text = text.replace("{{on_cluster}}", f" ON CLUSTER `{cluster}`" if cluster else "")
    leftover = _PLACEHOLDER.search(text)
    if leftover:
        raise MigrationError(f"sql/{sql.name}.sql: unknown placeholder {leftover.group(0)}")
    return text


class Migrator:
    """Brings a store's schema up to date; safe to run again and again."""

    table = "agentwatch_migrations"

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config

    def _applied(self) -> dict[int, tuple[str, dt.datetime]]:
        if not self.store.table_exists(self.table):
            return {}
        rows = self.store.query(
            f"SELECT Version, argMax(Checksum, AppliedAt), max(AppliedAt) FROM `{self.store.database}`.{self.table} "
            "GROUP BY Version"
        ).result_rows
        return {int(v): (c, at) for v, c, at in rows}

    def status(self) -> list[MigrationStatus]:
        applied = self._applied()
        result = []
        for migration in migrations():
            if migration.version not in applied:
                result.append(MigrationStatus(migration, "pending", None))
                continue
            checksum, at = applied[migration.version]
            state = "applied" if checksum == migration.checksum else "modified"
            result.append(MigrationStatus(migration, state, at))
        return result

    def apply(self) -> list[Migration]:
        """Apply pending migrations in order, then align TTLs with the configured retention."""
        applied = self._applied()
        done = []
        for migration in migrations():
            if migration.version in applied:
                continue
            statement = render(migration.sql, self.config, self.store.database)
            if migration.sql.header.get("store") != "embedded" or self.store.dsn.embedded:
                try:
                    self.store.command(statement, sql_name=f"sql/{migration.sql.name}.sql")
                except StoreError as exc:
                    raise MigrationError(f"migration {migration.version:04d}_{migration.name} failed: {exc}") from exc
            self.store.insert(
                f"`{self.store.database}`.{self.table}",
                [[migration.version, migration.name, migration.checksum, dt.datetime.now(dt.timezone.utc)]],
                ["Version", "Name", "Checksum", "AppliedAt"],
            )
            done.append(migration)
        self.sync_retention()
        return done

    def sync_retention(self) -> list[str]:
        """ALTER the TTL of each table whose retention differs from the configuration; return their names."""
        changed = []
        for migration in migrations():
            ttl = migration.sql.header.get("ttl")
            if not ttl:
                continue
            expected = _ttl(ttl, self.config)
            rows = self.store.query(
                "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {t:String}",
                {"db": self.store.database, "t": migration.table},
            ).result_rows
            if not rows or _squash(expected) in _squash(rows[0][0]):
                continue
            on_cluster = f" ON CLUSTER `{self.config.cluster}`" if self.config.cluster else ""
            self.store.command(
                f"ALTER TABLE `{self.store.database}`.`{migration.table}`{on_cluster} MODIFY TTL {expected}",
                settings={"materialize_ttl_after_modify": 0},
                sql_name=f"sql/{migration.sql.name}.sql (ttl)",
            )
            changed.append(migration.table)
        return changed


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
