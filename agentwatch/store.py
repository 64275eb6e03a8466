"""The one way agentwatch talks to ClickHouse: a thin layer over ``clickhouse_connect``.

``chdb://PATH`` opens an embedded store (chDB) and ``http(s)://host:port`` a ClickHouse server, through the same
client API. Driver errors are mapped here to :mod:`agentwatch.errors`, and SQL parameters are always bound
server-side (``{name:Type}`` placeholders), never formatted into the statement.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentwatch.config import Config, get_config
from agentwatch.dsn import StoreDsn, parse_store_dsn
from agentwatch.errors import (
    MissingExtraError,
    QueryError,
    StoreError,
    StoreLockedError,
    StoreUnreachableError,
)
from agentwatch.sqlfiles import load_sql

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from clickhouse_connect.driver.client import Client
    from clickhouse_connect.driver.query import QueryResult

__all__ = ["Store", "map_with_clients", "open_store"]

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("agentwatch.store")

_CODE = re.compile(r"Code:\s*(\d+)")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")
_DB_EXCEPTION = re.compile(r"DB::Exception:\s*(.*?)(?:\s*\(([A-Z][A-Z0-9_]+)\))?(?:\s*\(version [^)]*\))?\s*$", re.S)


def _import_driver() -> Any:
    try:
        import clickhouse_connect
    except ImportError:
        raise MissingExtraError("clickhouse-connect", "server", "Talking to the ClickHouse store") from None
    return clickhouse_connect


def _query_error(exc: BaseException, sql_name: str | None) -> QueryError:
    text = str(exc)
    code_match = _CODE.search(text)
    detail = _DB_EXCEPTION.search(text)
    message = detail.group(1).strip() if detail else text.strip().splitlines()[0] if text.strip() else repr(exc)
    name = (detail.group(2) if detail else None) or (m.group(1) if (m := _NAME.search(text)) else None)
    code = int(code_match.group(1)) if code_match else getattr(exc, "code", None)
    if code is not None and name:
        message = f"{message} (ClickHouse error {code} {name})"
    return QueryError(message, code=code, name=name, sql_name=sql_name)


def _lock_holder(path: str) -> tuple[bool, int | None, str | None]:
    """Whether another process holds the embedded store at ``path``, and which one if it can be known.

    ClickHouse takes an exclusive ``flock`` on ``PATH/status`` and writes its PID there.
    """
    status = Path(path) / "status"
    if not status.exists():
        return False, None, None
    try:
        import fcntl
    except ImportError:  # not on POSIX: cannot probe
        return False, None, None
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            locked = True
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            locked = False
        content = handle.read(4096).decode("utf-8", "replace")
    if not locked:
        return False, None, None
    pid_match = re.search(r"PID:\s*(\d+)", content)
    pid = int(pid_match.group(1)) if pid_match else None
    command = None
    if pid is not None:
        with contextlib.suppress(OSError):
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            command = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)[:200] or None
    return True, pid, command


def _locked(path: str, pid: int | None, command: str | None) -> StoreLockedError:
    """The store is held; by an agentwatch serve, its control file tells where to read through it."""
    from agentwatch.control_file import read_control

    control = read_control(path, pid) or {}
    return StoreLockedError(path, pid, command, control.get("query_url"))


def _keep_private(path: str, umask: int) -> None:
    """The embedded engine sets the process's umask to 0 when it starts, so every directory and part it writes would
    be readable (and writable) by every local user: put the umask back, closed to group and others, and take those
    bits off what is already there. The store holds every prompt, answer and tool result."""
    os.umask(umask | 0o077)
    for root, directories, files in os.walk(path):
        for name in (*directories, *files):
            with contextlib.suppress(OSError):
                full = os.path.join(root, name)
                mode = os.lstat(full).st_mode
                if mode & 0o077 and not stat.S_ISLNK(mode):
                    os.chmod(full, stat.S_IMODE(mode) & 0o700)


def _connect(dsn: StoreDsn, create: bool = True) -> Client:
    """A client of the store; an embedded store that is not there is created only when ``create`` (a mistyped path
    given to a command that reads must not leave directories behind)."""
    driver = _import_driver()
    if dsn.embedded:
        try:
            import chdb  # noqa: F401
        except ImportError:
            raise MissingExtraError("chdb", "server", "The embedded store") from None
        if not create and not Path(dsn.path).is_dir():
            raise StoreError(
                f"there is no embedded store at {dsn.path} (nothing was created there); if that is where it should "
                f"be, run: agentwatch db init --store chdb://{dsn.path}"
            )
        try:
            Path(dsn.path).mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(dsn.path, 0o700)  # private whatever the umask: the store holds every prompt and answer
        except OSError as exc:
            raise StoreUnreachableError(f"cannot create the embedded store directory {dsn.path}: {exc}") from exc
        locked, pid, command = _lock_holder(dsn.path)  # asked first: chDB would print its own raw lock error
        if locked and pid != os.getpid():
            raise _locked(dsn.path, pid, command)
        try:
            previous = os.umask(0o077)
            os.umask(previous)
            client = driver.get_client(dsn=f"chdb://{dsn.path}")
            _keep_private(dsn.path, previous)
            return client
        except Exception as exc:
            locked, pid, command = _lock_holder(dsn.path)
            if locked and pid != os.getpid():
                raise _locked(dsn.path, pid, command) from exc
            text = str(exc)
            other = re.search(r"already initialized with path '([^']*)'", text)
            if other:
                raise StoreError(
                    f"this process already has the embedded store at {other.group(1)} open; "
                    f"one process can open one embedded store at a time (asked for {dsn.path})"
                ) from exc
            raise StoreUnreachableError(f"cannot open the embedded store at {dsn.path}: {text}") from exc
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

    try:
        with _quiet():  # their retry warnings would come before the one clear error raised below
            return driver.get_client(
                host=dsn.host,
                port=dsn.port,
                username=dsn.username,
                password=dsn.password,
                secure=dsn.secure,
                connect_timeout=5,
                send_receive_timeout=300,
            )
    except OperationalError as exc:
        raise StoreUnreachableError(f"cannot reach ClickHouse at {dsn.redacted()}: {_first_line(exc)}") from exc
    except DatabaseError as exc:  # e.g. authentication failed
        raise StoreUnreachableError(
            f"ClickHouse at {dsn.redacted()} refused the connection: {_query_error(exc, None)}"
        ) from exc


_DRIVER_LOGGERS = ("urllib3.connectionpool", "clickhouse_connect.driver._backend.http_sync")
_connecting = threading.local()


class _WhileConnecting(logging.Filter):
    """Drops the drivers' warnings logged by a thread while it connects (their retries of a refused connection):
    what went wrong is raised as one StoreUnreachableError. Per thread, so serve's other clients log as before."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not getattr(_connecting, "on", False)


_QUIET_FILTER = _WhileConnecting()
for _name in _DRIVER_LOGGERS:
    logging.getLogger(_name).addFilter(_QUIET_FILTER)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    _connecting.on = True
    try:
        yield
    finally:
        _connecting.on = False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if "Connection refused" in text:
        return "connection refused"
    return text.splitlines()[0][:300] if text else type(exc).__name__


class Store:
    """A connection to the store, bound to agentwatch's database. Use :func:`open_store` to get one."""

    def __init__(self, client: Client, dsn: StoreDsn, database: str, cluster: str = "") -> None:
        self.client = client
        self.dsn = dsn
        self.database = database
        self.cluster = cluster

    # -- context and lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    @contextlib.contextmanager
    def _mapped(self, sql_name: str | None) -> Iterator[None]:
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

        try:
            yield
        except OperationalError as exc:
            raise StoreUnreachableError(
                f"lost the store at {self.dsn.redacted()}: {_first_line(exc)}"
                + (f" (running {sql_name})" if sql_name else "")
            ) from exc
        except DatabaseError as exc:
            raise _query_error(exc, sql_name) from exc

    # -- statements ------------------------------------------------------------------------------
    def query(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        *,
        sql_name: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> QueryResult:
        """Run a SELECT; bind values with ``{name:Type}`` placeholders and ``parameters``."""
        with self._mapped(sql_name):
            return self.client.query(sql, parameters=parameters, settings=settings)

    def query_df(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        *,
        sql_name: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        with self._mapped(sql_name):
            return self.client.query_df(sql, parameters=parameters, settings=settings)

    def command(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        *,
        sql_name: str | None = None,
        settings: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> Any:
        """Run a statement that returns no rows (DDL, ALTER, INSERT … SELECT); ``data`` is sent as its input."""
        with self._mapped(sql_name):
            if data is None:
                return self.client.command(sql, parameters=parameters, settings=settings)
            return self.client.command(sql, parameters=parameters, settings=settings, data=data)

    def insert(
        self,
        table: str,
        data: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        *,
        column_oriented: bool = False,
        settings: dict[str, Any] | None = None,
    ) -> None:
        with self._mapped(f"insert into {table}"):
            self.client.insert(
                table, data, column_names=list(column_names), column_oriented=column_oriented, settings=settings
            )

    def insert_arrow(self, table: str, arrow_table: pa.Table, *, settings: dict[str, Any] | None = None) -> None:
        with self._mapped(f"insert into {table}"):
            self.client.insert_arrow(table, arrow_table, settings=settings)

    def run_sql(
        self, name: str, parameters: dict[str, Any] | None = None, *, settings: dict[str, Any] | None = None
    ) -> QueryResult:
        """Run a shipped SQL file (``"queries/session_timeline"``); errors name the file."""
        sql = load_sql(name)
        return self.query(sql.body, parameters, sql_name=f"sql/{sql.name}.sql", settings=settings)

    # -- facts -----------------------------------------------------------------------------------
    def database_exists(self) -> bool:
        rows = self.query(
            "SELECT count() FROM system.databases WHERE name = {db:String}", {"db": self.database}
        ).result_rows
        return bool(rows[0][0])

    def table_exists(self, table: str) -> bool:
        rows = self.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            {"db": self.database, "t": table},
        ).result_rows
        return bool(rows[0][0])

    def clone(self) -> Store:
        """Another connection to the same store and database (for a thread that needs its own client)."""
        other = Store(_connect(self.dsn), self.dsn, self.database, self.cluster)
        other.use_database()
        return other

    def use_database(self) -> None:
        """Make the agentwatch database the default for unqualified table names."""
        self.client.database = self.database


def map_with_clients(store: Store, work: Callable[[Store, T], R], items: Iterable[T], threads: int) -> list[R]:
    """``work(client, item)`` for every item on ``threads`` threads, in order. A client serves one query at a time
    (clickhouse-connect refuses two at once within its session), so each task borrows a client of its own from a
    pool — ``store`` and ``threads - 1`` clones — and gives it back when done."""
    items = list(items)
    threads = max(1, min(threads, len(items)))
    if threads == 1:
        return [work(store, item) for item in items]
    idle: queue.SimpleQueue[Store] = queue.SimpleQueue()
    clones = [store.clone() for _ in range(threads - 1)]
    for client in (store, *clones):
        idle.put(client)

    def borrow(item: T) -> R:
        client = idle.get()
        try:
            return work(client, item)
        finally:
            idle.put(client)

    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(borrow, items))
    finally:
        for clone in clones:
            clone.close()


def open_store(
    config: Config | None = None, *, store: str | None = None, database: str | None = None, create: bool = False
) -> Store:
    """Open the configured store and bind it to agentwatch's database.

    ``create`` creates the database when missing (``agentwatch db init``); otherwise a missing database is a
    :class:`StoreError` that says to run ``agentwatch db init``.
    """
    config = config or get_config()
    dsn = parse_store_dsn(store) if store else config.store_dsn
    db = database or config.database
    client = _connect(dsn, create)
    handle = Store(client, dsn, db, config.cluster)
    if not handle.database_exists():
        if not create:
            handle.close()
            raise StoreError(f"the store at {dsn.redacted()} has no database {db!r} yet; run: agentwatch db init")
        on_cluster = f" ON CLUSTER `{config.cluster}`" if config.cluster else ""
        handle.command(f"CREATE DATABASE IF NOT EXISTS `{db}`{on_cluster}")
    handle.use_database()
    return handle
