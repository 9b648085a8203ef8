-- Views over usage and the ledger that analysts query. Names and columns are documented in docs/usage.md.

-- call_spend: every call paid from credits, with what it cost and who/where it went. start_at is when the
-- call started (a call whose log arrived late is recorded in the ledger later: recorded_at_ledger_time).
CREATE OR REPLACE VIEW call_spend AS
SELECT substr(e.idempotency_key, 7)                        AS usage_id,
       e.entry_id,
       coalesce(c.start_at, e.occurred_at)                 AS start_at,
       date_trunc('month', coalesce(c.start_at, e.occurred_at)) AS month,
       -e.amount                                           AS amount,
       c.user_principal_name,
       c.user_display_name,
       c.call_type,
       coalesce(r.destination_country, '??')               AS destination_country,
       c.destination_name,
       c.license_capability,
       c.duration_seconds,
       e.occurred_at                                       AS recorded_at_ledger_time
FROM entry e
LEFT JOIN pstn_call c ON c.usage_id = substr(e.idempotency_key, 7)
LEFT JOIN call_charge r ON r.usage_id = substr(e.idempotency_key, 7)
WHERE e.kind = 'spend';

-- spend_by_user: credits spent per user; calls without a user (auto attendants, call queues, bots) as one row.
CREATE OR REPLACE VIEW spend_by_user AS
SELECT coalesce(user_principal_name, '(no user: auto attendant, call queue or bot)') AS user_principal_name,
       any_value(user_display_name) AS user_display_name,
       count(*) AS calls, sum(coalesce(duration_seconds, 0)) / 60 AS minutes, sum(amount)::DECIMAL(18, 2) AS amount
FROM call_spend GROUP BY 1 ORDER BY amount DESC;

-- spend_by_destination: credits spent per destination country (ISO alpha-2; '??' when unknown).
CREATE OR REPLACE VIEW spend_by_destination AS
SELECT destination_country, count(*) AS calls, sum(coalesce(duration_seconds, 0)) / 60 AS minutes,
       sum(amount)::DECIMAL(18, 2) AS amount
FROM call_spend GROUP BY 1 ORDER BY amount DESC;

-- spend_by_call_type: credits spent per Graph callType (user_out, conf_out, ucap_in, ...).
CREATE OR REPLACE VIEW spend_by_call_type AS
SELECT coalesce(call_type, '(unknown)') AS call_type, count(*) AS calls,
       sum(coalesce(duration_seconds, 0)) / 60 AS minutes, sum(amount)::DECIMAL(18, 2) AS amount
FROM call_spend GROUP BY 1 ORDER BY amount DESC;

-- spend_by_month: credits spent per calendar month (UTC).
CREATE OR REPLACE VIEW spend_by_month AS
SELECT month, count(*) AS calls, sum(coalesce(duration_seconds, 0)) / 60 AS minutes,
       sum(amount)::DECIMAL(18, 2) AS amount
FROM call_spend GROUP BY 1 ORDER BY month;

-- daily_balance: the balance at the end of each UTC day from the first entry to the last.
CREATE OR REPLACE VIEW daily_balance AS
WITH days AS (
    SELECT unnest(generate_series(date_trunc('day', min(occurred_at)), date_trunc('day', max(occurred_at)),
                                  INTERVAL 1 DAY)) AS day
    FROM entry
),
moves AS (
    SELECT date_trunc('day', occurred_at) AS day,
           sum(amount) AS change,
           sum(amount) FILTER (WHERE kind = 'spend') AS spent,
           sum(amount) FILTER (WHERE kind IN ('purchase', 'recharge')) AS added,
           sum(amount) FILTER (WHERE kind = 'expiry') AS expired
    FROM entry GROUP BY 1
)
SELECT d.day::DATE AS day,
       sum(coalesce(m.change, 0)) OVER (ORDER BY d.day)::DECIMAL(18, 2) AS balance,
       coalesce(m.added, 0)::DECIMAL(18, 2) AS added,
       coalesce(-m.spent, 0)::DECIMAL(18, 2) AS spent,
       coalesce(-m.expired, 0)::DECIMAL(18, 2) AS forfeited
FROM days d LEFT JOIN moves m USING (day)
ORDER BY day;

-- invoices_by_month: invoices per month, split into manual orders and auto-recharges.
CREATE OR REPLACE VIEW invoices_by_month AS
SELECT date_trunc('month', issued_at)::DATE AS month,
       count(*) AS invoices,
       sum(amount)::DECIMAL(18, 2) AS amount,
       count(*) FILTER (WHERE reason = 'order') AS orders,
       count(*) FILTER (WHERE reason = 'auto_recharge') AS recharges,
       coalesce(sum(amount) FILTER (WHERE reason = 'auto_recharge'), 0)::DECIMAL(18, 2) AS recharged
FROM invoice GROUP BY 1 ORDER BY 1;

-- unsettled_calls: calls with money behind them that the ledger did not draw (view call_charges): pending, blocked,
-- in another currency, or only estimated (rate card; never settled). charge is in `currency`.
CREATE OR REPLACE VIEW unsettled_calls AS
SELECT usage_id, start_at, attention_amount AS charge,
       CASE WHEN status = 'estimate' THEN (SELECT currency FROM tenant LIMIT 1) ELSE currency END AS currency,
       status, reason
FROM call_charges
WHERE status IN ('pending', 'blocked', 'other_currency', 'estimate') AND attention_amount > 0;
