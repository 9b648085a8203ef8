-- invoice_billing: each invoice with the billing details in force when its order was recorded
-- (later changes apply to later orders only).
CREATE OR REPLACE VIEW invoice_billing AS
SELECT i.invoice_id, i.issued_at, i.amount, i.reason, b.version AS billing_version, b.company, b.country,
       b.tax_id, b.po_number, b.invoice_email, b.payment_method, b.card_brand, b.card_last4
FROM invoice i
JOIN entry e ON e.lot_id = i.lot_id AND e.kind IN ('purchase', 'recharge')
ASOF LEFT JOIN billing_change b ON e.recorded_at >= b.changed_at;
