"""`commcredits sync` / `check-permissions` for schedulers: settings from env or a file, exit codes, one line."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from graph_standin import GraphStandin, spread_calls
from test_license_forms import USERS
from test_m365_sync import NOW, SKUS, funded_ledger

import commcredits as cc
from commcredits.cli import main
from commcredits.m365.settings import load_settings

TESTS = Path(__file__).parent


@pytest.fixture
def standin():
    server = GraphStandin(users=USERS, skus=SKUS, calls=spread_calls(50, NOW - timedelta(days=5), 4)).start()
    yield server
    server.stop()


@pytest.fixture
def env(standin, monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("COMMCREDITS_M365_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COMMCREDITS_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("COMMCREDITS_M365_BASE_URL", standin.base_url)
    monkeypatch.setenv("COMMCREDITS_M365_CREDENTIAL", "graph_standin:credential_from_env")
    return monkeypatch


def test_sync_prints_one_line_and_exits_0(env, tmp_path, capsys):
    funded_ledger(tmp_path / "ledger.duckdb")
    code = main(["sync", "--ledger", str(tmp_path / "ledger.duckdb"), "--since", "2026-11-01"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.count("\n") == 1 and out.startswith("Synced: 5 users, 3 subscriptions") and "50 new" in out


def test_missing_permission_exits_4_and_says_what_to_consent_to(env, tmp_path, capsys):
    env.setenv("STANDIN_ROLES", "User.Read.All,Organization.Read.All")
    assert main(["check-permissions"]) == 4
    err = capsys.readouterr().err
    # the least permission Graph documents for each missing job (issue 19)
    assert err.startswith(
        "3 of 5 checks failed. Grant CallRecord-PstnCalls.Read.All, LicenseAssignment.ReadWrite.All, User.ReadWrite.All"
    )
    assert "MISSING: Read PSTN call logs (callRecord: getPstnCalls) (CallRecord-PstnCalls.Read.All)" in err
    funded_ledger(tmp_path / "ledger.duckdb")
    assert main(["sync", "--ledger", str(tmp_path / "ledger.duckdb")]) == 4
    assert "403 Authorization_RequestDenied" in capsys.readouterr().err


def test_not_configured_exits_3_and_a_secret_in_the_config_file_is_refused(env, tmp_path, capsys):
    env.delenv("COMMCREDITS_M365_CREDENTIAL")
    assert main(["check-permissions"]) == 3
    assert "missing tenant_id, client_id, a client secret" in capsys.readouterr().err
    config = tmp_path / "config.toml"
    config.write_text('[m365]\ntenant_id = "contoso.onmicrosoft.com"\nclient_id = "app"\nclient_secret = "s3cr3t"\n')
    assert main(["check-permissions", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "holds a client secret" in err and "s3cr3t" not in err


def test_settings_come_from_the_file_and_the_environment_wins(env, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('ledger = "/srv/ledger.duckdb"\n[m365]\ntenant_id = "contoso"\nclient_id = "from-file"\n')
    env.setenv("COMMCREDITS_M365_CLIENT_ID", "from-env")
    env.delenv("COMMCREDITS_DB")
    settings = load_settings(config)
    assert (settings.tenant_id, settings.client_id, str(settings.ledger_path)) == (
        "contoso",
        "from-env",
        "/srv/ledger.duckdb",
    )


def test_the_console_script_runs_for_a_scheduler(env, standin, tmp_path):
    funded_ledger(tmp_path / "ledger.duckdb")
    environment = {**os.environ, "PYTHONPATH": str(TESTS), "COMMCREDITS_DB": str(tmp_path / "ledger.duckdb")}
    done = subprocess.run(
        [sys.executable, "-m", "commcredits.cli", "sync", "--since", "2026-11-20"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Synced:") and done.stdout.count("\n") == 1
    assert main(["sync", "--ledger", str(tmp_path / "ledger.duckdb")]) == 0  # the next run resumes
    ledger = cc.open_ledger(tmp_path / "ledger.duckdb")
    assert ledger.store.query("SELECT count(*), count(DISTINCT usage_id) FROM pstn_call")[0] == (50, 50)
    assert ledger.store.query("SELECT count(*) FROM entries WHERE kind = 'spend'")[0][0] == 50
