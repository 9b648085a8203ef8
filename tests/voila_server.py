"""Start the real dashboard server (`python -m commcredits.ui.server`) on a free loopback port for browser tests.

Every server requires a token, as for admins: the browser contexts of the tests present the session's token
(TEST_TOKEN, sent as an `Authorization: token …` header; see conftest.py), so tests navigate to plain URLs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from commcredits.store import session_lock
from commcredits.ui.server import admin_pages, pages_that_read_early

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TEST_TOKEN = os.environ.setdefault("COMMCREDITS_TEST_TOKEN", secrets.token_urlsafe(16))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answers(url: str, process: subprocess.Popen, *, timeout: float, log_path: Path | None = None) -> None:
    """Poll `url` until the server answers with any HTTP status."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError as refused:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Voila did not start; see {log_path}") from refused
            time.sleep(0.3)


@dataclass
class Dashboard:
    """A running dashboard server: its base URL and token, the ledger file it serves, its process."""

    base: str
    token: str
    log_path: Path
    db: Path
    pid: int
    config: Path | None = None

    def url(self, page: str, *, token: bool = True) -> str:
        """The page's URL (with the token in it unless `token=False`)."""
        return f"{self.base}/voila/render/{page}" + (f"?token={self.token}" if token else "")

    def answers(self, timeout: float = 20) -> bool:
        """Whether the server answers HTTP at all (any status) within `timeout` seconds."""
        try:
            urllib.request.urlopen(f"{self.base}/login", timeout=timeout).read()
        except urllib.error.HTTPError:
            pass
        except OSError:
            return False
        return True

    def wait_until_warm(self, per_page: int = 1, timeout: float = 300) -> None:
        """Wait until the pages' pools hold `per_page` warm kernels each that did their imports: kernels waiting
        in `wait_for_request()`, which holds a connection to the server's port until the page is opened."""
        pooled = per_page * (len(admin_pages(NOTEBOOKS)) - len(pages_that_read_early([str(NOTEBOOKS)])))
        port = int(self.base.rsplit(":", 1)[1])
        deadline = time.monotonic() + timeout
        while True:
            waiting = 0
            for kernel in psutil.Process(self.pid).children():
                with contextlib.suppress(psutil.Error):
                    waiting += any(c.raddr and c.raddr.port == port for c in kernel.net_connections("tcp"))
            if waiting >= pooled:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{waiting} of {pooled} warm kernels are ready; see {self.log_path}")
            time.sleep(0.5)

    def serve(self, ledger: Path | None) -> Path:
        """Serve a copy of the ledger file `ledger` from now on (None: no file, for a test that builds a fresh
        tenant at `self.db`), with no Microsoft 365 config file; returns `self.db`.

        Pages read the ledger when they are opened (warm kernels wait for the request), so the next page opened
        shows it: one server serves every browser test, each on its own ledger."""
        with session_lock(self.db, write=True):  # no kernel is reading or writing the old one meanwhile
            for old in (self.db, Path(f"{self.db}.wal")):
                old.unlink(missing_ok=True)
            if ledger is not None:
                shutil.copy(ledger, self.db)
        if self.config is not None:
            self.config.unlink(missing_ok=True)
        return self.db


@contextlib.contextmanager
def dashboard(db_path: Path, *, log_path: Path, timeout: float = 90.0, extra_env=None, extra_args=()):
    """Yield a `Dashboard` serving notebooks/ against the ledger at `db_path`, with warm kernels as admins get it."""
    port = free_port()
    env = {**os.environ, "COMMCREDITS_DB": str(db_path), "COMMCREDITS_TOKEN": TEST_TOKEN, **(extra_env or {})}
    env.pop("COMMCREDITS_NO_TOKEN", None)
    command = [
        sys.executable,
        "-m",
        "commcredits.ui.server",
        str(NOTEBOOKS),
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=False",
        *extra_args,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answers(f"{base}/login", process, timeout=timeout, log_path=log_path)
            yield Dashboard(base, TEST_TOKEN, Path(log_path), Path(db_path), process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # hung: it cannot shut its kernels down either
                with contextlib.suppress(psutil.Error):
                    for kernel in psutil.Process(process.pid).children(recursive=True):
                        kernel.kill()
                process.kill()
                process.wait()


class SharedDashboard:
    """One dashboard server for many tests, started again when it no longer answers.

    Voila's event loop can hang for good: after a page ran, it joins jupyter_client's heartbeat thread, which can
    wait forever on a zmq socket (seen on a loaded 2-core machine). The test during which that happens fails; a
    new server keeps the tests after it from failing for the same reason. `restarts` counts how often."""

    def __init__(self, start):
        self._start = start  # start(n) -> context manager yielding a warm Dashboard; n counts the starts
        self._stack: contextlib.ExitStack | None = None
        self.server: Dashboard | None = None
        self.restarts = 0

    def get(self) -> Dashboard:
        if self.server is not None and not self.server.answers():
            self.restarts += 1
            self.close()
        if self.server is None:
            self._stack = contextlib.ExitStack()
            self.server = self._stack.enter_context(self._start(self.restarts))
        return self.server

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack, self.server = None, None
