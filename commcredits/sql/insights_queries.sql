-- Reads for the insights (commcredits/usage/insights.py). The what-if replay's statements bind by position:
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

-- name: usage_in_period
-- Every call that drew (or tried to draw) on credits in [$1, $2): settled spends and unsettled ones.
SELECT usage_id, start_at, charge FROM (
    SELECT usage_id, min(call_at) AS start_at, -sum(amount) AS charge
    FROM entry WHERE kind = 'spend' GROUP BY usage_id HAVING sum(amount) <> 0
    UNION ALL
    SELECT usage_id, start_at, charge FROM unsettled_calls WHERE status <> 'other_currency'  -- estimates too
    UNION ALL
    SELECT usage_id, start_at, charge FROM blocked_call
    WHERE usage_id NOT IN (SELECT usage_id FROM entry WHERE kind = 'spend')
)
WHERE ($1::TIMESTAMPTZ IS NULL OR start_at >= $1) AND ($2::TIMESTAMPTZ IS NULL OR start_at < $2)
QUALIFY row_number() OVER (PARTITION BY usage_id ORDER BY start_at) = 1
ORDER BY start_at, usage_id;

-- name: lots_as_of
-- (lot id, expiry, remainder) of the lots open at a past instant $1, replayed from the allocations.
SELECT l.lot_id, l.expires_at, sum(a.amount) AS remaining
FROM lot l JOIN allocation a USING (lot_id) JOIN entry e USING (entry_id)
WHERE e.occurred_at <= $1 AND l.expires_at > $1
  AND l.lot_id NOT IN (SELECT lot_id FROM entry WHERE kind = 'expiry' AND occurred_at <= $1)
GROUP BY ALL HAVING sum(a.amount) > 0 ORDER BY l.lot_id;

-- name: recent_entries
-- The latest journal entries with the balance after each (total minus what came after: no window over the
-- whole journal), each call charge traced to who called where (spend must be traceable). The calls are looked
-- for from $since on (NULL: all); `traced` is false for a call charge whose call was not found there.
WITH recent AS (SELECT * FROM latest_entries($limit)),
calls AS (SELECT c.usage_id, c.user_display_name, c.call_type,
                 rated_destination(r.destination_country, n.destination_country, c.inventory_type,
                                   c.usage_country_code, c.tenant_country_code) AS destination_country
          FROM pstn_call c
          LEFT JOIN call_charge r ON r.usage_id = c.usage_id AND r.start_at >= coalesce($since, '-infinity'::TIMESTAMPTZ)
          LEFT JOIN callee_country n ON n.number = c.callee_number
          WHERE c.start_at >= coalesce($since, '-infinity'::TIMESTAMPTZ))
SELECT e.entry_id, e.occurred_at, e.kind, e.amount,
       ((SELECT coalesce(sum(amount), 0) FROM entry)
        - coalesce(sum(e.amount) OVER (ORDER BY e.entry_id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
       )::DECIMAL(18, 2) AS balance_after,
       CASE WHEN e.kind = 'purchase' THEN 'Invoice ' || i.invoice_id || ' · order ' || l.order_id
            WHEN e.kind = 'recharge' THEN 'Invoice ' || i.invoice_id || ' · auto-recharge'  -- not the internal key
            WHEN e.kind = 'expiry' THEN 'Unused credit of invoice ' || i.invoice_id
            WHEN e.kind = 'spend' AND c.usage_id IS NULL THEN 'call ' || e.usage_id
            WHEN e.kind <> 'spend' THEN e.idempotency_key
            ELSE concat_ws(' · ',
                           coalesce(c.user_display_name, 'auto attendant / call queue'),
                           CASE WHEN e.reported_late THEN 'call of ' || strftime(e.call_at, '%d %b %Y') || ', reported '
                                || days_reported_late(e.call_at, e.recorded_at) || ' days late' END,
                           CASE c.call_type WHEN 'user_out' THEN 'call out' WHEN 'conf_out' THEN 'meeting dial-out'
                                            WHEN 'ucap_in' THEN 'toll-free call in' WHEN 'ucap_out' THEN 'call out'
                                            ELSE c.call_type END,
                           CASE WHEN c.call_type NOT LIKE '%_in' AND coalesce(c.destination_country, '??') <> '??'
                                THEN 'to ' || c.destination_country END)
       END AS detail,
       e.kind <> 'spend' OR c.usage_id IS NOT NULL AS traced
FROM recent e
LEFT JOIN calls c ON e.kind = 'spend' AND c.usage_id = e.usage_id
LEFT JOIN invoice i ON i.lot_id = e.lot_id
LEFT JOIN lot l ON l.lot_id = e.lot_id
ORDER BY e.entry_id DESC;

-- name: oldest_recent_spend
-- When the oldest call charge among the last $limit entries was recorded (recent_entries looks for calls from then).
SELECT min(occurred_at) FROM latest_entries($limit) WHERE kind = 'spend';
