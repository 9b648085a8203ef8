-- Reads for the alert checks (commcredits/alerts/facts.py). Parameters are bound by position.

-- name: recharges
-- Auto-recharges in the last 24 hours, their total this calendar month (UTC), and since the agreement
-- became MCA ($1 = now, $2 = start of the month, $3 = when the tenant switched to MCA or NULL).
SELECT count(*) FILTER (WHERE issued_at > $1::TIMESTAMPTZ - INTERVAL 1 DAY AND issued_at <= $1),
       coalesce(sum(amount) FILTER (WHERE issued_at >= $2 AND issued_at <= $1), 0),
       count(*) FILTER (WHERE $3::TIMESTAMPTZ IS NOT NULL AND issued_at >= $3)
FROM invoice WHERE reason = 'auto_recharge';

-- name: mca_since
-- When the current agreement was recorded, if it is MCA.
SELECT changed_at FROM agreement_change
WHERE change_id = (SELECT max(change_id) FROM agreement_change) AND agreement = 'MCA';

-- name: readiness
-- Users who cannot dial out, per reason in the words of readiness_reasons (a user can count under several
-- reasons). The one definition of "cannot dial out" (issue 20): NOT can_dial_out in the readiness view, out of
-- every imported user, the same figure as the Overview, Step 1 and `commcredits check`.
WITH calling AS (
    SELECT * FROM readiness
)
SELECT NULL AS code, count(*) FILTER (WHERE NOT can_dial_out) AS users, count(*) AS total, 0 AS sort_order
FROM calling
UNION ALL
SELECT r.code, count(*), NULL, r.sort_order
FROM (SELECT unnest(reason_codes) AS code FROM calling WHERE NOT can_dial_out) u JOIN readiness_reasons r USING (code)
GROUP BY r.code, r.sort_order
ORDER BY code NULLS FIRST, users DESC;

-- name: reason_texts
SELECT code, summary, summary_one FROM readiness_reasons;

-- name: toll_free
-- Toll-free numbers callers dialled in the last 30 days (calls in to an auto attendant or call queue
-- paid from credits), and resource accounts holding a toll-free number (licensing's resource_accounts view).
WITH dialled AS (
    SELECT c.callee_number AS number, count(*) AS calls, coalesce(sum(c.charge), 0) AS charged
    FROM pstn_call c JOIN phone_destination d ON d.number = c.callee_number
    WHERE c.call_type LIKE '%\_in' ESCAPE '\' AND d.number_type = 'toll_free'
      AND c.start_at > $1::TIMESTAMPTZ - INTERVAL 30 DAY AND c.start_at <= $1
    GROUP BY 1
),
accounts AS (
    SELECT phone_number AS number, user_principal_name
    FROM resource_accounts WHERE has_toll_free_number
)
SELECT coalesce(d.number, a.number) AS number, a.user_principal_name, coalesce(d.calls, 0), coalesce(d.charged, 0)
FROM dialled d FULL JOIN accounts a ON a.number = d.number
ORDER BY 1;

-- name: usage_freshness
-- Calls imported, the last import, the newest call's start, and rows quarantined / calls blocked in the last
-- 7 days and since $2.
SELECT (SELECT count(*) FROM pstn_call),
       (SELECT max(imported_at) FROM pstn_call),
       (SELECT max(start_at) FROM pstn_call),
       (SELECT count(*) FROM pstn_call_quarantine WHERE quarantined_at > $1::TIMESTAMPTZ - INTERVAL 7 DAY),
       (SELECT count(*) FROM pstn_call_quarantine WHERE $2::TIMESTAMPTZ IS NOT NULL AND quarantined_at > $2),
       (SELECT count(*) FROM blocked_call WHERE recorded_at > $1::TIMESTAMPTZ - INTERVAL 7 DAY),
       (SELECT count(*) FROM blocked_call WHERE $2::TIMESTAMPTZ IS NOT NULL AND recorded_at > $2);

-- name: last_run
SELECT ran_at, not_ready FROM alert_run ORDER BY run_id DESC LIMIT 1;

-- name: funded
SELECT count(*) > 0 FROM lot;
