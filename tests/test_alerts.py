"""Alert checks (pure), settings and secrets, and the dedup rules, as an admin would notice them."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import keyring
import pytest
from alerts_receivers import MemoryKeyring
from hypothesis import given
from hypothesis import strategies as st

import commcredits as cc
from commcredits.alerts import checks
from commcredits.alerts.checks import Facts, Severity, Thresholds, TollFreeNumber, run_checks
from commcredits.alerts.notify import Sent, current_alerts, plan
from commcredits.alerts.settings import (
    AlertSettings,
    get_secret,
    load_settings,
    mask_url,
    parse_settings,
    save_settings,
    set_secret,
)
from commcredits.errors import SecretStoreUnavailable

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def facts(**changes) -> Facts:
    """A healthy MOSA tenant: $900, $20 a day, auto-recharge off, nothing else wrong."""
    base = Facts(
        as_of=NOW,
        currency="USD",
        funded=True,
        balance=Decimal("900.00"),
        daily_burn=Decimal("20.00"),
        auto_recharge_on=False,
        recharge_amount=None,
        recharge_below=None,
        days_to_trigger=None,
        days_to_zero=45.0,
        calls_imported=100,
        last_import_at=NOW - timedelta(days=1),
        newest_call_at=NOW - timedelta(days=2),
    )
    return replace(base, **changes)


def by_check(alerts):
    return {a.check: a for a in alerts}


def test_a_healthy_tenant_gets_no_alerts():
    assert run_checks(facts()) == []


def test_runway_warns_within_the_threshold_and_is_critical_in_the_last_three_days():
    assert checks.check_runway(facts(days_to_zero=14.5), Thresholds()) == []
    warning = checks.check_runway(facts(balance=Decimal("280.00"), days_to_zero=14.0), Thresholds())[0]
    assert warning.severity is Severity.WARNING and warning.number_text == "14 days"
    assert "stop in about 14 days (Fri 3 Apr 2026)" in warning.sentence and "$280.00" in warning.sentence
    assert warning.page == "02_funding.ipynb"
    critical = checks.check_runway(facts(days_to_zero=2.5), Thresholds())[0]
    assert critical.severity is Severity.CRITICAL and critical.rank > warning.rank
    zero = checks.check_runway(facts(balance=Decimal("0.00"), days_to_zero=0.0), Thresholds())[0]
    assert zero.severity is Severity.CRITICAL and "blocked now" in zero.sentence
    # the admin's own threshold
    assert checks.check_runway(facts(days_to_zero=20.0), Thresholds(runway_days=30))[0].severity is Severity.WARNING


def test_with_auto_recharge_on_reaching_the_trigger_is_only_information():
    f = facts(
        auto_recharge_on=True,
        recharge_amount=Decimal("300.00"),
        recharge_below=Decimal("100.00"),
        days_to_trigger=4.2,
        days_to_zero=9.0,
    )
    (alert,) = checks.check_runway(f, Thresholds())
    assert alert.severity is Severity.INFO and "Auto-recharge will add $300.00" in alert.sentence


def test_mca_tenants_get_no_runway_or_low_balance_alerts():
    f = facts(agreement="MCA", balance=Decimal("0.00"), days_to_zero=0.0)
    assert run_checks(f, Thresholds(low_balance=Decimal("100.00"))) == []


def test_low_balance_uses_the_amount_the_admin_set():
    assert checks.check_low_balance(facts(balance=Decimal("90.00")), Thresholds()) == []
    (alert,) = checks.check_low_balance(facts(balance=Decimal("90.00")), Thresholds(low_balance=Decimal("100.00")))
    assert "$90.00, below your alert level of $100.00" in alert.sentence


def test_expiring_funds_names_the_shortest_horizon_with_money_likely_lost():
    f = facts(
        expiring=[
            (30, Decimal("0.00"), Decimal("0.00")),
            (60, Decimal("500.00"), Decimal("320.00")),
            (90, Decimal("800.00"), Decimal("400.00")),
        ]
    )
    (alert,) = checks.check_expiring(f, Thresholds())
    assert alert.severity is Severity.INFO and "$500.00 of credits expire in the next 60 days" in alert.sentence
    assert alert.number == Decimal("320.00")
    soon = checks.check_expiring(replace(f, expiring=[(30, Decimal("50.00"), Decimal("10.00"))]), Thresholds())[0]
    assert soon.severity is Severity.WARNING


def test_auto_recharge_checker():
    tight = facts(
        auto_recharge_on=True, recharge_amount=Decimal("15.00"), recharge_below=Decimal("30.00"), days_to_trigger=40.0
    )
    found = by_check(checks.check_auto_recharge(tight, Thresholds()))
    assert set(found) == {"auto_recharge.trigger", "auto_recharge.amount"}
    assert "less than two days of calls ($40.00 at $20.00 a day)" in found["auto_recharge.trigger"].sentence
    assert "one invoice after another" in found["auto_recharge.amount"].sentence
    runaway = replace(
        tight,
        recharge_amount=Decimal("500.00"),
        recharge_below=Decimal("100.00"),
        recharges_24h=5,
        recharged_this_month=Decimal("2500.00"),
    )
    found = by_check(checks.check_auto_recharge(runaway, Thresholds(monthly_recharge_budget=Decimal("2000.00"))))
    assert set(found) == {"auto_recharge.runaway", "auto_recharge.budget"}
    assert all(a.severity is Severity.CRITICAL for a in found.values())
    mca = facts(
        agreement="MCA",
        auto_recharge_on=True,
        recharge_amount=Decimal("100.00"),
        recharge_below=Decimal("20.00"),
    )
    (alert,) = checks.check_auto_recharge(mca, Thresholds())
    assert alert.check == "auto_recharge.mca" and alert.severity is Severity.CRITICAL
    assert "Edit auto recharge settings" in alert.fix


def test_readiness_counts_users_who_cannot_dial_out_and_the_change_since_the_last_check():
    f = facts(
        calling_users=205,
        not_ready=44,
        not_ready_last_check=40,
        last_check_at=NOW - timedelta(days=1),
        top_reason="no_communication_credits_license",
        not_ready_reasons=[
            (32, "lack a Communication Credits license"),
            (12, "have a Calling Plan without Teams Phone"),
        ],
    )
    (alert,) = checks.check_readiness(f, Thresholds())
    assert alert.sentence.startswith("44 of 205 users cannot dial out (+4 since the last check on 19 Mar)")
    assert alert.page == "03_credit_licenses.ipynb"


def test_toll_free_numbers_at_risk_only_when_the_balance_can_run_out():
    number = TollFreeNumber("+18005550100", None, 176, Decimal("25.83"))
    assert checks.check_toll_free(facts(toll_free=[number]), Thresholds()) == []
    (soon,) = checks.check_toll_free(facts(toll_free=[number], days_to_zero=9.0), Thresholds())
    assert soon.severity is Severity.WARNING and "+18005550100 (176 calls in the last 30 days)" in soon.sentence
    (empty,) = checks.check_toll_free(facts(toll_free=[number], balance=Decimal("0"), days_to_zero=0.0), Thresholds())
    assert empty.severity is Severity.CRITICAL
    account = TollFreeNumber("+18885550199", "main-line@contoso.com", 0, Decimal(0))
    (named,) = checks.check_toll_free(facts(toll_free=[account], days_to_zero=9.0), Thresholds())
    assert "+18885550199 (main-line@contoso.com)" in named.sentence


def test_data_freshness():
    stale = by_check(
        checks.check_freshness(
            facts(
                newest_call_at=NOW - timedelta(days=9),
                quarantined_recent=3,
                quarantined_since_check=2,
                blocked_recent=1,
            ),
            Thresholds(),
        )
    )
    assert "No calls in the call logs for 9 days" in stale["freshness.import"].sentence
    assert (
        stale["freshness.quarantine"].sentence
        == "3 call log rows could not be read in the last 7 days (2 since the last check)."
    )
    assert stale["freshness.blocked"].severity is Severity.WARNING


def test_freshness_goes_by_the_newest_call_not_the_last_import():
    """An import yesterday that brought only old rows (a late batch) does not make the data current."""
    (stale,) = checks.check_freshness(
        facts(last_import_at=NOW - timedelta(days=1), newest_call_at=NOW - timedelta(days=10)), Thresholds()
    )
    assert stale.severity is Severity.WARNING and "the newest is from Tue 10 Mar 2026" in stale.sentence
    assert (
        checks.check_freshness(
            facts(last_import_at=NOW - timedelta(days=30), newest_call_at=NOW - timedelta(days=2)), Thresholds()
        )
        == []
    )


# ---- what is due ----------------------------------------------------------------------------------------


def sent(alert, day, kind="alert"):
    return Sent(alert.check, kind, alert.severity, alert.level, day, alert.sentence)


def test_one_message_per_check_per_day_unless_worse_and_an_all_clear_when_gone():
    today = NOW.date()
    warning = checks.check_runway(facts(days_to_zero=12.0), Thresholds())[0]
    assert [i.alert for i in plan([warning], {}, today)] == [warning]
    assert plan([warning], {"runway": sent(warning, today)}, today) == []  # already sent today
    slightly_worse = checks.check_runway(facts(days_to_zero=11.5), Thresholds())[0]
    assert plan([slightly_worse], {"runway": sent(warning, today)}, today) == []  # same band
    worse = checks.check_runway(facts(days_to_zero=6.0), Thresholds())[0]
    assert plan([worse], {"runway": sent(warning, today)}, today)[0].alert is worse
    assert plan([warning], {"runway": sent(warning, today - timedelta(days=1))}, today)[0].alert is warning
    (clear,) = plan([], {"runway": sent(warning, today)}, today)
    assert clear.kind == "all_clear" and warning.sentence in clear.alert.sentence
    assert plan([], {"runway": sent(warning, today, "all_clear")}, today) == []  # said once
    info = checks.check_runway(
        facts(
            auto_recharge_on=True, recharge_amount=Decimal("300"), recharge_below=Decimal("100"), days_to_trigger=3.0
        ),
        Thresholds(),
    )[0]
    assert plan([info], {}, today) == []  # info is never sent


# A check's state at each hourly run over a few days: absent, or (severity, level).
runs = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.one_of(st.none(), st.tuples(st.sampled_from([Severity.WARNING, Severity.CRITICAL]), st.integers(0, 4))),
    ),
    min_size=1,
    max_size=40,
).map(lambda xs: sorted(xs, key=lambda x: x[0]))


@given(runs)
def test_dedup_per_day_only_worse_repeats_and_every_problem_ends_with_one_all_clear(states):
    history: dict[str, Sent] = {}
    sent_per_day: dict[int, list] = {}
    last_problem = None
    for day, state in states:
        today = NOW.date() + timedelta(days=day)
        alerts = [] if state is None else [checks.Alert("runway", state[0], "s", 0, "n", "f", "p", state[1])]
        for item in plan(alerts, history, today):
            history["runway"] = Sent("runway", item.kind, item.alert.severity, item.alert.level, today, "s")
            sent_per_day.setdefault(day, []).append((item.kind, item.alert.rank))
        if state is not None:
            # whatever is wrong right now has been told today, at this severity and level or worse
            last = history["runway"]
            assert last.kind == "alert" and last.day == today and (int(last.severity), last.level) >= alerts[0].rank
            last_problem = day
        else:
            assert last_problem is None or history["runway"].kind == "all_clear"
    problem_open = False
    for day in sorted(sent_per_day):
        streak = []  # within a day a repeat is strictly worse, unless an all clear came between (it came back)
        for kind, rank in sent_per_day[day]:
            if kind == "all_clear":
                assert problem_open, "an all clear only follows an alert"
                problem_open, streak = False, []
                continue
            assert not streak or rank > streak[-1]
            problem_open = True
            streak.append(rank)


# ---- settings and secrets ---------------------------------------------------------------------------------


def test_settings_list_every_problem_and_round_trip():
    settings, problems = parse_settings(
        "USD",
        runway_days="0",
        low_balance="12.345",
        email_to="admin@contoso, ok@x.com",
        smtp_port="99999",
        dashboard_url="ftp://x",
    )
    assert settings is None
    assert {p.field for p in problems} == {
        "runway_days",
        "low_balance",
        "email_to",
        "smtp_host",
        "email_from",
        "smtp_port",
        "dashboard_url",
    }
    ledger = cc.open_ledger(":memory:")
    assert load_settings(ledger.store) == AlertSettings()
    settings, problems = parse_settings(
        "USD",
        runway_days="10",
        low_balance="150",
        email_to="a@contoso.com; b@contoso.com",
        email_from="alerts@contoso.com",
        smtp_host="smtp.office365.com",
        smtp_username="alerts@contoso.com",
        teams_enabled=True,
    )
    assert problems == []
    save_settings(ledger.store, settings)
    loaded = load_settings(ledger.store)
    assert loaded == settings and loaded.thresholds.low_balance == Decimal("150.00")
    assert loaded.email_to == ("a@contoso.com", "b@contoso.com")
    assert loaded.page_url("02_funding.ipynb") == "http://127.0.0.1:8866/voila/render/02_funding.ipynb"


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    store = MemoryKeyring()
    keyring.set_keyring(store)
    yield store
    keyring.set_keyring(previous)


def test_secrets_live_in_the_keyring_or_environment_never_in_the_ledger(memory_keyring, monkeypatch, tmp_path):
    monkeypatch.delenv("COMMCREDITS_TEAMS_WEBHOOK_URL", raising=False)
    url = "https://prod-23.westeurope.logic.azure.com/workflows/0a1b2c/triggers/manual/paths/invoke?sp=x&sig=SECRETSIG"
    path = tmp_path / "ledger.duckdb"
    ledger = cc.open_ledger(path)
    save_settings(ledger.store, AlertSettings(teams_enabled=True))
    set_secret("teams_webhook_url", url)
    assert get_secret("teams_webhook_url") == url
    assert memory_keyring.items[("commcredits", "teams_webhook_url")] == url
    assert b"SECRETSIG" not in path.read_bytes()
    assert "SECRETSIG" not in mask_url(url) and mask_url(url).startswith("https://prod-23.westeurope.logic.azure.com/")
    monkeypatch.setenv("COMMCREDITS_TEAMS_WEBHOOK_URL", "https://example.invalid/from-env")
    assert get_secret("teams_webhook_url") == "https://example.invalid/from-env"  # the environment wins
    set_secret("teams_webhook_url", "")
    assert ("commcredits", "teams_webhook_url") not in memory_keyring.items


def test_without_a_keyring_saving_a_secret_names_the_environment_variable(monkeypatch):
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        monkeypatch.delenv("COMMCREDITS_SMTP_PASSWORD", raising=False)
        assert get_secret("smtp_password") is None
        with pytest.raises(SecretStoreUnavailable, match="COMMCREDITS_SMTP_PASSWORD"):
            set_secret("smtp_password", "x")
    finally:
        keyring.set_keyring(previous)


# ---- on the demo tenant -----------------------------------------------------------------------------------


def test_the_demo_tenant_gets_what_its_admin_should_get(demo_db_path):
    ledger = cc.open_ledger(demo_db_path)
    alerts = by_check(current_alerts(ledger))
    # one "cannot dial out" figure (issue 20): the alert counts what the Overview and Step 1 count
    readiness = alerts["readiness"]
    assert readiness.severity is Severity.WARNING
    summary = cc.readiness_summary(ledger.store)
    assert readiness.number == summary.not_ready > 0
    assert readiness.sentence.startswith(f"{summary.not_ready} of {summary.users} users cannot dial out")
    # auto-recharge ($300 below $100) comfortably covers the demo's burn: no runway, toll-free or recharge alarm
    assert not any(a.severity is Severity.CRITICAL for a in alerts.values())
    assert not {"toll_free", "auto_recharge.trigger", "auto_recharge.amount", "auto_recharge.runaway"} & set(alerts)


def test_the_demo_toll_free_number_becomes_critical_when_auto_recharge_is_off_and_the_money_is_gone(writable_demo_db):
    ledger = cc.open_ledger(writable_demo_db)
    ledger.disable_auto_recharge()
    now = datetime.now(UTC)
    ledger.spend(ledger.balance(now), at=now, usage_id="a-large-conference-dial-out")
    alerts = by_check(current_alerts(ledger, now=now + timedelta(minutes=1)))
    assert alerts["toll_free"].severity is Severity.CRITICAL
    assert "+18005550100" in alerts["toll_free"].sentence and "the balance is zero" in alerts["toll_free"].sentence
    assert alerts["runway"].severity is Severity.CRITICAL


def test_readiness_reports_the_change_since_the_last_check(writable_demo_db):
    from commcredits.alerts.notify import run_check

    ledger = cc.open_ledger(writable_demo_db)
    before = run_check(ledger)  # no channel configured: records the run only
    (readiness,) = [a for a in before.alerts if a.check == "readiness"]
    assert "since the last check" not in readiness.sentence
    plan = cc.plan_license_changes(ledger.store, "not_ready", cc.make_ready(usage_location="US"))
    cc.record_plan_done(ledger.store, plan)  # Step 1: make ready whoever the seats allow
    after = by_check(current_alerts(ledger))["readiness"]
    fixed = readiness.number - after.number
    assert fixed > 0 and f"(-{fixed} since the last check on " in after.sentence
    assert "have a Calling Plan without Teams Phone" not in after.sentence
