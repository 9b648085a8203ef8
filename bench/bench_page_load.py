"""Time from navigation to each dashboard page's first usable control in real Chromium, as a ratio to a bare
one-widget Voila page measured in the same run.

    .venv/bin/python bench/bench_page_load.py [--rounds 3] [--big-calls 10000000]

The dashboard runs as admins run it (`python -m commcredits.ui.server`: warm kernels, token) on a demo tenant
built here; the baseline is a notebook holding one Button, served by plain `voila` with its defaults. Each
round opens every page in a fresh browser context once its warm kernel is back in the pool (as for an admin
who opens a page a few seconds after the last one), right after a load of the bare page, so a busy machine
slows both alike. Each server serves one page before measuring starts (its first request also loads
templates and front-end files). Prints the median time per page and the median of its ratios to the bare page.

--big-calls N also builds a big ledger (bench/big_ledger.py: the demo tenant with N more settled calls), or
--big-ledger PATH uses one built before (on a copy), and serves it beside the demo; each page is then also timed on the big ledger right after the demo, and the
median of big/demo is printed (the scale target: within 1.5x).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from big_ledger import build_big  # noqa: E402
from voila_server import dashboard, free_port, wait_until_answers  # noqa: E402

from commcredits.demo import build_demo  # noqa: E402
from commcredits.ui.server import admin_pages  # noqa: E402

# what an admin can use first on each page; other pages: their first button
FIRST_CONTROL = {
    "00_overview.ipynb": ".cc-card.cc-balance",
    "01_licenses.ipynb": ".cc-plan-button",
    "02_funding.ipynb": ".cc-amount input",
    "03_credit_licenses.ipynb": ".cc-plan-button",
    "04_usage.ipynb": ".cc-import-button, button:has-text('Import')",
}
GENERIC_CONTROL = ".jupyter-widgets button, .jupyter-widgets input"

BARE_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "bare",
            "metadata": {},
            "outputs": [],
            "source": "import ipywidgets\nipywidgets.Button(description='Ready')",
        }
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def time_to_control(browser, url: str, selector: str) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    started = time.monotonic()
    page.goto(url, wait_until="commit")
    page.locator(selector).filter(visible=True).first.wait_for(state="visible", timeout=120_000)
    seconds = time.monotonic() - started
    context.close()
    return seconds


@contextlib.contextmanager
def bare_server(folder: Path):
    """Plain `voila` with its defaults serving a notebook that shows one Button."""
    notebook = folder / "bare.ipynb"
    notebook.write_text(json.dumps(BARE_NOTEBOOK))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/login", process, timeout=120)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=20)


def measure(
    browser, folder: Path, rounds: int, big_calls: int, big_path: Path | None
) -> tuple[list[float], dict, dict]:
    """Per page and round: (page seconds, bare seconds measured just before it), so load on a shared
    machine hits both alike; with a big ledger also (big-ledger seconds, demo seconds) of the same round."""
    db = folder / "demo.duckdb"
    build_demo(db)
    names = admin_pages(ROOT / "notebooks")
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    big_samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    bare_all = []
    with contextlib.ExitStack() as stack:
        bare_url = stack.enter_context(bare_server(folder))
        server = stack.enter_context(dashboard(db, log_path=folder / "voila.log"))
        big = None
        if big_calls and big_path is None:
            started = time.monotonic()
            big_path = folder / "big.duckdb"
            build_big(big_path, big_calls)
            print(f"big ledger: demo + {big_calls:,} calls built in {time.monotonic() - started:.0f} s", flush=True)
        if big_path is not None:
            copy = folder / "big.duckdb"
            if big_path != copy:  # the pages write (rollups, settings): never touch the given file
                shutil.copyfile(big_path, copy)
            big = stack.enter_context(dashboard(copy, log_path=folder / "voila-big.log"))
        # not measured: each server's first page also loads its templates and front-end files once
        time_to_control(browser, bare_url, "button:has-text('Ready')")
        for each in filter(None, (server, big)):
            each.wait_until_warm()
            time_to_control(browser, each.url(names[0]), FIRST_CONTROL.get(names[0], GENERIC_CONTROL))
        for round_no in range(rounds):
            for name in names:
                selector = FIRST_CONTROL.get(name, GENERIC_CONTROL)
                server.wait_until_warm()
                bare = time_to_control(browser, bare_url, "button:has-text('Ready')")
                seconds = time_to_control(browser, server.url(name), selector)
                samples[name].append((seconds, bare))
                bare_all.append(bare)
                line = f"round {round_no + 1} {name}: {seconds:.2f} s (bare {bare:.2f} s)"
                if big:
                    big.wait_until_warm()
                    on_big = time_to_control(browser, big.url(name), selector)
                    big_samples[name].append((on_big, seconds))
                    line += f", big ledger {on_big:.2f} s"
                print(line, flush=True)
    return bare_all, samples, big_samples if big else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-calls", type=int, default=0, help="also time each page on the demo plus N calls")
    parser.add_argument("--big-ledger", type=Path, help="a big ledger built by bench/big_ledger.py (used on a copy)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-page-load-"))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            bare_all, pages, big = measure(browser, folder, args.rounds, args.big_calls, args.big_ledger)
            browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"bare one-widget Voila page: median {statistics.median(bare_all):.2f} s over {len(bare_all)} loads; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = f"{'page':28} {'first usable control':>22} {'ratio to bare (median)':>24}"
    print(header + (f" {'big ledger':>12} {'big / demo (median)':>20}" if big else ""))
    for name, pairs in pages.items():
        seconds = statistics.median(page for page, _ in pairs)
        ratio = statistics.median(page / bare for page, bare in pairs)
        line = f"{name:28} {seconds:20.2f} s {ratio:23.2f}×"
        if big:
            line += (
                f" {statistics.median(b for b, _ in big[name]):10.2f} s"
                f" {statistics.median(b / d for b, d in big[name]):19.2f}×"
            )
        print(line)


if __name__ == "__main__":
    main()
