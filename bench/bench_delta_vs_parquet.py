"""Evidence for docs/export.md's choice: the same calls written as Hive-partitioned Parquet and as a Delta table.

    pip install deltalake   # in a scratch venv: not a dependency of commcredits
    python bench/bench_delta_vs_parquet.py [--dataset /tmp/commcredits-bench/export/200x100000/dataset] [--tenants 50]

Reads the calls of the first --tenants tenants from a dataset written by bench_tenant_export.py, then measures:
writing them partitioned by tenant and month (DuckDB COPY ... PARTITION_BY vs deltalake.write_deltalake), rewriting
one tenant-month, and "charges by tenant and month" read back (DuckDB read_parquet vs the Delta log read by
deltalake and its files scanned by DuckDB through a pyarrow dataset; DuckDB's delta extension needs a download).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.compute as pc

QUESTION = "SELECT tenant, month, sum(charge) AS charged FROM {} GROUP BY ALL"


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def main() -> None:
    import deltalake  # only this script needs it

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="/tmp/commcredits-bench/export/200x100000/dataset")
    parser.add_argument("--tenants", type=int, default=50)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    calls = con.sql(
        f"SELECT * FROM read_parquet('{args.dataset}/calls/*/*/*.parquet', hive_partitioning = true) "
        f"WHERE tenant < 'tenant-{args.tenants:03}'"
    ).to_arrow_table()
    out = Path(tempfile.mkdtemp(prefix="delta-vs-parquet-"))
    parquet, delta = out / "parquet", out / "delta"
    con.register("calls", calls)
    wrote_parquet = timed(
        lambda: con.execute(f"COPY calls TO '{parquet}' (FORMAT PARQUET, PARTITION_BY (tenant, month))")
    )
    wrote_delta = timed(lambda: deltalake.write_deltalake(str(delta), calls, partition_by=["tenant", "month"]))
    print(f"{calls.num_rows:,} calls; load average {os.getloadavg()[0]:.1f}")
    print(
        f"write: Parquet {wrote_parquet:.1f} s, {megabytes(parquet):.0f} MB; Delta {wrote_delta:.1f} s, {megabytes(delta):.0f} MB"
    )

    month = calls["month"][0].as_py()
    part = calls.filter(pc.and_(pc.equal(calls["tenant"], "tenant-000"), pc.equal(calls["month"], month)))
    con.register("part", part)
    target = parquet / "tenant=tenant-000" / f"month={month}" / "data_0.parquet"
    again_parquet = timed(
        lambda: con.execute(f"COPY (SELECT * EXCLUDE (tenant, month) FROM part) TO '{target}' (FORMAT PARQUET)")
    )
    again_delta = timed(
        lambda: deltalake.write_deltalake(
            str(delta), part, mode="overwrite", predicate=f"tenant = 'tenant-000' AND month = '{month}'"
        )
    )
    print(f"one tenant-month rewritten: Parquet {again_parquet:.2f} s; Delta {again_delta:.2f} s")

    read_parquet = timed(
        lambda: con.sql(
            QUESTION.format(f"read_parquet('{parquet}/*/*/*.parquet', hive_partitioning = true)")
        ).fetchall()
    )

    def read_delta():
        con.register("delta_calls", deltalake.DeltaTable(str(delta)).to_pyarrow_dataset())
        con.sql(QUESTION.format("delta_calls")).fetchall()

    print(f"charges by tenant and month: Parquet {read_parquet:.2f} s; Delta {timed(read_delta):.2f} s")
    shutil.rmtree(out)


if __name__ == "__main__":
    main()
