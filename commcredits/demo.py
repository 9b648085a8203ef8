"""The embedded demo tenant: a deterministic organisation with 14 months of funding, recharges, expiries
and credit-paid calls, ending today. Build it with `python -m commcredits.demo PATH`."""

from __future__ import annotations

import argparse
import random
import sys
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from tqdm.auto import tqdm

from .ledger import Ledger, open_ledger

HISTORY_DAYS = 420
CALLS_PER_DAY = 14


def demo_end(today: datetime | None = None) -> datetime:
    """The demo's last instant: the start of today (UTC), so the demo is 'current' whenever it is built."""
    now = today or datetime.now(timezone.utc)
    return datetime.combine(now.date(), time(0), tzinfo=timezone.utc)


def fill_ledger(ledger: Ledger, *, end: datetime, seed: int = 7, progress: bool = False) -> None:
    """Record the demo history into `ledger` (deterministic for a given `end` and `seed`)."""
    rng = random.Random(seed)
    start = end - timedelta(days=HISTORY_DAYS)
    ledger.add_funds("2000.00", at=start, order_id="DEMO-ORDER-0001")
    ledger.set_auto_recharge(amount="500.00", below="100.00")
    days = range(HISTORY_DAYS)
    for day in tqdm(days, desc="demo calls", disable=not progress):
        midnight = start + timedelta(days=day)
        if day == 150:
            ledger.add_funds("1000.00", at=midnight + timedelta(hours=7), order_id="DEMO-ORDER-0002")
        weekend = midnight.weekday() >= 5
        count = rng.randint(0, 4) if weekend else rng.randint(CALLS_PER_DAY // 2, CALLS_PER_DAY * 3 // 2)
        seconds = sorted(rng.randint(8 * 3600, 19 * 3600) for _ in range(count))
        for index, second in enumerate(seconds):
            minutes = max(1, int(rng.expovariate(1 / 9)))
            rate = rng.choice([Decimal("0.019"), Decimal("0.05"), Decimal("0.12"), Decimal("0.29"), Decimal("1.10")])
            charge = max(Decimal("0.01"), (rate * minutes).quantize(Decimal("0.01")))
            ledger.spend(charge, at=midnight + timedelta(seconds=second), usage_id=f"demo-{day:03d}-{index:02d}")


def build_demo(path: str | Path, *, today: datetime | None = None, seed: int = 7, progress: bool = True) -> Ledger:
    """Build the demo ledger in memory, then write it to `path` (which must not exist yet)."""
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} exists; delete it to rebuild the demo tenant.")
    target.parent.mkdir(parents=True, exist_ok=True)
    ledger = open_ledger(":memory:", currency="USD", agreement="MOSA")
    fill_ledger(ledger, end=demo_end(today), seed=seed, progress=progress)
    ledger.store.copy_to(target)
    return open_ledger(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", help="DuckDB file to create, e.g. data/demo.duckdb")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    ledger = build_demo(args.path, seed=args.seed)
    print(f"demo tenant written to {args.path}: balance {ledger.balance()} {ledger.currency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
