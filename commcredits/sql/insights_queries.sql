-- Reads for the what-if replay (commcredits/usage/insights.py). Parameters are bound by position:
-- $1 = start, $2 = end of the period replayed (either may be NULL: open-ended).

-- name: replay_orders
-- What the replay starts from: each lot's remainder at the start (as a "carried:" order at its purchase time),
-- then the manual orders placed in the period, in purchase order.
SELECT 'carried:' || l.order_id AS order_id, l.purchased_at, sum(a.amount) AS amount, l.lot_id
FROM lot l JOIN allocation a USING (lot_id) JOIN entry e USING (entry_id)
WHERE $1::TIMESTAMPTZ IS NOT NULL AND l.purchased_at < $1 AND l.expires_at > $1 AND e.occurred_at < $1
GROUP BY ALL HAVING sum(a.amount) > 0
UNION ALL
SELECT order_id, purchased_at, amount, lot_id FROM lot
WHERE source = 'order' AND ($1::TIMESTAMPTZ IS NULL OR purchased_at >= $1)
  AND ($2::TIMESTAMPTZ IS NULL OR purchased_at < $2)
ORDER BY lot_id;

-- name: replay_invoices
-- On the scratch ledger: invoices issued in the period, their total, and how many were auto-recharges.
SELECT count(*), coalesce(sum(amount), 0), count(*) FILTER (WHERE reason = 'auto_recharge')
FROM invoice
WHERE ($1::TIMESTAMPTZ IS NULL OR issued_at >= $1) AND ($2::TIMESTAMPTZ IS NULL OR issued_at < $2);

-- name: replay_forfeited
-- On the scratch ledger: credits forfeited at expiry in the period.
SELECT coalesce(-sum(amount), 0)
FROM entry
WHERE kind = 'expiry'
  AND ($1::TIMESTAMPTZ IS NULL OR occurred_at >= $1) AND ($2::TIMESTAMPTZ IS NULL OR occurred_at < $2);
