"""The dashboard notebooks, run headlessly: each page's own cells build the form on the demo tenant, and the
checks that used to sit in the notebooks' last cells (and ran for every admin) drive those forms here."""

import ast
import json
from pathlib import Path

import pytest

from commcredits.ui.server import admin_pages

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAGES = admin_pages(NOTEBOOKS)


def code_cells(name: str) -> list[str]:
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def run_page(name: str, db_path, monkeypatch) -> dict:
    """Run a page's cells as Voila does (no warm kernel: wait_for_request returns at once); its namespace."""
    monkeypatch.setenv("COMMCREDITS_DB", str(db_path))
    namespace: dict = {}
    for source in code_cells(name):
        exec(compile(source, name, "exec"), namespace)  # noqa: S102 - our own notebooks
    return namespace


@pytest.mark.parametrize("name", PAGES)
def test_pages_hold_no_test_code_and_read_the_ledger_only_after_wait_for_request(name):
    source = "\n".join(code_cells(name))
    tree = ast.parse(source)
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Assert)], "checks belong in tests/"
    calls = [
        node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    ]
    assert "click" not in calls and "reset" not in calls
    assert source.index("wait_for_request()") < source.find("open_ledger"), "a warm kernel must not read early"
    assert json.loads((NOTEBOOKS / name).read_text())["metadata"]["title"].endswith(" · Communication Credits")


def test_analyst_notebook_is_not_an_admin_page():
    assert "analyst.ipynb" not in PAGES and "00_overview.ipynb" in PAGES


def test_overview_page_shows_the_ledger_balance(demo_db_path, monkeypatch):
    ns = run_page("00_overview.ipynb", demo_db_path, monkeypatch)
    summary = ns["page"].children[1].value
    assert f'data-amount="{ns["ledger"].balance()}"' in summary


def test_step1_page_explains_missing_choices_and_planning_writes_nothing(writable_demo_db, monkeypatch):
    ns = run_page("01_licenses.ipynb", writable_demo_db, monkeypatch)
    form, store = ns["form"], ns["ledger"].store
    plans_before = store.query("SELECT count(*) FROM license_plan")
    form.plan_button.click()
    assert "Choose at least one user" in form.errors["users"].value
    form.choose(form.users["user_principal_name"][:3])
    form.audio_conferencing.value = True
    form.plan_button.click()
    assert form.plan is not None and "The plan" in form.plan_view.value
    assert store.query("SELECT count(*) FROM license_plan") == plans_before


def test_step2_page_explains_a_bad_amount_and_records_nothing(writable_demo_db, monkeypatch):
    ns = run_page("02_funding.ipynb", writable_demo_db, monkeypatch)
    form, ledger = ns["form"], ns["ledger"]
    entries_before = len(ledger.entries())
    form.fields["amount"].value = "12.345"
    form.review_button.click()
    assert "too many decimals" in form.errors["amount"].value
    assert len(ledger.entries()) == entries_before


def test_step3_page_explains_a_missing_user_and_bulk_planning_writes_nothing(writable_demo_db, monkeypatch):
    ns = run_page("03_credit_licenses.ipynb", writable_demo_db, monkeypatch)
    form, store = ns["form"], ns["ledger"].store
    plans_before = store.query("SELECT count(*) FROM license_plan")
    form.mode.value = "one"
    form.plan_button.click()
    assert "Choose the user" in form.errors["user"].value
    form.mode.value = "bulk"
    form.plan_button.click()
    assert form.plan is not None and "The plan" in form.plan_view.value
    assert store.query("SELECT count(*) FROM license_plan") == plans_before
    form.reset()
    assert form.plan_box.layout.display == "none"


def test_usage_page_explains_an_empty_import_and_shows_spend(writable_demo_db, monkeypatch):
    ns = run_page("04_usage.ipynb", writable_demo_db, monkeypatch)
    page = ns["page"]
    (calls_before,) = ns["ledger"].store.query("SELECT count(*) FROM pstn_call")[0]
    page.import_button.click()
    assert "Choose files to upload" in page.import_status.value
    assert "Top users" in page.spend.value and "By month" in page.spend.value
    assert ns["ledger"].store.query("SELECT count(*) FROM pstn_call")[0] == (calls_before,)
