"""DuckDB storage: the one place that opens connections.

Voila runs one kernel per browser tab and DuckDB lets only one process write a file, while any open
connection (even read-only) locks writers out. So nothing here holds a file connection between actions:
every action opens, runs one transaction and closes, retrying with backoff while another process holds
the lock, and gives up with LedgerBusy. An action made of many transactions (importing a folder of files:
`Store.transactions`) keeps its connection a few seconds at a time, then lets a waiting tab in. An in-memory
database has no file and no lock: it keeps one connection for the life of the Store.

DuckDB's own file lock is not enough: with duckdb 2.0.1, a process that connects a few milliseconds after
another closed sometimes misses the row just committed, and its own commit replaces it (see
docs/reliability.md and tests/test_commit_durability.py). So every session also holds an OS-level lock on a
sidecar file (`<db>.lock`, filelock's SQLite reader/writer lock) from before `connect()` until after
`close()`: exclusive for writers, shared for readers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.resources
import os
import random
import threading
import time
from pathlib import Path

import duckdb
import filelock
import pandas as pd
import pyarrow as pa

from .errors import InvalidInput, LedgerBusy

MEMORY = ":memory:"
# Integer columns with NULLs stay integers in pandas instead of turning into floats.
_NULLABLE_INTEGERS = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}
LOCK_RETRY_SECONDS = 15.0
# How long Store.transactions keeps one connection (and the write lock) across transactions: well under
# LOCK_RETRY_SECONDS, so a tab waiting to read or write gets its turn before it gives up as busy. After giving
# the lock up it waits TURN_SECONDS before taking it again: a waiting tab retries its lock every 0.1 s at most
# (SQLite's busy handler, behind filelock), and would never see a lock taken again at once.
HOLD_SECONDS = 3.0
TURN_SECONDS = 0.15


def sql_text(name: str) -> str:
    """The text of `commcredits/sql/<name>.sql`."""
    return importlib.resources.files("commcredits.sql").joinpath(f"{name}.sql").read_text(encoding="utf-8")


def sql_statements(name: str) -> list[str]:
    """The statements of a .sql file, split on ';' at line ends (our files keep one statement per block)."""
    parts = [p.strip() for p in sql_text(name).split(";\n")]
    return [p.rstrip(";") for p in parts if p and not all(line.strip().startswith("--") for line in p.splitlines())]


def named_sql(name: str) -> dict[str, str]:
    """The statements of `commcredits/sql/<name>.sql`, keyed by the `-- name: x` line above each."""
    statements: dict[str, str] = {}
    current = None
    for line in sql_text(name).splitlines():
        if line.startswith("-- name:"):
            current = line.split(":", 1)[1].strip()
            statements[current] = ""
        elif current is not None:
            statements[current] += line + "\n"
    return {k: v.strip().rstrip(";") for k, v in statements.items()}


def schema_files() -> list[str]:
    """Every `*_schema.sql` (tables) then every `*_views.sql` (views), each group in name order."""
    names = [f.name[:-4] for f in importlib.resources.files("commcredits.sql").iterdir() if f.name.endswith(".sql")]
    return sorted(n for n in names if n.endswith("_schema")) + sorted(n for n in names if n.endswith("_views"))


@functools.cache
def schema_fingerprint() -> str:
    """What the schema files say, and which DuckDB runs them: a file whose schema was made by the same text and
    DuckDB needs none of it again."""
    digest = hashlib.sha256(duckdb.__version__.encode())
    for name in schema_files():
        digest.update(sql_text(name).encode())
    return digest.hexdigest()


# The fingerprint of the schema that made a file is kept as the comment of its view `entries`. Any version that
# makes its own views (those from before the fingerprint do on every open) replaces that view, which drops the
# comment: the next open here makes this schema again, with its views, macros and row keys.
SCHEMA_MARK = "entries"


def _schema_is_current(con, fingerprint: str) -> bool:
    rows = con.execute(
        "SELECT comment FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND view_name = $1",
        [SCHEMA_MARK],
    ).fetchall()
    return bool(rows) and rows[0][0] == fingerprint


@contextlib.contextmanager
def _committed(con: duckdb.DuckDBPyConnection, *, last: bool = False):
    """BEGIN on `con`, COMMIT when the block ends, ROLLBACK if it raises. `last`: the connection closes right after
    the commit, which then writes what the transaction changed straight into the file (a checkpoint, as the close
    would do anyway) instead of first to the write-ahead log: rating 1M calls 0.21 -> 0.19 s. Not for a commit the
    connection carries on after: a checkpoint per commit of a long settlement costs more than the log."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        con.execute("RESET preserve_insertion_order")  # in case the block failed inside in_any_order
        raise
    if last:
        con.execute("SET checkpoint_threshold = '0b'")  # this commit is over the threshold: DuckDB checkpoints
    con.execute("COMMIT")


@contextlib.contextmanager
def in_any_order(con: duckdb.DuckDBPyConnection):
    """Within the block, DuckDB may return and store rows in any order where no ORDER BY asks for one (its readers
    then run fully in parallel). For statements whose result has no order to keep; the caller's transaction owns
    `con` (a failure inside leaves the setting to _committed's rollback: a failed transaction cannot change it)."""
    con.execute("SET preserve_insertion_order = false")
    yield con
    con.execute("RESET preserve_insertion_order")


def lock_path(database: str | os.PathLike) -> Path:
    """The sidecar lock file of a ledger file (`ledger.duckdb` -> `ledger.duckdb.lock`)."""
    return Path(f"{database}.lock")


@contextlib.contextmanager
def session_lock(database: str | os.PathLike, *, write: bool, timeout: float = LOCK_RETRY_SECONDS):
    """Hold the cross-process lock of `database` for one session: exclusive when `write`, else shared.

    Open the DuckDB file only inside this block and close it before the block ends. Raises LedgerBusy
    after `timeout` seconds of waiting."""
    # A fresh (non-singleton) instance per session: threads of one process then wait for each other too.
    lock = filelock.ReadWriteLock(lock_path(database), timeout=timeout, is_singleton=False)
    try:
        try:
            hold = lock.acquire_write() if write else lock.acquire_read()
        except filelock.Timeout as exc:
            raise LedgerBusy(
                f"The ledger {database} is busy (another tab or notebook is using it). "
                "Nothing was changed; try again in a moment."
            ) from exc
        with hold:
            yield
    finally:
        lock.close()


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() or "Conflicting" in text


class Store:
    """Opens DuckDB connections for one database (a file path or ':memory:')."""

    def __init__(self, path: str | os.PathLike = MEMORY, *, busy_timeout: float = LOCK_RETRY_SECONDS):
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._memory_con = duckdb.connect(MEMORY) if self.is_memory else None
        self._memory_mutex = threading.RLock()
        self._session: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (thread id, connection): see read_session
        if self._memory_con is not None:
            self._configure(self._memory_con)
        self.ensure_schema()

    def ensure_schema(self) -> None:
        """Create missing tables, fill new columns and (re)create views, unless the file's schema was made by this
        very text and DuckDB (SCHEMA_MARK): then opening costs one lookup instead of some 130 statements, and
        the file's catalog is not rewritten on every open."""
        fingerprint = schema_fingerprint()
        with self.transaction() as con:
            if not self.is_memory and _schema_is_current(con, fingerprint):
                return
            _split_journal(con)
            for name in schema_files():
                for statement in sql_statements(name):
                    con.execute(statement)
            if not self.is_memory:
                con.execute("DROP TABLE IF EXISTS schema_applied")  # where the previous version kept it
                con.execute(f"COMMENT ON VIEW {SCHEMA_MARK} IS '{fingerprint}'")  # hex digits only

    @property
    def is_memory(self) -> bool:
        return self.path == MEMORY

    @staticmethod
    def _configure(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("SET TimeZone = 'UTC'")

    def _connect(self, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
        # Inside session_lock; the retry is for processes that open the file without it (a raw duckdb shell).
        delay = 0.01
        while True:
            try:
                con = duckdb.connect(self.path, read_only=read_only)
                self._configure(con)
                return con
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                if not _is_lock_error(exc) and "different configuration" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise LedgerBusy(
                        f"The ledger {self.path} is busy (another tab or notebook is using it). "
                        "Nothing was changed; try again in a moment."
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)

    @contextlib.contextmanager
    def transaction(self):
        """Yield a connection inside BEGIN ... COMMIT; any exception rolls everything back."""
        if self.in_read_session:  # it would wait for the session's own shared lock, then fail as busy
            raise RuntimeError("A write inside Store.read_session: write before the session starts.")
        if self._memory_con is not None:
            with self._memory_mutex, _committed(self._memory_con) as con:
                yield con
            return
        with self._writer() as con, _committed(con, last=True):
            yield con

    @contextlib.contextmanager
    def _writer(self):
        """A read-write connection to the file under the exclusive session lock; closed, then the lock released,
        when the block ends."""
        deadline = time.monotonic() + self.busy_timeout
        with session_lock(self.path, write=True, timeout=self.busy_timeout):
            con = self._connect(False, deadline)
            try:
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def transactions(self, *, hold_seconds: float | None = None):
        """Yield run(work): each call runs work(con) in a transaction of its own (COMMIT when it returns,
        ROLLBACK if it raises) on one connection kept between them, so a run of imports opens, reads and
        checkpoints the file once instead of once per file. Between two transactions held for `hold_seconds` or
        more, the connection and its write lock are given up and taken again: other tabs wait no longer than
        that plus one transaction."""
        if self.in_read_session:
            raise RuntimeError("A write inside Store.read_session: write before the session starts.")
        if self._memory_con is not None:

            def run(work):
                with self.transaction() as con:
                    return work(con)

            yield run
            return
        held = _HeldConnection(self, HOLD_SECONDS if hold_seconds is None else hold_seconds)
        try:
            yield held.run
        finally:
            held.release()

    @contextlib.contextmanager
    def read_session(self):
        """Within this block every read of this thread uses one read-only connection (one open of the file
        instead of one per query, about 45 ms each): for a page render. Never hold it across user actions
        (it locks writers out), and write before entering it (a write in it would wait for its own lock)."""
        if self._memory_con is not None or self.in_read_session or not Path(self.path).exists():
            yield
            return
        with self.reading() as con:
            self._session = (threading.get_ident(), con)
            try:
                yield
            finally:
                self._session = None

    @property
    def in_read_session(self) -> bool:
        """Whether this thread is inside `read_session` (a write now would wait for its own lock)."""
        return self._session is not None and self._session[0] == threading.get_ident()

    @contextlib.contextmanager
    def reading(self):
        """Yield a short-lived read-only connection (the shared one for ':memory:', the session's one inside
        `read_session`)."""
        if self.in_read_session:
            yield self._session[1]
            return
        if self._memory_con is not None:
            with self._memory_mutex:
                yield self._memory_con
            return
        read_only = Path(self.path).exists()  # a missing file is created on first write
        deadline = time.monotonic() + self.busy_timeout
        with session_lock(self.path, write=not read_only, timeout=self.busy_timeout):
            con = self._connect(read_only, deadline)
            try:
                yield con
            finally:
                con.close()

    def query_df(self, sql: str, params=None):
        """Run a read-only query and return a pandas DataFrame; money stays Decimal (via Arrow), never float."""
        with self.reading() as con:
            table = con.sql(sql, params=params or None).to_arrow_table()
        return table.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)

    def query(self, sql: str, params=None) -> list[tuple]:
        """Run a read-only query and return all rows."""
        with self.reading() as con:
            return con.execute(sql, params or []).fetchall()

    def copy_to(self, path: str | os.PathLike) -> None:
        """Write this database (tables, views and data) into a new DuckDB file."""
        if self._memory_con is None:
            copy_database(self.path, path)
            return
        with self._memory_mutex:
            con = self._memory_con
            con.execute("ATTACH $1 AS copy_target", [str(path)]).fetchall()
            try:
                con.execute("COPY FROM DATABASE memory TO copy_target").fetchall()
            finally:
                con.execute("DETACH copy_target").fetchall()

    def close(self) -> None:
        if self._memory_con is not None:
            self._memory_con.close()
            self._memory_con = None


def _split_journal(con) -> None:
    """Files written before the journal was split keep every entry in a table named `entry`: it becomes entry_row (as
    it is, rows and all), and ledger_schema.sql then adds spend_entry and the view `entry` over both. Plain SQL cannot
    ask whether `entry` is a table or a view, hence this step before the schema text."""
    (old_table,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = 'entry'"
    ).fetchall()[0]
    if old_table:
        con.execute("ALTER TABLE entry RENAME TO entry_row")


class _HeldConnection:
    """Store.transactions' connection and write lock: taken for the first transaction, kept while younger than
    `hold_seconds`, given up when it is older (before the next transaction), after a transaction that failed, and at
    the end."""

    def __init__(self, store: Store, hold_seconds: float):
        self.store, self.hold_seconds = store, hold_seconds
        self.con: duckdb.DuckDBPyConnection | None = None
        self.writer = contextlib.ExitStack()  # Store._writer: the connection and the lock, given up together
        self.taken = 0.0

    def run(self, work):
        if self.con is not None and time.monotonic() - self.taken >= self.hold_seconds:
            self.release()
            time.sleep(TURN_SECONDS)  # another tab's turn
        if self.con is None:
            self.con = self.writer.enter_context(self.store._writer())
            self.taken = time.monotonic()
        try:
            with _committed(self.con) as con:
                return work(con)
        except BaseException:  # rolled back; DuckDB may have invalidated the connection: the next takes a new one
            self.release()
            raise

    def release(self) -> None:
        self.con = None
        self.writer.close()


def store_of(target) -> Store:
    """The Store behind a Ledger, a Store, or a database path."""
    if isinstance(target, Store):
        return target
    if hasattr(target, "store") and isinstance(target.store, Store):
        return target.store
    if isinstance(target, (str, os.PathLike)):
        return Store(target)
    raise InvalidInput("target", f"{target!r} is not a ledger, a store or a database path.")


def copy_database(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Copy a ledger file into a new file, holding the source read-only for just the copy."""
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    con = duckdb.connect(str(target))
    try:
        with session_lock(source, write=False):
            while True:
                try:
                    con.execute("ATTACH $1 AS copy_source (READ_ONLY)", [str(source)]).fetchall()
                    break
                except duckdb.IOException as exc:
                    if not _is_lock_error(exc) or time.monotonic() >= deadline:
                        raise LedgerBusy(f"The ledger {source} is busy; try the copy again in a moment.") from exc
                    time.sleep(0.05 + 0.05 * random.random())
            try:
                con.execute(f'COPY FROM DATABASE copy_source TO "{_database_name(con)}"').fetchall()
            finally:
                con.execute("DETACH copy_source").fetchall()
    finally:
        con.close()


def _database_name(con) -> str:
    return con.execute("SELECT current_database()").fetchall()[0][0]
