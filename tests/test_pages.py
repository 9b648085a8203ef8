"""The page list is kept in one place (commcredits.pages): every dashboard notebook is on it, with its title."""

import json
from pathlib import Path

from commcredits.pages import ANALYST_NOTEBOOKS, PAGES, page_title
from commcredits.ui.nav import navigation
from commcredits.ui.server import admin_pages

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_every_dashboard_notebook_is_listed_once_with_its_tab_title():
    on_disk = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in ANALYST_NOTEBOOKS)
    assert sorted(p.notebook for p in PAGES) == on_disk
    assert admin_pages(NOTEBOOKS) == [p.notebook for p in PAGES]
    for page in PAGES:
        metadata = json.loads((NOTEBOOKS / page.notebook).read_text())["metadata"]
        assert metadata["title"] == f"{page.title} · Communication Credits", page.notebook


def test_navigation_and_alert_links_read_the_same_titles():
    links = navigation("02_funding.ipynb").value
    for page in PAGES:
        assert page.title in links
    assert page_title("05_alerts.ipynb") == "Alerts" and page_title("notes.ipynb") == "notes.ipynb"
