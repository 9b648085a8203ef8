"""The Usage page's spend section by department, auto attendant / call queue and phone number."""

from commcredits import open_ledger
from commcredits.ui.spend_tables import report_dimensions_html
from commcredits.ui.usage import build_usage_page


def test_the_usage_page_shows_spend_by_department_resource_account_and_number(demo_db_path):
    ledger = open_ledger(demo_db_path)
    page = build_usage_page(ledger)
    spend = page.spend.value
    for heading in ("By department", "Auto attendants and call queues", "Top phone numbers"):
        assert heading in spend
    departments = spend.split("cc-spend-departments")[1].split("</table>")[0]
    (top,) = ledger.store.query("SELECT department, amount FROM spend_by_department LIMIT 1")
    assert f"<td>{top[0]}</td>" in departments and f"${top[1]:,}" in departments
    # the demo's toll-free number is not given to a resource account in its tenant import: said so, not blank
    accounts = spend.split("cc-spend-resource-accounts")[1].split("</table>")[0]
    assert "+18005550100" in accounts and "Not in the tenant import" in accounts


def test_an_empty_ledger_shows_the_tables_empty():
    html = report_dimensions_html(open_ledger())
    assert html.count("Nothing yet.") == 3 and "Traceback" not in html
