"""Start a real Voila server on a free loopback port for browser tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def voila(db_path: Path, *, log_path: Path, timeout: float = 60.0):
    """Yield the base URL of Voila serving notebooks/ against the ledger at `db_path`."""
    port = free_port()
    env = {**os.environ, "COMMCREDITS_DB": str(db_path)}
    command = [
        sys.executable, "-m", "voila", str(NOTEBOOKS), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
        f"--ServerApp.root_dir={NOTEBOOKS}", "--show_tracebacks=False",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{base}/voila/tree", timeout=2).read()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"Voila did not start; see {log_path}")
                    time.sleep(0.3)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
