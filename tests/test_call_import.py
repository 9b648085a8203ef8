"""Importing Graph getPstnCalls responses and Teams admin center CSV exports: once per row id, bad rows quarantined."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_call_charges import graph_row

import commcredits as cc
from commcredits.credits.settlement import settle
from commcredits.store import in_any_order
from commcredits.usage.call_import import ImportReport, import_pstn_calls, iter_graph_pages, quarantined_rows

CALLS = Path(__file__).parent / "fixtures" / "calls"
CSV = CALLS / "PSTN.calls.2025-03-31.csv"


@pytest.fixture
def ledger():
    return cc.open_ledger()


def calls(ledger) -> pd.DataFrame:
    return ledger.store.query_df("SELECT * FROM pstn_call ORDER BY usage_id")


def test_graph_pages_overlap_and_bad_rows_go_to_quarantine(ledger):
    report = import_pstn_calls(ledger, CALLS / "graph_pages")
    assert report == ImportReport(imported=5, duplicates=1, quarantined=4, files=2)
    reasons = set(quarantined_rows(ledger)["reason"])
    assert "missing row id (Graph id / CSV UsageId)" in reasons
    assert "not a JSON object" in reasons
    assert any(r.startswith("charge is not a number") for r in reasons)
    assert any(r.startswith("start time is not a date and time") for r in reasons)


def test_reimporting_imports_nothing_twice_and_quarantines_nothing_twice(ledger):
    import_pstn_calls(ledger, CALLS / "graph_pages")
    again = import_pstn_calls(ledger, CALLS / "graph_pages")
    assert again.imported == 0 and again.duplicates == 6
    assert len(calls(ledger)) == 5 and len(quarantined_rows(ledger)) == 4


def test_rows_are_keyed_on_id_not_call_id(ledger):
    import_pstn_calls(ledger, CALLS / "graph_pages")
    rows = calls(ledger)
    assert rows["call_id"].value_counts().max() == 2  # a transfer shares the callId of the first leg


def test_fields_keep_exact_values_and_calls_without_a_user(ledger):
    import_pstn_calls(ledger, CALLS / "graph_pages")
    row = calls(ledger).set_index("usage_id").loc["9c4984c7-6c3c-427d-a30c-bd0b2eacee90"]
    assert row["charge"] == Decimal("1.36") and row["duration_seconds"] == 742
    assert row["start_at"] == pd.Timestamp("2025-03-03T09:15:08.258993Z")
    ucap = calls(ledger).set_index("usage_id").loc["c7aa1b40-1111-4c2b-8e55-0c2f9f3a7a10"]
    assert pd.isna(ucap["user_principal_name"]) and ucap["call_type"] == "ucap_in"
    assert set(calls(ledger)["currency"]) == {"USD", "EUR"}  # mixed currencies import as reported


def test_json_lines_with_a_broken_line_and_a_page_per_line(ledger):
    report = import_pstn_calls(ledger, CALLS / "calls.jsonl")
    assert report.imported == 3 and report.quarantined == 2
    reasons = list(quarantined_rows(ledger)["reason"])
    assert "line 4 is not valid JSON" in reasons and "negative duration: -5" in reasons


def test_a_clean_json_lines_file_records_what_the_same_rows_as_a_graph_response_record(tmp_path):
    """A JSON lines file whose rows are all readable and new is read in parallel without line numbers; it must
    record exactly what the same rows record through the row-by-row path (one Graph response file)."""
    rows = [
        {
            "id": "r1",
            "startDateTime": "2025-03-03T09:15:08.258993Z",
            "duration": 742,
            "charge": 1.3600001,  # more digits than the currency: kept as reported
            "connectionCharge": 0.05,
            "currency": "usd",
            "callType": "user_out",
            "calleeNumber": "+442079460000",
            "userPrincipalName": "zoë@contoso.com",
            "licenseCapability": " MCOPSTNPP ",
            "unknownField": {"a": 1},
        },
        {
            "id": " r2 ",
            "startDateTime": "2025-03-04T10:00:00",
            "duration": "61.6",
            "charge": "0.10",
            "currency": "EUR",
            "callType": "ucap_in",
            "userPrincipalName": None,
            "usageCountryCode": "gb",
        },
        {
            "id": "r3",
            "startDateTime": "03/05/2025 01:02:03 PM",
            "endDateTime": "",
            "duration": 0,
            "charge": 0,
            "currency": "USD",
            "callType": "user_in",
            "operator": "Microsoft",
        },
    ]
    lines = tmp_path / "calls.jsonl"
    lines.write_text("\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"value": rows}), encoding="utf-8")
    by_lines, by_page = cc.open_ledger(), cc.open_ledger()
    assert import_pstn_calls(by_lines, lines) == ImportReport(imported=3, files=1)
    assert import_pstn_calls(by_page, page) == ImportReport(imported=3, files=1)
    recorded = [calls(ledger).drop(columns=["source_file", "imported_at"]) for ledger in (by_lines, by_page)]
    pd.testing.assert_frame_equal(*recorded)
    assert list(recorded[0]["usage_id"]) == ["r1", "r2", "r3"] and recorded[0]["charge"][0] == Decimal("1.360000")


def test_text_padded_with_spaces_or_no_break_spaces_imports_trimmed_and_blank_values_count_as_missing(ledger):
    """Values pasted from a spreadsheet carry spaces, sometimes no-break ones (U+00A0): trimmed as before, whichever
    path trims them (numbers: ASCII spaces only); a start time of blanks is a missing one, a blank charge none."""
    nbsp = "\u00a0"
    rows = [
        {
            "id": f"{nbsp}p1{nbsp}",
            "startDateTime": f" 2025-03-03T09:15:08Z{nbsp}",
            "charge": " 0.25 ",
            "currency": f" usd{nbsp}",
            "usageCountryCode": f"{nbsp}gb",
            "licenseCapability": "MCOPSTNPP ",
        },
        {"id": "p2\t", "startDateTime": "2025-03-03T10:00:00Z", "charge": "  ", "duration": " 60 "},
        {"id": "p3", "startDateTime": f"  {nbsp} "},
        {"id": "p4", "startDateTime": "2025-03-03T11:00:00Z", "charge": f"{nbsp}0.25"},  # not a number to DuckDB
    ]
    report = import_pstn_calls(ledger, rows)
    assert report.imported == 2 and report.quarantined == 2
    got = calls(ledger).set_index("usage_id")
    assert list(got.index) == ["p1", "p2\t"]  # a tab is not trimmed (trim() strips spaces only)
    assert got.loc["p1", "charge"] == Decimal("0.25") and got.loc["p1", "currency"] == "USD"
    assert got.loc["p1", "usage_country_code"] == "GB" and got.loc["p1", "license_capability"] == "MCOPSTNPP"
    assert pd.isna(got.loc["p2\t", "charge"]) and got.loc["p2\t", "duration_seconds"] == 60
    assert sorted(quarantined_rows(ledger)["reason"]) == [f"charge is not a number: {nbsp}0.25", "missing start time"]


def test_a_ledger_file_from_before_the_id_keys_still_imports_each_row_once(tmp_path):
    """Files written before pstn_call.id_key get it filled on open: re-importing their calls adds nothing."""
    path = tmp_path / "ledger.duckdb"
    import_pstn_calls(cc.open_ledger(path), CALLS / "graph_pages")
    with duckdb.connect(str(path)) as con:  # as an older version wrote it (it kept no schema fingerprint either)
        con.execute("ALTER TABLE pstn_call DROP COLUMN id_key")
        con.execute("COMMENT ON VIEW entries IS NULL")
    ledger = cc.open_ledger(path)
    again = import_pstn_calls(ledger, CALLS / "graph_pages")
    assert again.imported == 0 and again.duplicates == 6 and len(calls(ledger)) == 5
    assert ledger.store.query("SELECT count(*) FROM pstn_call WHERE id_key IS NULL") == [(0,)]


def test_keys_written_by_another_duckdb_hash_are_written_again(tmp_path):
    """DuckDB does not promise hash() stays the same across versions: keys from another one are redone on open."""
    path = tmp_path / "ledger.duckdb"
    import_pstn_calls(cc.open_ledger(path), CALLS / "graph_pages")
    with duckdb.connect(str(path)) as con:  # as a DuckDB with another hash() would have written them
        con.execute("UPDATE pstn_call SET id_key = id_key // 2")
        con.execute("UPDATE id_key_probe SET probe = [1, 2]")
    ledger = cc.open_ledger(path)
    again = import_pstn_calls(ledger, CALLS / "graph_pages")
    assert again.imported == 0 and again.duplicates == 6 and len(calls(ledger)) == 5


def test_full_64_bit_keys_of_earlier_versions_are_written_again_as_32_bit_ones(tmp_path):
    path = tmp_path / "ledger.duckdb"
    import_pstn_calls(cc.open_ledger(path), CALLS / "graph_pages")
    with duckdb.connect(str(path)) as con:  # as the version before 32-bit keys wrote them
        con.execute("UPDATE pstn_call SET id_key = hash(usage_id)")
        con.execute("UPDATE id_key_probe SET probe = [hash('a'), hash('00000000-0000-4000-8000-000000000000')]")
    ledger = cc.open_ledger(path)
    again = import_pstn_calls(ledger, CALLS / "graph_pages")
    assert again.imported == 0 and again.duplicates == 6 and len(calls(ledger)) == 5
    assert ledger.store.query("SELECT max(id_key) < 4294967296 FROM pstn_call") == [(True,)]


def test_a_file_opened_by_an_older_version_in_between_still_imports_each_row_once_and_charges_once(tmp_path):
    """Row keys written another way (a version from before 32-bit keys: its probe macro, 64-bit keys) where the
    schema still counts as current: the import's check must not trust the file's macro. Found in review: the rows
    were imported again and settled twice."""
    path = tmp_path / "ledger.duckdb"
    ledger = cc.open_ledger(path)
    ledger.add_funds("50.00", at=datetime.now(UTC) - timedelta(days=30), order_id="PO-1")
    import_pstn_calls(ledger, CALLS / "graph_pages")
    settle(ledger)
    spent = ledger.balance()
    with duckdb.connect(str(path)) as con:  # what that version's open and import left
        con.execute(
            "CREATE OR REPLACE MACRO id_key_probe_now() AS [hash('a'), hash('00000000-0000-4000-8000-000000000000')]"
        )
        con.execute("UPDATE pstn_call SET id_key = hash(usage_id)")
        con.execute("DELETE FROM id_key_probe")
        con.execute("INSERT INTO id_key_probe SELECT id_key_probe_now()")
    ledger = cc.open_ledger(path)
    again = import_pstn_calls(ledger, CALLS / "graph_pages")
    assert again.imported == 0 and again.duplicates == 6 and len(calls(ledger)) == 5
    settle(ledger)
    assert ledger.balance() == spent


def test_a_new_row_whose_key_matches_a_known_row_is_still_imported(ledger):
    """Keys are 32 bits: different ids may share one. Only the id decides that a row is known."""
    rows = [graph_row(1), graph_row(2)]
    import_pstn_calls(ledger, [rows[0]])
    with ledger.store.transaction() as con:  # the stored row's key as if it collided with the next row's
        con.execute("UPDATE pstn_call SET id_key = row_id_key($1)", [rows[1]["id"]])
    report = import_pstn_calls(ledger, [rows[1]])
    assert (report.imported, report.duplicates) == (1, 0) and len(calls(ledger)) == 2


def test_admin_center_csv_and_zip_overlap_with_graph(ledger, tmp_path):
    import_pstn_calls(ledger, CALLS / "graph_pages")
    report = import_pstn_calls(ledger, CSV)
    # the first row is Graph's 9c4984c7..., the last repeats UsageId ...0001; one ragged line, one bad time
    assert report == ImportReport(imported=3, duplicates=2, quarantined=2, files=1)
    archive = tmp_path / "Calls.Export.0b1c.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(CSV, CSV.name)
    assert import_pstn_calls(ledger, archive).imported == 0
    fresh = cc.open_ledger()
    assert import_pstn_calls(fresh, archive).imported == 4
    gb = calls(fresh).set_index("usage_id").loc["22222222-bbbb-4ccc-8ddd-000000000003"]
    assert gb["currency"] == "GBP" and gb["license_capability"] == "MCOPSTNPP" and gb["usage_country_code"] == "GB"


def test_rows_in_memory_from_a_generator(ledger, tmp_path):
    rows = [
        {
            "id": f"r{i}",
            "startDateTime": datetime(2025, 1, 1, i, tzinfo=UTC),
            "duration": 60,
            "charge": Decimal("0.10"),
            "currency": "USD",
            "callType": "user_out",
            "licenseCapability": "MCOPSTNPP",
        }
        for i in range(5)
    ] + [{"id": "bad", "startDateTime": None}]
    assert import_pstn_calls(ledger, rows) == ImportReport(imported=5, duplicates=0, quarantined=1, files=1)
    assert import_pstn_calls(ledger, pd.DataFrame(rows[:2])).duplicates == 2
    for number, page in enumerate(iter_graph_pages(rows[:5], page_size=2)):
        (tmp_path / f"p{number}.json").write_text(json.dumps(page, default=str))
    assert import_pstn_calls(cc.open_ledger(), tmp_path).imported == 5


def test_a_missing_source_is_an_input_error(ledger):
    with pytest.raises(cc.InvalidInput):
        import_pstn_calls(ledger, CALLS / "nope.json")


def test_quarantined_csv_rows_point_at_their_real_line(ledger):
    import_pstn_calls(ledger, CSV)
    rows = quarantined_rows(ledger).set_index("row_number")["reason"]
    # line 6 is ragged (rejected by the CSV reader), line 7 has a bad start time: each keeps its own line
    assert "Expected Number of Columns" in rows[6]
    assert "start time is not a date and time" in rows[7]


def test_a_broken_page_among_good_pages_is_quarantined_and_the_rest_import(ledger, tmp_path):
    rows = [
        {
            "id": f"p{i}",
            "startDateTime": "2025-01-01T10:00:00Z",
            "duration": 60,
            "charge": 0.1,
            "currency": "USD",
            "callType": "user_out",
        }
        for i in range(6)
    ]
    rows.append(dict(rows[0]))  # the same row id on a later page: imported once
    for number, page in enumerate(iter_graph_pages(rows, page_size=2)):
        (tmp_path / f"page-{number:03}.json").write_text(json.dumps(page, indent=2))
    (tmp_path / "page-001b.json").write_text('{\n  "value": [ {"id": "cut off"')  # read in the same batch
    report = import_pstn_calls(ledger, tmp_path)
    assert report == ImportReport(imported=6, duplicates=1, quarantined=1, files=5)
    (reason,) = quarantined_rows(ledger)["reason"]
    assert reason.startswith("not a complete JSON document")
    assert list(calls(ledger)["source_file"].map(lambda f: Path(f).name).value_counts().sort_index()) == [2, 2, 2]


def _json_lines(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_after_a_clean_file_is_read_in_any_order_a_broken_file_still_names_its_lines(ledger, tmp_path):
    """The clean file is staged without keeping its order (in parallel); the next file, with bad lines, must still be
    read in order, so each quarantined row names its own line."""
    clean = [graph_row(n) for n in range(3000)]
    assert import_pstn_calls(ledger, _json_lines(tmp_path / "clean.jsonl", clean)).imported == 3000
    # a file this small is read in order either way: what numbers the next file's lines is the setting being back
    assert ledger.store.query("SELECT current_setting('preserve_insertion_order')") == [(True,)]
    rows = [graph_row(n) for n in range(3000, 6000)]
    rows[1200] = "{not json"
    rows[2500] = {**rows[2500], "duration": -5}
    report = import_pstn_calls(ledger, _json_lines(tmp_path / "broken.jsonl", rows))
    assert (report.imported, report.quarantined) == (2998, 2)
    lines = quarantined_rows(ledger).set_index("row_number")["reason"]
    assert lines[1201] == "line 1201 is not valid JSON" and lines[2501] == "negative duration: -5"


def test_a_failed_transaction_leaves_the_ledger_keeping_insertion_order(ledger):
    """A failure inside in_any_order cannot turn the setting back itself (the transaction is aborted): the rollback
    does, else the same connection (a notebook's in-memory ledger) would number lines in any order from then on."""
    with pytest.raises(duckdb.Error), ledger.store.transaction() as con, in_any_order(con):
        con.execute("SELECT error('disk full')")
    assert ledger.store.query("SELECT current_setting('preserve_insertion_order')") == [(True,)]
