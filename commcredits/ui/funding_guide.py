"""Where Communication Credits are bought, by how the tenant buys Microsoft services: Step 2's first section, and
Step 3's notice on whether the licenses can be there yet.

Sources (docs/billing.md): "Set up Communication Credits for your organization" (Billing > Purchase services in
the Microsoft 365 admin center; MCA customers don't purchase them), "What are Communications Credits?" (EA
billed in another region; CSP customers can't acquire them in the admin center), "Turn off Communication Credits
auto recharge for Microsoft Customer Agreement (MCA) customers".
"""

from __future__ import annotations

from ..credits.ledger import Agreement

PURCHASE_SERVICES_URL = "https://admin.microsoft.com/Adminportal/Home#/catalog"
YOUR_PRODUCTS_URL = "https://admin.microsoft.com/Adminportal/Home#/subscriptions"
SETUP_PAGE_URL = "https://learn.microsoft.com/microsoftteams/set-up-communications-credits-for-your-organization"
MCA_PAGE_URL = (
    "https://learn.microsoft.com/microsoftteams/"
    "turn-off-communication-credits-auto-recharge-for-microsoft-customer-agreement-customers"
)


def _link(url: str, words: str, css: str = "") -> str:
    return f'<a href="{url}" target="_blank" rel="noopener" class="{css}">{words}</a>'


BUY_STEPS = (
    '<ol class="cc-buy-steps">'
    f"<li>In the Microsoft 365 admin center open {_link(PURCHASE_SERVICES_URL, 'Billing › Purchase services', 'cc-purchase-link')} "
    "and choose <b>Communication Credits</b> (under Add-ons).</li>"
    "<li>Enter the amount to add and, if you want it, turn on <b>Auto-recharge</b> with the amount to recharge and "
    "the balance that triggers it.</li>"
    "<li>Complete the purchase in Microsoft 365. Microsoft charges it and sends the invoice.</li>"
    "<li>Come back here and record it: Microsoft's order or invoice number, the amount and the date.</li>"
    "</ol>"
)

RECORD_ONLY = (
    '<p class="cc-record-only"><b>This page records purchases; it does not buy.</b> There is no API to buy '
    "Communication Credits, and nothing you type here reaches Microsoft. The balance Microsoft counts is "
    f"under {_link(YOUR_PRODUCTS_URL, 'Billing › Your products')}; compare it on the Overview.</p>"
)


def buy_guide_html(agreement: Agreement) -> str:
    """How this tenant buys credits, in Microsoft's words and steps."""
    if agreement is Agreement.MCA:
        return (
            '<div class="cc-card cc-guide cc-mca-notice"><h3 class="cc-section">No purchase on a Microsoft Customer '
            "Agreement</h3><p>On MCA, Communication Credits are <b>not available to purchase</b>: calls beyond your "
            "Calling Plan and Audio Conferencing minutes are billed after use, on your MCA invoice. A balance left "
            "from before the switch is used up first. Keep <b>auto-recharge off</b> in the admin center "
            f"({_link(MCA_PAGE_URL, 'Microsoft: turn off auto recharge for MCA customers')}).</p>"
            "<p>So there is nothing to record here. Step 3 and the Usage page still show what calls cost.</p></div>"
        )
    if agreement is Agreement.CSP:
        return (
            '<div class="cc-card cc-guide cc-csp-notice"><h3 class="cc-section">1. Your partner funds Communication '
            "Credits</h3><p><b>Your partner funds Communication Credits; record what they bought.</b> Microsoft: "
            "customers who buy through a Cloud Solution Provider (CSP) can't acquire Communication Credits in the "
            "Microsoft 365 admin center. Ask your partner for the order or invoice number, the amount and the date "
            f"of each purchase, and how they set auto-recharge.</p>{RECORD_ONLY}</div>"
        )
    ea = (
        (
            '<p class="cc-ea-notice"><b>Enterprise Agreement:</b> if your organization is in another region than '
            "the billing address of your EA, Microsoft says you might not be able to purchase Communication Credits; "
            "open a support request in the admin center.</p>"
        )
        if agreement is Agreement.EA
        else ""
    )
    return (
        f'<div class="cc-card cc-guide"><h3 class="cc-section">1. Buy in Microsoft 365, then record it here</h3>'
        f'{BUY_STEPS}{ea}{RECORD_ONLY}<p class="cc-hint">Microsoft\'s steps: '
        f"{_link(SETUP_PAGE_URL, 'Set up Communication Credits for your organization')}.</p></div>"
    )


def licenses_notice(agreement: Agreement, purchase_recorded: bool) -> tuple[str, bool]:
    """Step 3's notice: whether Communication Credits licenses can be there yet, and what to do if not, in the words
    of how this tenant buys; and whether it is a warning. MCA tenants buy none ("Set up Communication Credits…":
    MCA customers don't need to purchase them; the MCA auto-recharge page: the balance left is used first)."""
    if agreement is Agreement.MCA:
        return (
            "Microsoft Customer Agreement: there are no credits to buy, so this step plans no Communication "
            "Credits license. Calls beyond the included minutes use up any balance left from before the switch "
            "first, then are billed after use on your MCA invoice.",
            False,
        )
    if purchase_recorded:
        return (
            "A purchase is recorded in Step 2, so Communication Credits licenses should be available (Microsoft "
            "adds them with the first purchase).",
            False,
        )
    if agreement is Agreement.CSP:
        return (
            "No Communication Credits licenses are available yet: Microsoft adds them with the first purchase, "
            "which your partner makes (CSP tenants can't buy them in the admin center). Record what they bought "
            "in Step 2, then come back here.",
            True,
        )
    return (
        "No Communication Credits licenses are available yet: Microsoft adds them with the first purchase. Buy "
        "credits in the Microsoft 365 admin center, record the purchase in Step 2, then come back here.",
        True,
    )
