"""Benchmark: settling from imported call rows (view microsoft_charge) and the per-call status view
call_charges, against DuckDB's bare scans of the same table measured in the same run.

    python bench/bench_call_charges.py --rows 1000000

Data is generated (not committed): Graph-shaped pstn_call rows over 18 months, most charged 0.00 (included
minutes), about 15 % charged 0.01..3.00, 2 % carried by an Operator Connect carrier, 1 % in EUR and 1 % without
a charge. One opening order and auto-recharge on, so every charged USD row settles.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import commcredits as cc  # noqa: E402
from commcredits.credits.settlement import settle  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)

ROWS = """
INSERT INTO pstn_call (usage_id, call_id, user_id, user_principal_name, start_at, duration_seconds, charge, currency,
                       call_type, license_capability, operator, source, imported_at, id_key)
SELECT 'row-' || i, 'call-' || i, 'user-' || (i % 5000), 'user' || (i % 5000) || '@contoso.com',
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((hash(i) % 47304000000000)::BIGINT),
       60 + hash(i * 3) % 900,
       CASE WHEN hash(i * 5) % 100 = 0 THEN NULL
            WHEN hash(i * 5) % 100 < 16 THEN (((hash(i * 7 + 1) % 300) + 1) * 0.01)
            ELSE 0 END::DECIMAL(18, 6),
       CASE WHEN hash(i * 11) % 100 = 0 THEN 'EUR' ELSE 'USD' END,
       'user_out', 'MCOPSTN1',
       CASE WHEN hash(i * 13) % 50 = 0 THEN 'Fabrikam Telecom' ELSE 'Microsoft' END,
       'graph', now(), row_id_key('row-' || i)
FROM range($1) t(i)
"""


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    ledger = cc.open_ledger(":memory:")
    ledger.add_funds("1000.00", at=START, order_id="opening")
    ledger.set_auto_recharge(amount="500.00", below="100.00")
    with ledger.store.transaction() as con:
        con.execute(ROWS, [args.rows]).fetchall()
    store = ledger.store

    bare_scan, _ = timed(lambda: store.query("SELECT currency, count(*), sum(charge) FROM pstn_call GROUP BY 1"))
    bare_sort, _ = timed(
        lambda: store.query(
            "SELECT count(*), max(s) FROM (SELECT sum(charge) OVER (ORDER BY start_at, usage_id) AS s FROM pstn_call "
            "WHERE charge > 0)"
        )
    )
    settle_time, report = timed(lambda: settle(ledger))
    status_time, counts = timed(lambda: store.query("SELECT status, count(*) FROM call_charges GROUP BY status"))
    reconcile_time, result = timed(lambda: cc.reconcile(ledger, "100.00", at=datetime(2025, 7, 1, tzinfo=UTC)))

    print(
        f"{args.rows:,} imported rows: settled {report.settled:,} ({report.recharges:,} recharges); "
        f"statuses {dict(sorted(counts))}"
    )
    print(f"bare scan (group by currency):        {bare_scan:8.2f} s")
    print(f"bare ordered running sum of charges:  {bare_sort:8.2f} s")
    print(
        f"settle from microsoft_charge:         {settle_time:8.2f} s   {settle_time / bare_sort:6.1f}x the ordered sum"
    )
    print(f"call_charges status counts:           {status_time:8.2f} s   {status_time / bare_scan:6.1f}x the bare scan")
    print(
        f"reconcile:                            {reconcile_time:8.2f} s   {reconcile_time / bare_scan:6.1f}x the bare scan"
    )


if __name__ == "__main__":
    main()
