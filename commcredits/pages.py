"""The dashboard's pages, in the order of Microsoft's setup guide: the one list the navigation, the server and
alert messages (links to the page that fixes a problem) read."""

from __future__ import annotations

from typing import NamedTuple


class Page(NamedTuple):
    notebook: str  # file name in notebooks/, also its address under /voila/render/
    title: str  # what admins read in the navigation, the tab title and alert links


PAGES = (
    Page("00_overview.ipynb", "Overview"),
    Page("01_licenses.ipynb", "Step 1 · Licenses"),
    Page("02_funding.ipynb", "Step 2 · Fund"),
    Page("03_credit_licenses.ipynb", "Step 3 · Credit licenses"),
    Page("04_usage.ipynb", "Usage"),
    Page("05_alerts.ipynb", "Alerts"),
    Page("06_m365.ipynb", "Microsoft 365"),
)
HOME_PAGE = PAGES[0].notebook
ANALYST_NOTEBOOKS = ("analyst.ipynb",)  # for analysts in JupyterLab: never served on the dashboard


def page_title(notebook: str) -> str:
    """The page's title ('Step 2 · Fund'), or the file name for a notebook that is not a dashboard page."""
    return next((p.title for p in PAGES if p.notebook == notebook), notebook)
