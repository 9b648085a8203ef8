"""Step 3's notice, for each way a tenant buys Microsoft services: it never tells an MCA tenant to buy credits,
sends a CSP tenant to its partner, and a direct or EA tenant to the admin center (issue 19)."""

import pytest

from commcredits.credits.ledger import Agreement
from commcredits.ui.funding_guide import licenses_notice


@pytest.mark.parametrize("recorded", [False, True])
def test_an_mca_tenant_is_never_told_to_buy(recorded):
    text, warning = licenses_notice(Agreement.MCA, recorded)
    assert "no credits to buy" in text and "billed after use" in text
    assert "balance left from before the switch" in text  # the balance pays first, then arrears
    assert "Buy" not in text and "record the purchase" not in text and not warning


def test_a_csp_tenant_is_sent_to_its_partner_not_the_admin_center():
    text, warning = licenses_notice(Agreement.CSP, False)
    assert warning and "your partner makes" in text and "Record what they bought in Step 2" in text
    assert "Buy credits" not in text


@pytest.mark.parametrize("agreement", [Agreement.MOSA, Agreement.EA])
def test_a_direct_or_ea_tenant_buys_in_the_admin_center_then_records(agreement):
    text, warning = licenses_notice(agreement, False)
    assert warning and "Buy credits in the Microsoft 365 admin center, record the purchase in Step 2" in text


@pytest.mark.parametrize("agreement", [Agreement.MOSA, Agreement.EA, Agreement.CSP])
def test_once_a_purchase_is_recorded_the_licenses_should_be_there(agreement):
    text, warning = licenses_notice(agreement, True)
    assert text.startswith("A purchase is recorded in Step 2") and not warning
