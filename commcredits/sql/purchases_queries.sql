-- Names an admin recognises for purchases (the Overview's open lots): an auto-recharge's order id is the
-- ledger's idempotency key ('recharge:before:<usage id>' / 'recharge:after:<usage id>'), which names the call
-- that set it off; these read that call.

-- name: recharge_calls
-- The calls behind auto-recharge keys ($keys), with who made them. A call's charge is recorded at its start
-- or later, so calls starting from $since on (or every call, $since NULL) hold them; a constant bound lets
-- DuckDB skip older blocks of a big calls table.
SELECT k.order_id, c.user_display_name, c.call_type, c.start_at
FROM (SELECT unnest($keys::VARCHAR[]) AS order_id) k
JOIN pstn_call c ON c.usage_id = regexp_extract(k.order_id, '^recharge:(before|after):(.*)$', 2)
WHERE c.start_at >= coalesce($since::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
  AND c.start_at <= $until::TIMESTAMPTZ
