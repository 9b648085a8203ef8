-- Views over usage and the ledger that analysts query. Names and columns are documented in docs/usage.md.

-- call_spend: every call paid from credits (its spend entry, net of adjusting entries), with what it cost and
-- who/where it went. start_at is when the call started (the ledger takes it then, whenever its log arrived);
-- recorded_at is when the ledger learnt of it; days_late, for a call whose log came after later entries, how many
-- whole days after the call that was (NULL: on time).
CREATE OR REPLACE VIEW call_spend AS
SELECT e.usage_id,
       e.entry_id,
       e.call_at                                           AS start_at,
       date_trunc('month', e.call_at)                      AS month,
       -e.amount                                           AS amount,
       c.user_principal_name,
       c.user_display_name,
       c.call_type,
       coalesce(rated_destination(r.destination_country, n.destination_country, c.inventory_type,
                                  c.usage_country_code, c.tenant_country_code), '??') AS destination_country,
       c.destination_name,
       c.license_capability,
       c.duration_seconds,
       e.occurred_at                                       AS recorded_at_ledger_time,
       e.recorded_at,
       CASE WHEN e.reported_late THEN days_reported_late(e.call_at, e.recorded_at) END AS days_late
FROM (SELECT usage_id, min(entry_id) AS entry_id, min(call_at) AS call_at, min(occurred_at) AS occurred_at,
             sum(amount) AS amount, max(recorded_at) FILTER (WHERE adjusts IS NULL) AS recorded_at,
             bool_or(reported_late) AS reported_late
      FROM entry WHERE kind = 'spend' GROUP BY usage_id HAVING sum(amount) <> 0) e
LEFT JOIN pstn_call c ON c.usage_id = e.usage_id
LEFT JOIN call_charge r ON r.usage_id = e.usage_id  -- an estimate's country (a spend recorded by hand)
LEFT JOIN callee_country n ON n.number = c.callee_number;

-- spend_by_user: credits spent per user; calls without a user (auto attendants, call queues, bots) as one row.
-- The spend_by_* views read spend_rollup plus the spends after its mark (rollup_views.sql); the *_at(mark) macros
-- take the mark as a constant (insights.spend_by passes it).
CREATE OR REPLACE MACRO spend_by_user_at(mark) AS TABLE
SELECT key AS user_principal_name, any_value(label) AS user_display_name,
       sum(calls)::BIGINT AS calls, sum(seconds) / 60 AS minutes, sum(amount)::DECIMAL(18, 2) AS amount
FROM spend_parts(mark) WHERE dimension = 'user' GROUP BY 1 ORDER BY amount DESC;
CREATE OR REPLACE VIEW spend_by_user AS SELECT * FROM spend_by_user_at(rollup_mark_now());

-- spend_by_destination: credits spent per destination country (ISO alpha-2; '??' when unknown).
CREATE OR REPLACE MACRO spend_by_destination_at(mark) AS TABLE
SELECT key AS destination_country, sum(calls)::BIGINT AS calls, sum(seconds) / 60 AS minutes,
       sum(amount)::DECIMAL(18, 2) AS amount
FROM spend_parts(mark) WHERE dimension = 'destination' GROUP BY 1 ORDER BY amount DESC;
CREATE OR REPLACE VIEW spend_by_destination AS SELECT * FROM spend_by_destination_at(rollup_mark_now());

-- spend_by_call_type: credits spent per Graph callType (user_out, conf_out, ucap_in, ...).
CREATE OR REPLACE MACRO spend_by_call_type_at(mark) AS TABLE
SELECT key AS call_type, sum(calls)::BIGINT AS calls, sum(seconds) / 60 AS minutes,
       sum(amount)::DECIMAL(18, 2) AS amount
FROM spend_parts(mark) WHERE dimension = 'call_type' GROUP BY 1 ORDER BY amount DESC;
CREATE OR REPLACE VIEW spend_by_call_type AS SELECT * FROM spend_by_call_type_at(rollup_mark_now());

-- spend_by_month: credits spent per calendar month (UTC).
CREATE OR REPLACE MACRO spend_by_month_at(mark) AS TABLE
SELECT month, sum(calls)::BIGINT AS calls, sum(seconds) / 60 AS minutes, sum(amount)::DECIMAL(18, 2) AS amount
FROM spend_parts(mark) WHERE dimension = 'month' GROUP BY 1 ORDER BY month;
CREATE OR REPLACE VIEW spend_by_month AS SELECT * FROM spend_by_month_at(rollup_mark_now());

-- daily_balance: the balance at the end of each UTC day from the first entry to the last (day_rollup plus the
-- entries after its mark).
CREATE OR REPLACE VIEW daily_balance AS
WITH days AS (
    SELECT unnest(generate_series(date_trunc('day', min(occurred_at)), date_trunc('day', max(occurred_at)),
                                  INTERVAL 1 DAY)) AS day
    FROM entry
),
moves AS (
    SELECT day, sum(change) AS change, sum(spent) AS spent, sum(added) AS added, sum(expired) AS expired
    FROM (
        SELECT day, change, spent, added, expired FROM day_rollup
        UNION ALL
        SELECT date_trunc('day', occurred_at), amount,
               CASE WHEN kind = 'spend' THEN amount END,
               CASE WHEN kind IN ('purchase', 'recharge') THEN amount END,
               CASE WHEN kind = 'expiry' THEN amount END
        FROM entry WHERE entry_id > rollup_mark_now()
    )
    GROUP BY day
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
       CASE WHEN status = 'estimate' THEN (SELECT currency FROM ledger_currency) ELSE currency END AS currency,
       status, reason
FROM call_charges
WHERE status IN ('pending', 'blocked', 'other_currency', 'estimate') AND attention_amount > 0;

-- call_rereports: each call Microsoft reported again with another charge, connection fee or currency (Microsoft is
-- silent on whether it does). The first report is kept and settled; each different later one is listed here, in
-- the columns of call_charges, for the calls needing attention and reconcile. difference: later minus kept charge.
-- The spends and calls are looked up for the re-reported ids only (usually none), so the attention list does not
-- sum every spend in the journal (~1 s at 10M calls) to show nothing.
CREATE OR REPLACE VIEW call_rereports AS
WITH drawn AS (
    SELECT usage_id, -sum(amount) AS drawn FROM entry
    WHERE kind = 'spend' AND usage_id IN (SELECT usage_id FROM pstn_call_rereport)
    GROUP BY usage_id
),
calls AS (
    SELECT usage_id, start_at, user_principal_name, operator FROM pstn_call
    WHERE usage_id IN (SELECT usage_id FROM pstn_call_rereport)
)
SELECT r.usage_id, c.start_at, c.user_principal_name, c.operator, r.charge AS reported_charge, r.currency,
       coalesce(d.drawn, 0)::DECIMAL(18, 2) AS credits_drawn,
       're_reported' AS status,
       'Microsoft reported this call again with ' || coalesce(r.charge::DECIMAL(18, 2) || ' ' || r.currency, 'no charge')
       || CASE WHEN r.connection_charge IS DISTINCT FROM r.kept_connection_charge
               THEN ' and connection fee ' || coalesce(r.connection_charge::DECIMAL(18, 2)::VARCHAR, 'none') ELSE '' END
       || ' (first report: ' || coalesce(r.kept_charge::DECIMAL(18, 2) || ' ' || r.kept_currency, 'no charge')
       || CASE WHEN r.connection_charge IS DISTINCT FROM r.kept_connection_charge
               THEN ', connection fee ' || coalesce(r.kept_connection_charge::DECIMAL(18, 2)::VARCHAR, 'none') ELSE '' END
       || '). The first report is kept; check the call on Microsoft''s invoice.' AS reason,
       abs(coalesce(r.charge, 0) - coalesce(r.kept_charge, 0))::DECIMAL(18, 2) AS attention_amount,
       NULL::DECIMAL(18, 2) AS billed_in_arrears, NULL::DECIMAL(18, 2) AS estimate, r.connection_charge,
       NULL::BIGINT AS days_late, r.kept_charge, r.kept_currency,
       CASE WHEN r.currency IS NOT DISTINCT FROM r.kept_currency
            THEN (coalesce(r.charge, 0) - coalesce(r.kept_charge, 0))::DECIMAL(18, 2) END AS difference,
       r.source_file, r.row_number, r.reported_at
FROM pstn_call_rereport r
LEFT JOIN calls c USING (usage_id)
LEFT JOIN drawn d USING (usage_id);

-- call_rating: every rated call (rated_calls, docs/usage.md "Rating model"). A call with Microsoft's charge
-- ('as_is', rounded half-up to the currency's minor unit as microsoft_charge does) or another operator's
-- ('operator', no charge of ours) is derived from pstn_call and its number's country (callee_country) once rating
-- has reached it; estimates are stored in call_charge (with, in a file rated before that, the charged calls too).
CREATE OR REPLACE VIEW call_rating AS
SELECT usage_id, start_at, currency, method, destination_country, billable_minutes, included_minutes, charge
FROM call_charge
UNION ALL
SELECT c.usage_id, c.start_at, c.currency,
       CASE WHEN c.operator IS NOT NULL AND lower(trim(c.operator)) <> 'microsoft' THEN 'operator' ELSE 'as_is' END
           AS method,
       rated_destination(NULL, n.destination_country, c.inventory_type, c.usage_country_code, c.tenant_country_code)
           AS destination_country,
       0 AS billable_minutes, 0 AS included_minutes,
       CASE WHEN method <> 'operator' THEN drawn_charge(c.charge, d.digits) END AS charge
FROM pstn_call c
JOIN rating_mark m ON m.calls_rated IS NOT NULL AND c.imported_at <= m.rated_through
LEFT JOIN callee_country n ON n.number = c.callee_number
LEFT JOIN currency_minor_unit d ON d.code = upper(c.currency)
WHERE c.charge IS NOT NULL OR (c.operator IS NOT NULL AND lower(trim(c.operator)) <> 'microsoft');
