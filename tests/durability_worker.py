"""One writer process of tests/test_commit_durability.py. Every operation it reports as done is appended to
its journal only after the operation returned (and, for the bare pattern, after the connection closed), so the
journal lists exactly what a user was told had been recorded.

usage: python durability_worker.py MODE DATABASE JOURNAL NAME COUNT
MODE: bare-locked | bare-unlocked (open -> insert max(id)+1 -> commit -> close, with or without the
ledger's session lock) | ledger (add_funds / spend through the ledger API)
"""

import json
import random
import sys
import time

import duckdb

from commcredits.store import session_lock


def bare(database: str, journal, name: str, count: int, locked: bool) -> None:
    for seq in range(count):
        while True:
            try:
                if locked:
                    with session_lock(database, write=True):
                        row_id = _insert_once(database, name, seq)
                else:
                    row_id = _insert_once(database, name, seq)
                break
            except (duckdb.IOException, duckdb.ConnectionException, duckdb.TransactionException):
                time.sleep(random.random() * 0.005)  # another process has the file: try again
        journal.write(json.dumps({"worker": name, "seq": seq, "id": row_id}) + "\n")
        journal.flush()


def _insert_once(database: str, name: str, seq: int) -> int:
    con = duckdb.connect(database)
    try:
        con.execute("BEGIN TRANSACTION")
        (row_id,) = con.execute(
            "INSERT INTO t SELECT COALESCE(max(id), 0) + 1, $1, $2 FROM t RETURNING id", [name, seq]
        ).fetchall()[0]
        con.execute("COMMIT")
    finally:
        con.close()
    return row_id


def ledger_ops(database: str, journal, name: str, count: int) -> None:
    import commcredits as cc

    ledger = cc.open_ledger(database)
    for seq in range(count):
        if seq % 3 == 0:  # a purchase, then two calls: the balance never runs out
            lot = ledger.add_funds("10.00", at=None, order_id=f"{name}-order-{seq}")
            record = {"op": "add_funds", "key": f"{name}-order-{seq}", "lot_id": lot.lot_id, "amount": "10.00"}
        else:
            allocations = ledger.spend("3.25", at=None, usage_id=f"{name}-call-{seq}")
            record = {
                "op": "spend",
                "key": f"{name}-call-{seq}",
                "amount": "3.25",
                "allocations": [[a.lot_id, str(a.amount)] for a in allocations],
            }
        journal.write(json.dumps(record) + "\n")
        journal.flush()


def main() -> None:
    mode, database, journal_path, name, count = sys.argv[1:6]
    with open(journal_path, "a", encoding="utf-8") as journal:
        if mode == "ledger":
            ledger_ops(database, journal, name, int(count))
        else:
            bare(database, journal, name, int(count), locked=mode == "bare-locked")


if __name__ == "__main__":
    main()
