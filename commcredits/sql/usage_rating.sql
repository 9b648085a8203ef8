-- Rating calls (commcredits/usage/rating.py): Microsoft's charge where it gave one, an ESTIMATE otherwise.
-- Parameters are named: $outbound (outbound call types), $currency (the rate card currency), $digits (its
-- minor-unit digits), $whole_units (the reported currencies without a minor unit).
-- Only what changed is rated (docs/usage.md "Rating"). A row with Microsoft's charge or another operator's call
-- needs no row of its own: view call_rating derives it from pstn_call; rating only places its callee number, once
-- per new number (callee_country). Estimates are computed only for rows without a charge, stored in call_charge:
-- for the months holding a new such row, since included minutes pool per month in call time order (rate).
-- The calls flow through views into the one INSERT (each temp table of ~100k calls is another copy to write).

-- name: rating_candidates
-- Every call, with what rating does with it: 'operator' (another carrier's call), 'as_is' (Microsoft's charge)
-- or 'estimate' (no charge: the rate card and included minutes estimate it).
CREATE OR REPLACE TEMP VIEW _rating_candidates AS
SELECT *, CASE WHEN operator IS NOT NULL AND lower(trim(operator)) <> 'microsoft' THEN 'operator'
               WHEN charge IS NOT NULL THEN 'as_is'
               ELSE 'estimate' END AS reported
FROM pstn_call

-- name: new_rows
-- Calls imported since the last rating (a view: each use reads only the columns it needs). pstn_call is appended
-- in import order, so the time filter skips all but its last row groups. A view takes no parameters: the caller
-- writes the mark in as a TIMESTAMPTZ literal.
CREATE OR REPLACE TEMP VIEW _rate_new AS
SELECT usage_id, start_at, imported_at, currency, charge, call_type, callee_number, inventory_type,
       usage_country_code, tenant_country_code, reported
FROM _rating_candidates WHERE imported_at > {mark}

-- name: unrated_rows
-- Every call appended since the last rating, however it was imported (a clock set back, a row written by hand):
-- used only when the row counts say new_rows missed some. pstn_call is append-only, so its rows past the
-- $rated rated ones are the new ones.
CREATE OR REPLACE TEMP TABLE _rate_unrated AS
SELECT usage_id, start_at, imported_at, currency, charge, call_type, callee_number, inventory_type,
       usage_country_code, tenant_country_code, reported
FROM _rating_candidates WHERE usage_id IN (SELECT usage_id FROM pstn_call WHERE rowid >= $rated)

-- name: missed_rows
-- Calls neither rated nor found by new_rows (both counts come from table metadata: no scan).
SELECT (SELECT count(*) FROM pstn_call) - $rated - (SELECT count(*) FROM _rate_new)

-- name: estimate_months
-- Months whose estimates must be (re)computed: those of new rows without Microsoft's charge, or, when the
-- estimates are stale (rate card, minutes, license counts or currency changed), of every such row.
CREATE OR REPLACE TEMP TABLE _rate_months AS
SELECT DISTINCT utc_month(start_at) AS month
FROM (SELECT start_at, reported FROM _rate_new WHERE charge IS NULL
      UNION ALL
      SELECT start_at, reported FROM _rating_candidates WHERE $stale AND charge IS NULL)
WHERE reported = 'estimate'  -- charge IS NULL above: a filter on the column itself reaches the scan

-- name: month_bounds
-- From the first month to estimate to the end of the last, as constants a scan can skip row groups by.
SELECT min(month)::TIMESTAMPTZ, (max(month) + INTERVAL 1 MONTH)::TIMESTAMPTZ FROM _rate_months

-- name: forget_month_estimates
DELETE FROM call_charge
WHERE start_at >= $first AND start_at < $after AND utc_month(start_at) IN (SELECT month FROM _rate_months)

-- name: rate_input
-- The calls to estimate: every call without a charge in those months (pools count the month's users). {first} and
-- {after} (TIMESTAMPTZ literals: a view takes no parameters) bound those months as constants, so DuckDB skips the
-- other months' row groups (and every row group when no month needs estimates: a day of calls Microsoft charged
-- reads nothing here).
CREATE OR REPLACE TEMP VIEW _rate_input AS
SELECT usage_id, start_at, call_type, license_capability, user_id, usage_country_code, tenant_country_code,
       callee_number, duration_seconds, destination_context, inventory_type
FROM _rating_candidates
WHERE start_at >= {first} AND start_at < {after}
  AND utc_month(start_at) IN (SELECT month FROM _rate_months)
  AND charge IS NULL AND reported = 'estimate'  -- the same rows: a filter on the column itself reaches the scan

-- name: numbers_to_type
-- Numbers whose number type matters, not looked up yet: those of the calls to estimate (the rate card prices
-- by type) and the numbers called on the way in (toll-free alerts read their type from phone_destination).
SELECT DISTINCT callee_number FROM (
    SELECT callee_number FROM _rate_input
    UNION ALL
    SELECT callee_number FROM _rate_new WHERE call_type NOT IN (SELECT unnest($outbound::VARCHAR[])))
WHERE callee_number IS NOT NULL AND callee_number NOT IN (SELECT number FROM phone_destination)

-- name: numbers_to_place
-- The new numbers of the new rows with a reported charge: only their country is needed (spend by destination).
SELECT DISTINCT callee_number FROM _rate_new
WHERE reported <> 'estimate' AND callee_number IS NOT NULL AND callee_number NOT IN (SELECT number FROM callee_country)

-- name: keep_placed_numbers
INSERT INTO callee_country SELECT number, destination_country FROM _number_country

-- name: reported_counts
SELECT reported, count(*) FROM _rate_new WHERE reported <> 'estimate' GROUP BY reported

-- name: rate
-- The estimates of the calls in _rate_input, written straight into call_charge (after forget_month_estimates).
INSERT INTO call_charge BY NAME
WITH calls AS (
    SELECT c.usage_id, c.start_at, c.call_type, c.license_capability, c.user_id,
           coalesce(c.usage_country_code, c.tenant_country_code) AS usage_country,
           d.destination_country, coalesce(d.number_type, 'fixed') AS number_type,
           ceil(coalesce(c.duration_seconds, 0) / 60)::BIGINT AS minutes,
           CASE WHEN d.destination_country IS NOT NULL
                THEN CASE WHEN d.destination_country = coalesce(c.usage_country_code, c.tenant_country_code)
                          THEN 'domestic' ELSE 'international' END
                WHEN lower(c.destination_context) = 'international' THEN 'international'
                ELSE 'domestic' END AS scope,
           utc_month(c.start_at) AS month,
           -- Number Type / inventoryType names the tenant's number; without it, guess from the number dialled
           coalesce(regexp_matches(lower(c.inventory_type), 'toll[- ]?free'), i.number_type = 'toll_free', false)
               AS toll_free,
           CASE WHEN list_contains($outbound::VARCHAR[], c.call_type) THEN 'outbound'
                WHEN toll_free THEN 'toll_free_in'
                WHEN c.license_capability = 'MCOPSTNPP' THEN 'outbound'
                ELSE 'free' END AS kind,
           CASE WHEN toll_free THEN coalesce(i.destination_country, d.destination_country,
                                             c.usage_country_code, c.tenant_country_code) END AS toll_free_country
    FROM _rate_input c
    LEFT JOIN phone_destination d ON d.number = c.callee_number
    LEFT JOIN phone_destination i ON i.number = c.callee_number AND NOT list_contains($outbound::VARCHAR[], c.call_type)
),
-- licensed users per call-record capability and usage country, from the imported tenant (audio conferencing
-- dial-out appears in call records as MCOMEETADD)
licensed AS (
    SELECT CASE WHEN p.capability = 'audio_conferencing' THEN 'MCOMEETADD' ELSE p.service_plan_name END
               AS license_capability,
           u.usage_location AS usage_country, count(DISTINCT u.user_id) AS licenses
    FROM user_license l JOIN tenant_user u USING (user_id) JOIN sku_plan p USING (sku_id)
    WHERE NOT list_contains(l.disabled_plans, p.service_plan_id) AND u.usage_location IS NOT NULL
    GROUP BY ALL
),
pooled AS (
    -- included minutes: the first matching row (exact country before '*', exact scope before 'any'/'zone_a').
    -- The pool holds the minutes of every licensed user (counts given, else the imported tenant's users), never
    -- only of those seen calling: that undercounts. Unknown: no pool, the estimate bills every minute.
    -- $per_user capabilities (MCOPSTN8) are not pooled: each user has their own minutes.
    SELECT c.*, m.minutes_per_license, m.scope AS pool_scope,
           list_contains($per_user::VARCHAR[], c.license_capability) AS per_user,
           CASE WHEN list_contains($per_user::VARCHAR[], c.license_capability) THEN m.minutes_per_license
                ELSE coalesce(lc.licenses, t.licenses) * m.minutes_per_license END AS pool_minutes
    FROM calls c
    LEFT JOIN LATERAL (
        SELECT minutes_per_license, scope FROM included_minutes m
        WHERE c.kind = 'outbound' AND m.license_capability = c.license_capability
          AND m.usage_country IN (c.usage_country, '*')
          AND (m.scope IN (c.scope, 'any')
               OR (m.scope = 'zone_a' AND list_contains($zone_a::VARCHAR[], c.destination_country)))
        ORDER BY (m.usage_country = '*'), (m.scope = 'any') LIMIT 1
    ) m ON true
    LEFT JOIN license_count lc
           ON lc.license_capability = c.license_capability AND lc.usage_country = c.usage_country
    LEFT JOIN licensed t ON t.license_capability = c.license_capability AND t.usage_country = c.usage_country
),
drawn AS (
    -- the window runs over the calls with a pool only (a partition has a pool for all its calls or for none):
    -- most calls without a charge (inbound, toll-free) have none
    SELECT p.*,
           least(minutes, greatest(0, pool_minutes - coalesce(sum(minutes) OVER (
               PARTITION BY license_capability, usage_country, pool_scope, month, CASE WHEN per_user THEN user_id END
               ORDER BY start_at, usage_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS included_minutes
    FROM pooled p WHERE pool_minutes IS NOT NULL
    UNION ALL
    SELECT p.*, 0 AS included_minutes FROM pooled p WHERE pool_minutes IS NULL
),
rates AS (
    -- the rate card in the estimate's currency, one row per destination and number type ('*': any type)
    SELECT DISTINCT ON (destination_country, number_type) destination_country, number_type, price_per_minute,
           connection_fee
    FROM rate_card WHERE currency = $currency
),
priced AS (
    -- a call's price: its destination's rate for its number type, else for any type ('*'); none: unrated
    SELECT d.*, minutes - included_minutes AS billable_minutes,
           CASE WHEN exact.number_type IS NOT NULL
                THEN {'price_per_minute': exact.price_per_minute, 'connection_fee': exact.connection_fee}
                WHEN any_type.number_type IS NOT NULL
                THEN {'price_per_minute': any_type.price_per_minute, 'connection_fee': any_type.connection_fee}
           END AS rate
    FROM (SELECT *, CASE WHEN kind = 'toll_free_in' THEN toll_free_country ELSE destination_country END AS priced_country,
                    CASE WHEN kind = 'toll_free_in' THEN 'toll_free' ELSE number_type END AS priced_type
          FROM drawn) d
    LEFT JOIN rates exact ON exact.destination_country = d.priced_country AND exact.number_type = d.priced_type
    LEFT JOIN rates any_type ON any_type.destination_country = d.priced_country AND any_type.number_type = '*'
)
SELECT usage_id, start_at, $currency AS currency,
       CASE WHEN kind = 'free' THEN 'free'
            WHEN billable_minutes = 0 AND included_minutes > 0 THEN 'included'
            WHEN billable_minutes = 0 THEN 'free'
            WHEN rate IS NULL THEN 'unrated'
            ELSE 'rate_card' END AS method,
       coalesce(toll_free_country, destination_country) AS destination_country,
       CASE WHEN kind = 'free' THEN 0 ELSE billable_minutes END AS billable_minutes,
       included_minutes,
       CASE WHEN kind = 'free' OR billable_minutes = 0 THEN 0::DECIMAL(18, 2)
            WHEN rate IS NULL THEN NULL
            WHEN $digits = 0 THEN round(billable_minutes * rate.price_per_minute + rate.connection_fee, 0)::DECIMAL(18, 2)
            ELSE round(billable_minutes * rate.price_per_minute + rate.connection_fee, 2)::DECIMAL(18, 2)
       END AS charge
FROM priced

-- name: counts_by_method
-- What this run estimated: every estimate of those months is new (forget_month_estimates removed the others).
SELECT method, count(*) FROM call_charge
WHERE start_at >= $first AND start_at < $after AND utc_month(start_at) IN (SELECT month FROM _rate_months)
GROUP BY method ORDER BY method

-- name: unrated_in_ledger
SELECT count(*) FROM call_charge WHERE method = 'unrated'

-- name: mark
-- How far rating went: the newest import time rated, the currency estimates are in, whether they are current,
-- what the minute pools were sized from, and how many calls it rated.
SELECT rated_through, currency, estimates_current, pool_inputs, calls_rated FROM rating_mark

-- name: pool_inputs
-- A digest of the tenant's licenses and users, which size the included-minute pools: when it changes, every
-- estimate is redone.
SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), ''))
FROM (SELECT l::VARCHAR AS x FROM user_license l UNION ALL SELECT u::VARCHAR FROM tenant_user u)

-- name: set_mark
INSERT OR REPLACE INTO rating_mark BY NAME
SELECT 1 AS id, coalesce(greatest((SELECT max(imported_at) FROM _rate_new), $mark), $mark) AS rated_through,
       $currency AS currency, true AS estimates_current, $pool_inputs AS pool_inputs,
       (SELECT count(*) FROM pstn_call) AS calls_rated
