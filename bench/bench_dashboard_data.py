"""Benchmark: the data behind the Overview and Usage pages on a big ledger vs the demo ledger.

    python bench/bench_dashboard_data.py --ledger /tmp/commcredits-bench/big-10M.duckdb [--repeat 3]

--ledger is a ledger file holding millions of settled calls (build one with bench/big_ledger.py: the demo
tenant with N more calls). The demo ledger is built here in a temporary folder. For each, best of --repeat:
what the Overview page computes before its first control shows (overview_parts, in one read session), what the
Usage page computes (the three spend tables of UsagePage.show_spend), and the analyst views' summaries
(ANALYST_QUERIES, as the analyst notebook asks them; not the raw per-call views, which grow with the calls). This times the page data in
Python, not the page in a browser (bench_page_load.py does that); a page's first control also waits for the
kernel and widgets, which do not grow with the ledger, so the page-load ratio is smaller than this one.
The first read after a settlement refreshes the rollups; it is reported on its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import commcredits as cc  # noqa: E402
from commcredits.demo import build_demo  # noqa: E402
from commcredits.ui.overview import overview_parts  # noqa: E402
from commcredits.usage import insights  # noqa: E402


def overview(ledger):
    overview_parts(ledger)  # as the page renders: one read session


def usage(ledger):
    for dimension in ("user", "destination", "month"):
        insights.spend_by(ledger, dimension)


# what an analyst asks first (analyst.ipynb): summaries, so their answer does not grow with the calls
ANALYST_QUERIES = (
    "SELECT * FROM spend_by_month ORDER BY month",
    "SELECT * FROM spend_by_user ORDER BY amount DESC LIMIT 25",
    "SELECT * FROM spend_by_destination ORDER BY amount DESC",
    "SELECT * FROM daily_balance ORDER BY day DESC LIMIT 90",
    "SELECT * FROM invoices_by_month ORDER BY month",
    "SELECT * FROM lots ORDER BY lot_id DESC LIMIT 25",
)


def analyst(ledger):
    for query in ANALYST_QUERIES:
        ledger.store.query(query)


def best(action, ledger, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action(ledger)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", required=True, help="a ledger file with millions of settled calls")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = build_demo(Path(tmp) / "demo.duckdb")
        big_path = Path(tmp) / "big.duckdb"
        shutil.copyfile(args.ledger, big_path)  # the rollup refresh writes: work on a copy
        big = cc.open_ledger(big_path)
        (calls,) = big.store.query("SELECT count(*) FROM entry WHERE kind = 'spend'")[0]
        (demo_calls,) = demo.store.query("SELECT count(*) FROM entry WHERE kind = 'spend'")[0]
        first = time.perf_counter()
        insights.spend_by(big, "user")
        first = time.perf_counter() - first
        print(
            f"big ledger: {calls:,} settled calls; demo: {demo_calls:,}; first read after settling (rollup "
            f"refresh if needed): {first:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        for name, action in (("Overview", overview), ("Usage", usage), ("Analyst", analyst)):
            small = best(action, demo, args.repeat)
            large = best(action, big, args.repeat)
            print(
                f"{name:8} data: {large:6.2f} s on {calls:,} calls vs {small:6.2f} s on the demo -> {large / small:5.1f} x"
            )


if __name__ == "__main__":
    main()
