"""Every tenant's ledger and calls as one Hive-partitioned Parquet dataset, for engines beyond one laptop.

    <target>/entries/tenant=<name>/month=<YYYY-MM>/data.parquet   (table `entry`, by occurred_at)
    <target>/calls/tenant=<name>/month=<YYYY-MM>/data.parquet     (table `pstn_call`, by start_at)

DuckDB (`read_parquet('<target>/calls/*/*/*.parquet', hive_partitioning = true)`), Spark
(`spark.read.parquet("<target>/calls")`), Microsoft Fabric (a Lakehouse's Files, or a shortcut to them) and Power BI
(Parquet / folder connector) read it as it is; `tenant` and `month` come from the folder names. Why Parquet
and not Delta Lake: docs/export.md.

Written incrementally: a tenant whose ledger file has not changed since the last export is not opened, and in a
changed tenant only the months whose rows changed (count, newest entry id or import time) are rewritten. Each
file is written beside its place and renamed into it, so a reader sees the old file or the new one, never half.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .store import Store
from .tenants import _files

# dataset -> (table, the time column that names the month, what says a month changed)
DATASETS = {
    "entries": ("entry", "occurred_at", "max(entry_id)::VARCHAR"),
    "calls": ("pstn_call", "start_at", "max(imported_at)::VARCHAR"),
}
STATE = "_export_state.json"


@dataclass(frozen=True)
class ExportReport:
    """What one export did: tenants read (changed since the last export), tenants skipped, month files written."""

    tenants_read: int = 0
    tenants_skipped: int = 0
    files_written: int = 0


def export_dataset(folder: str | os.PathLike, target: str | os.PathLike, *, tenants=None) -> ExportReport:
    """Export every tenant in `folder` (or the named `tenants`) into the Parquet dataset at `target`."""
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    state_file = root / STATE
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    read = skipped = written = 0
    for name, path in _files(folder, tenants).items():
        known = state.get(name, {})
        if known.get("file") == _stamp(path):
            skipped += 1
            continue
        read += 1
        months, count = _export_tenant(Store(path), name, root, known.get("months", {}))
        written += count
        state[name] = {"file": _stamp(path), "months": months}  # after opening it (opening checks its schema)
        _replace_text(state_file, json.dumps(state, indent=1, sort_keys=True))  # after each tenant: resumable
    return ExportReport(read, skipped, written)


def _stamp(path: Path) -> str:
    """Size and modification time: a ledger file that kept both was not written since."""
    return f"{path.stat().st_size}:{path.stat().st_mtime_ns}"


def _export_tenant(store: Store, name: str, root: Path, known: dict) -> tuple[dict, int]:
    """Rewrite the month files of one tenant whose fingerprint changed; return the new fingerprints."""
    fingerprints, written = {}, 0
    with store.reading() as con:
        for dataset, (table, time_column, newest) in DATASETS.items():
            rows = con.execute(
                f"SELECT strftime({time_column}, '%Y-%m') AS month, count(*)::VARCHAR || '/' || "
                f"{newest} FROM {table} GROUP BY ALL"
            ).fetchall()
            for month, fingerprint in rows:
                key = f"{dataset}/{month}"
                fingerprints[key] = fingerprint
                if known.get(key) == fingerprint:
                    continue
                place = root / dataset / f"tenant={name}" / f"month={month}" / "data.parquet"
                place.parent.mkdir(parents=True, exist_ok=True)
                draft = place.with_suffix(".parquet.tmp")
                con.execute(
                    f"COPY (SELECT * FROM {table} WHERE strftime({time_column}, '%Y-%m') = $1 "
                    f"ORDER BY {time_column}) TO '{draft}' (FORMAT PARQUET)",
                    [month],
                )
                os.replace(draft, place)
                written += 1
    return fingerprints, written


def _replace_text(path: Path, text: str) -> None:
    draft = path.with_suffix(".tmp")
    draft.write_text(text)
    os.replace(draft, path)


def dataset_glob(target: str | os.PathLike, dataset: str) -> str:
    """The file pattern DuckDB reads one dataset with (`hive_partitioning = true` adds tenant and month)."""
    return str(Path(target) / dataset / "*" / "*" / "*.parquet")


__all__ = ["DATASETS", "ExportReport", "dataset_glob", "export_dataset"]
