"""Sync from a Graph stand-in through the real msgraph-sdk: same ledger as a file import, resumable, throttled."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from graph_standin import GraphStandin, StandinCredential, pstn_row, spread_calls
from test_license_forms import USERS, sku

import commcredits as cc
from commcredits.errors import M365Error
from commcredits.licensing.catalog import AUDIO_CONFERENCING_SKU, TEAMS_PHONE_SKU
from commcredits.m365.connection import connect_m365
from commcredits.m365.sync import call_windows, last_sync, lookback, sync_m365

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
FIRST = NOW - timedelta(days=200)
SKUS = [
    sku("6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", 10, 5),
    sku(AUDIO_CONFERENCING_SKU, "MCOMEETADV", 10, 1),
    sku(TEAMS_PHONE_SKU, "MCOEV", 5, 1),
]
LEDGER_TABLES = [
    "SELECT * EXCLUDE (recorded_at) FROM entries ORDER BY entry_id",
    "SELECT * FROM allocations ORDER BY entry_id, lot_id",
    "SELECT * FROM lots ORDER BY lot_id",
    "SELECT * FROM call_charge ORDER BY usage_id",
    "SELECT * EXCLUDE (source_file, imported_at) FROM pstn_call ORDER BY usage_id",
]


@pytest.fixture
def standin():
    server = GraphStandin(
        users=USERS, skus=SKUS, calls=spread_calls(700, FIRST, 199), user_page=2, call_page=200
    ).start()
    yield server
    server.stop()


def funded_ledger(path):
    ledger = cc.open_ledger(path, currency="USD")
    ledger.add_funds("5000.00", at=FIRST - timedelta(days=1), order_id="PO-1")
    return ledger


def connect(standin, **credential):
    return connect_m365(credential=StandinCredential(**credential), base_url=standin.base_url)


def snapshot(ledger):
    return [ledger.store.query(q) for q in LEDGER_TABLES]


def test_windows_are_at_most_90_days_and_cover_the_period():
    windows = call_windows(FIRST, NOW)
    assert [b - a for a, b in windows] == [timedelta(days=90), timedelta(days=90), timedelta(days=20)]
    assert windows[0][0] == FIRST and windows[-1][1] == NOW
    assert all(w1[1] == w2[0] for w1, w2 in zip(windows, windows[1:]))


def test_sync_gives_the_same_ledger_as_importing_the_same_pages_as_files(standin, tmp_path):
    synced = funded_ledger(tmp_path / "synced.duckdb")
    report = sync_m365(synced, connect(standin), since=FIRST, now=NOW)
    assert report.users == 5 and report.skus == 3
    assert report.windows == 3 and report.calls.imported == 700 and report.settled.settled == 700
    # every window was asked for at most 90 days, every page followed (the stand-in pages by 200 here)
    calls = standin.requests("getPstnCalls")
    assert len(calls) == 5 and sum("$skip=200" in c for c in calls) == 2
    assert all("$select=" in u for u in standin.requests(r"/users\?"))
    assert len(standin.requests(r"/users\?")) == 3  # $top=999 but the stand-in pages by 2: every page read

    # the admin's way: the same Graph pages saved as files, imported, rated and settled by hand
    folder = tmp_path / "exported"
    folder.mkdir()
    conn = connect(standin)
    for number, (a, b) in enumerate(call_windows(FIRST, NOW)):
        url = f"communications/callRecords/getPstnCalls(fromDateTime={a:%Y-%m-%dT%H:%M:%SZ},toDateTime={b:%Y-%m-%dT%H:%M:%SZ})"
        for page_no, page in enumerate(conn.pages(url)):
            (folder / f"w{number}-p{page_no}.json").write_text(json.dumps(page))
    by_files = funded_ledger(tmp_path / "files.duckdb")
    cc.import_graph_tenant(by_files.store, {"value": USERS}, {"value": SKUS})
    cc.import_pstn_calls(by_files, folder)
    cc.rate_calls(by_files)
    cc.settle(by_files)
    assert snapshot(synced) == snapshot(by_files)
    assert synced.balance() == by_files.balance() < 5000
    assert "700 new" in report.summary() and "settled for $" in report.summary()


def test_interrupted_sync_resumes_after_the_last_window_done_and_charges_nothing_twice(standin, tmp_path):
    ledger = funded_ledger(tmp_path / "ledger.duckdb")
    # the second page of the second window fails: the first window is done, half the second imported
    standin.fail.append({"match": r"getPstnCalls.*\$skip=200", "after": 1, "status": 500})
    with pytest.raises(M365Error, match="500"):
        sync_m365(ledger, connect(standin), since=FIRST, now=NOW)
    failed = last_sync(ledger.store)
    assert failed["status"] == "failed" and failed["windows_done"] == 1
    first_window = sum(
        FIRST <= datetime.fromisoformat(c["startDateTime"]) <= FIRST + timedelta(days=90) for c in standin.calls
    )
    assert ledger.store.query("SELECT count(*) FROM pstn_call")[0][0] == first_window + 200
    standin.fail.clear()
    standin.log.clear()
    report = sync_m365(ledger, connect(standin), now=NOW)
    first_asked = standin.requests("getPstnCalls")[0]  # the last window done, less the 72-hour look-back
    resumed_from = FIRST + timedelta(days=90) - timedelta(hours=72)
    assert f"fromDateTime={resumed_from:%Y-%m-%dT%H:%M:%S}" in first_asked.replace("%3A", ":")
    assert report.windows == 2 and report.calls.duplicates >= 200  # the half window already imported
    assert ledger.store.query("SELECT count(*), count(DISTINCT usage_id) FROM pstn_call")[0] == (700, 700)
    spends = ledger.store.query("SELECT count(*), count(DISTINCT idempotency_key) FROM entries WHERE kind = 'spend'")
    assert spends[0] == (700, 700)

    clean = funded_ledger(tmp_path / "clean.duckdb")
    sync_m365(clean, connect(standin), since=FIRST, now=NOW)
    assert snapshot(ledger)[:4] == snapshot(clean)[:4]


def test_a_call_graph_reports_30_hours_late_is_picked_up_by_the_next_sync_exactly_once(standin, tmp_path):
    """getPstnCalls data "usually reflect a 24 to 48 hour latency": a row that appears 30 h after its call, inside a
    window an earlier sync already read, is found by the look-back of the next sync, said to be late, charged once."""
    ledger = funded_ledger(tmp_path / "ledger.duckdb")
    sync_m365(ledger, connect(standin), since=FIRST, now=NOW)
    late = pstn_row(9001, NOW - timedelta(hours=1), "3.00")  # made before the first sync ended, reported later
    standin.calls = sorted([*standin.calls, late], key=lambda c: (c["startDateTime"], c["id"]))
    second = sync_m365(ledger, connect(standin), now=NOW + timedelta(hours=29))
    third = sync_m365(ledger, connect(standin), now=NOW + timedelta(hours=30))
    assert second.calls.imported == 1 and second.late_rows == 1 and third.late_rows == 0
    assert "1 of the new calls reported late" in second.summary() and "late" not in third.summary()
    (said,) = ledger.store.query("SELECT message FROM m365_syncs WHERE run_id = $1", [second.run_id])[0]
    assert "1 of the new calls reported late" in said  # what the Microsoft 365 page shows under Last sync
    spends = ledger.store.query("SELECT count(*) FROM entry WHERE kind = 'spend' AND usage_id = $1", [late["id"]])
    assert spends == [(1,)] and ledger.store.query("SELECT count(*) FROM pstn_call")[0][0] == 701


def test_the_look_back_is_a_setting_of_hours(monkeypatch):
    assert lookback() == timedelta(hours=72)
    monkeypatch.setenv("COMMCREDITS_SYNC_LOOKBACK_HOURS", "96")
    assert lookback() == timedelta(hours=96)
    monkeypatch.setenv("COMMCREDITS_SYNC_LOOKBACK_HOURS", "three days")
    with pytest.raises(cc.InvalidInput, match="COMMCREDITS_SYNC_LOOKBACK_HOURS"):
        lookback()


def test_throttled_sync_waits_retry_after_and_says_so(standin, tmp_path):
    ledger = funded_ledger(tmp_path / "ledger.duckdb")
    standin.throttle.append({"match": "subscribedSkus", "times": 1, "retry_after": 1, "status": 429})
    standin.throttle.append({"match": "getPstnCalls", "times": 1, "retry_after": 1, "status": 503})
    connection = connect(standin)
    report = sync_m365(ledger, connection, since=NOW - timedelta(days=10), now=NOW)
    assert [(w.status, w.seconds) for w in connection.waits] == [(429, 1.0), (503, 1.0)]
    assert report.waited_seconds == 2.0 and "waited 2 s for Microsoft Graph throttling" in report.summary()
    assert last_sync(ledger.store)["waited_seconds"] == 2.0


def test_missing_call_records_permission_fails_in_words_and_keeps_the_tenant(standin, tmp_path):
    ledger = funded_ledger(tmp_path / "ledger.duckdb")
    with pytest.raises(M365Error, match="403 Authorization_RequestDenied: Insufficient privileges"):
        sync_m365(ledger, connect(standin, roles=["User.Read.All", "Organization.Read.All"]), since=FIRST, now=NOW)
    assert ledger.store.query("SELECT count(*) FROM tenant_user")[0][0] == 5
    assert ledger.store.query("SELECT count(*) FROM pstn_call")[0][0] == 0
    assert last_sync(ledger.store)["status"] == "failed"
