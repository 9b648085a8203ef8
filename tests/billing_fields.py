"""Billing details that pass every check (a real-looking US company), shared by the tests of Step 2."""

CONTOSO_BILLING = dict(
    company="Contoso",
    address="1 Microsoft Way",
    city="Redmond",
    postal_code="98052",
    country="US",
    invoice_email="ap@contoso.com",
)
