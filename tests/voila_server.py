"""Start the real dashboard server (`python -m commcredits.ui.server`) on a free loopback port for browser tests.

Every server requires a token, as for admins: the browser contexts of the tests present the session's token
(TEST_TOKEN, sent as an `Authorization: token …` header; see conftest.py), so tests navigate to plain URLs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

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
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Voila did not start; see {log_path}")
            time.sleep(0.3)


@dataclass
class Dashboard:
    """A running dashboard server: its base URL and token, and how warm its page kernels are."""

    base: str
    token: str
    log_path: Path
    taken: dict[str, int] = field(default_factory=dict)

    def url(self, page: str, *, token: bool = True) -> str:
        """The page's URL (with the token in it unless `token=False`); counts the warm kernel it takes."""
        self.taken[page] = self.taken.get(page, 0) + 1
        return f"{self.base}/voila/render/{page}" + (f"?token={self.token}" if token else "")

    def wait_until_warm(self, page: str, timeout: float = 120) -> None:
        """Wait until `page` has a warm kernel again (its pool was filled once more than it was taken)."""
        deadline = time.monotonic() + timeout
        line = f"Kernel pool of {page} is filled"
        while self.log_path.read_text(errors="replace").count(line) <= self.taken.get(page, 0):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no warm kernel for {page}; see {self.log_path}")
            time.sleep(0.2)


@contextlib.contextmanager
def dashboard(db_path: Path, *, log_path: Path, warm: bool = True, timeout: float = 90.0, extra_env=None):
    """Yield a `Dashboard` serving notebooks/ against the ledger at `db_path`.

    `warm=False` starts no warm kernels: tests that restart the server per test start faster on 2 cores."""
    port = free_port()
    env = {**os.environ, "COMMCREDITS_DB": str(db_path), "COMMCREDITS_TOKEN": TEST_TOKEN, **(extra_env or {})}
    env.pop("COMMCREDITS_NO_TOKEN", None)
    command = [sys.executable, "-m", "commcredits.ui.server", str(NOTEBOOKS), f"--port={port}",
               "--Voila.ip=127.0.0.1", "--show_tracebacks=False"]
    if not warm:
        command.append("--VoilaConfiguration.preheat_kernel=False")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answers(f"{base}/login", process, timeout=timeout, log_path=log_path)
            yield Dashboard(base, TEST_TOKEN, Path(log_path))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def voila(db_path: Path, *, log_path: Path, timeout: float = 90.0):
    """Yield the base URL of a dashboard server without warm kernels (pages at `{base}/voila/render/…`)."""
    with dashboard(db_path, log_path=log_path, warm=False, timeout=timeout) as server:
        yield server.base
