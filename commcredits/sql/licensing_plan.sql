-- Planning and applying license changes, set-based. Parameters are bound by name ($name).

-- name: tenant_version
-- Grows with every import and every applied plan: a plan made on an older version is stale.
SELECT (SELECT count(*) FROM tenant_import) + (SELECT count(*) FROM license_plan_apply);

-- name: plan_license_changes
-- One row per change (kind = 'change') and per problem (kind = 'problem') for the selected users.
-- Seats are handed out in dependency order: Teams Phone, then Calling Plans (only to users who have or get
-- Teams Phone), then Audio Conferencing, then Communication Credits (only to users who have or get a calling
-- capability); within each step users are served by sign-in name until the free seats run out.
-- A bundle ($cp_bundle: the chosen Calling Plan product also brings Teams Phone, e.g. Teams Phone with Calling
-- Plan) is one license and one seat: users who get it are not given Teams Phone separately.
-- Resource accounts never get Audio Conferencing, Teams Phone or a Teams license, and a Calling Plan only when the
-- change asks for one and it is Pay-As-You-Go ($cp_is_payg): inbound-only accounts need none.
WITH
picked AS (
    SELECT DISTINCT lower(trim(upn)) AS upn_key FROM (SELECT unnest($upns::VARCHAR[]) AS upn)
),
seats AS (SELECT sku_id, free_units FROM sku_seats),
-- Capabilities a user holds but with the service plan turned off: turning it back on costs no seat.
dormant AS (
    SELECT l.user_id,
           CASE WHEN p.capability LIKE '%calling_plan' THEN 'calling_plan' ELSE p.capability END AS need,
           min(l.sku_id) AS sku_id
    FROM user_license l JOIN sku_plan p USING (sku_id)
    WHERE list_contains(l.disabled_plans, p.service_plan_id)
    GROUP BY ALL
),
selected AS (
    SELECT r.user_id, r.user_principal_name, r.display_name, r.usage_location, r.is_resource_account,
           r.phone_number, r.has_teams, r.has_toll_free_number, r.reason_codes,
           r.has_audio_conferencing                          AS has_ac,
           r.has_teams_phone OR r.is_resource_account        AS has_tp,
           r.has_calling_plan                                AS has_cp,
           r.has_communication_credits                       AS has_cc,
           COALESCE(r.usage_location, NULLIF($usage_location, '')) IS NOT NULL AS located
    FROM readiness_codes r
    WHERE (NOT $filter_upns OR lower(r.user_principal_name) IN (SELECT upn_key FROM picked))
      AND ($department = '' OR lower(r.department) = lower($department))
      AND (NOT $not_ready_only OR len(r.reason_codes) > 0)
      AND ($include_resource_accounts OR NOT r.is_resource_account)
),
wanted AS (
    SELECT s.*,
           -- a resource account gets a Calling Plan only when asked for one, and only Pay-As-You-Go: it
           -- answers its service number without one, and dials out on Pay-As-You-Go with credits
           NOT has_cp AND (($want_cp AND (NOT is_resource_account OR $cp_is_payg))
                           OR ($calling_if_missing = 'calling_plan' AND NOT is_resource_account AND NOT has_ac)) AS need_cp,
           NOT has_ac AND ($want_ac OR ($calling_if_missing = 'audio_conferencing'
                                        AND NOT (has_ac OR has_cp OR is_resource_account)))       AS need_ac,
           NOT has_cc AND $want_cc                                                                AS need_cc
    FROM selected s
),
needs AS (
    SELECT w.*,
           NOT has_tp AND ($want_tp OR need_cp OR ($teams_phone_for_calling_plans AND has_cp))
                      AND NOT ($cp_bundle AND need_cp)                                           AS need_tp,
           d_tp.sku_id AS dormant_tp, d_cp.sku_id AS dormant_cp, d_ac.sku_id AS dormant_ac, d_cc.sku_id AS dormant_cc
    FROM wanted w
    LEFT JOIN dormant d_tp ON d_tp.user_id = w.user_id AND d_tp.need = 'teams_phone'
    LEFT JOIN dormant d_cp ON d_cp.user_id = w.user_id AND d_cp.need = 'calling_plan'
    LEFT JOIN dormant d_ac ON d_ac.user_id = w.user_id AND d_ac.need = 'audio_conferencing'
    LEFT JOIN dormant d_cc ON d_cc.user_id = w.user_id AND d_cc.need = 'communication_credits'
),
tp AS (
    SELECT n.*,
           need_tp AND located AND dormant_tp IS NOT NULL AS tp_on,
           need_tp AND located AND dormant_tp IS NULL     AS tp_seek,
           row_number() OVER (ORDER BY NOT (need_tp AND located AND dormant_tp IS NULL), user_principal_name) AS tp_rank
    FROM needs n
),
tp_done AS (
    SELECT t.*, tp_seek AND tp_rank <= COALESCE((SELECT free_units FROM seats WHERE sku_id = $tp_sku), 0) AS tp_new
    FROM tp t
),
cp AS (
    SELECT t.*,
           has_tp OR tp_on OR tp_new OR $cp_bundle                      AS got_tp,
           need_cp AND located AND (has_tp OR tp_on OR tp_new OR $cp_bundle) AS cp_ok,
           row_number() OVER (ORDER BY NOT (need_cp AND located AND (has_tp OR tp_on OR tp_new OR $cp_bundle)
                                            AND dormant_cp IS NULL),
                              user_principal_name)                      AS cp_rank
    FROM tp_done t
),
cp_done AS (
    SELECT c.*,
           cp_ok AND dormant_cp IS NOT NULL AS cp_on,
           cp_ok AND dormant_cp IS NULL     AS cp_seek,
           cp_ok AND dormant_cp IS NULL
                 AND cp_rank <= COALESCE((SELECT free_units FROM seats WHERE sku_id = $cp_sku), 0) AS cp_new
    FROM cp c
),
ac AS (
    SELECT c.*,
           row_number() OVER (ORDER BY NOT (need_ac AND located AND dormant_ac IS NULL), user_principal_name) AS ac_rank
    FROM cp_done c
),
ac_done AS (
    SELECT a.*,
           need_ac AND located AND dormant_ac IS NOT NULL AS ac_on,
           need_ac AND located AND dormant_ac IS NULL     AS ac_seek,
           need_ac AND located AND dormant_ac IS NULL
                   AND ac_rank <= COALESCE((SELECT free_units FROM seats WHERE sku_id = $ac_sku), 0) AS ac_new
    FROM ac a
),
cc AS (
    SELECT a.*,
           has_ac OR ac_on OR ac_new OR has_cp OR cp_on OR cp_new
               OR (is_resource_account AND has_toll_free_number)        AS will_call,
           row_number() OVER (ORDER BY NOT (need_cc AND located AND dormant_cc IS NULL
                                            AND (has_ac OR ac_on OR ac_new OR has_cp OR cp_on OR cp_new
                                                 OR (is_resource_account AND has_toll_free_number))),
                              user_principal_name) AS cc_rank
    FROM ac_done a
),
decided AS (
    SELECT c.*,
           need_cc AND located AND will_call AND dormant_cc IS NOT NULL AS cc_on,
           need_cc AND located AND will_call AND dormant_cc IS NULL     AS cc_seek,
           need_cc AND located AND will_call AND dormant_cc IS NULL
                   AND cc_rank <= COALESCE((SELECT free_units FROM seats WHERE sku_id = $cc_sku), 0) AS cc_new
    FROM cc c
),
new_licenses AS (
    SELECT user_id, $tp_sku AS sku_id, 'teams_phone' AS capability, 1 AS step FROM decided WHERE tp_new
    UNION ALL SELECT user_id, $cp_sku, 'calling_plan', 2 FROM decided WHERE cp_new
    UNION ALL SELECT user_id, $ac_sku, 'audio_conferencing', 3 FROM decided WHERE ac_new
    UNION ALL SELECT user_id, $cc_sku, 'communication_credits', 4 FROM decided WHERE cc_new
),
turned_on AS (
    SELECT user_id, dormant_tp AS sku_id, 'teams_phone' AS need FROM decided WHERE tp_on
    UNION ALL SELECT user_id, dormant_cp, 'calling_plan' FROM decided WHERE cp_on
    UNION ALL SELECT user_id, dormant_ac, 'audio_conferencing' FROM decided WHERE ac_on
    UNION ALL SELECT user_id, dormant_cc, 'communication_credits' FROM decided WHERE cc_on
),
-- Re-sending a held SKU with fewer disabledPlans turns its plans back on.
reenabled AS (
    SELECT t.user_id, t.sku_id, any_value(l.disabled_plans) AS disabled_plans,
           list(DISTINCT p.service_plan_id) AS turn_on,
           string_agg(DISTINCT t.need, ',' ORDER BY t.need) AS needs
    FROM turned_on t
    JOIN user_license l USING (user_id, sku_id)
    JOIN sku_plan p ON p.sku_id = t.sku_id
                   AND t.need = CASE WHEN p.capability LIKE '%calling_plan' THEN 'calling_plan' ELSE p.capability END
    GROUP BY t.user_id, t.sku_id
),
license_changes AS (
    SELECT user_id, 'add_license' AS action, sku_id, []::VARCHAR[] AS disabled_plans, capability AS why, step
    FROM new_licenses
    UNION ALL
    SELECT user_id, 'add_license', sku_id,
           list_filter(disabled_plans, lambda x: NOT list_contains(turn_on, x)),
           'turn_on:' || needs, 0
    FROM reenabled
    UNION ALL
    SELECT s.user_id, 'remove_license', l.sku_id, NULL::VARCHAR[], 'remove', 5
    FROM selected s JOIN user_license l USING (user_id)
    WHERE list_contains($remove_skus::VARCHAR[], l.sku_id)
),
location_changes AS (
    SELECT d.user_id, 'set_usage_location' AS action, NULL::VARCHAR AS sku_id, NULL::VARCHAR[] AS disabled_plans,
           'usage_location' AS why, -1 AS step
    FROM decided d
    WHERE d.usage_location IS NULL AND d.user_id IN (SELECT user_id FROM license_changes WHERE action = 'add_license')
),
problems AS (
    SELECT user_id, 'no_usage_location' AS code, NULL::VARCHAR AS sku_id FROM decided
        WHERE NOT located AND (need_tp OR need_cp OR need_ac OR need_cc)
    UNION ALL SELECT user_id, 'no_free_seats', $tp_sku FROM decided WHERE tp_seek AND NOT tp_new
    UNION ALL SELECT user_id, 'calling_plan_needs_teams_phone', NULL FROM decided WHERE need_cp AND located AND NOT got_tp
    UNION ALL SELECT user_id, 'no_free_seats', $cp_sku FROM decided WHERE cp_seek AND NOT cp_new
    UNION ALL SELECT user_id, 'no_free_seats', $ac_sku FROM decided WHERE ac_seek AND NOT ac_new
    -- (an inbound-only resource account needs no credits: not a problem, nothing to do)
    UNION ALL SELECT user_id, 'credits_need_calling_capability', NULL FROM decided
        WHERE need_cc AND located AND NOT will_call AND NOT is_resource_account
    UNION ALL SELECT user_id, 'no_free_seats', $cc_sku FROM decided WHERE cc_seek AND NOT cc_new
    UNION ALL SELECT user_id, 'needs_phone_number', NULL FROM decided
        WHERE (has_cp OR cp_on OR cp_new) AND phone_number IS NULL
    UNION ALL SELECT user_id, 'needs_teams_license', NULL FROM decided
        WHERE NOT has_teams AND NOT is_resource_account AND (need_tp OR need_cp OR need_ac OR need_cc)
    UNION ALL SELECT user_id, 'resource_account_needs_payg', NULL FROM decided
        WHERE is_resource_account AND $want_cp AND NOT $cp_is_payg AND NOT has_cp
),
-- What each user still lacks to dial out after the plan, beyond what a problem above already explains
-- (a phone number, a Teams license, seats that ran out): a user in the plan reads "gets X, still misses Y".
remaining AS (
    SELECT user_id, code FROM (SELECT d.*, unnest(d.reason_codes) AS code FROM decided d)
    WHERE located
      AND CASE code
            WHEN 'no_calling_capability' THEN NOT (ac_on OR ac_new OR cp_on OR cp_new OR ac_seek OR need_cp)
            WHEN 'calling_plan_without_teams_phone' THEN NOT (tp_on OR tp_new OR tp_seek OR ($cp_bundle AND cp_new))
            WHEN 'no_communication_credits_license' THEN NOT (cc_on OR cc_new OR need_cc)
            WHEN 'toll_free_without_communication_credits' THEN NOT (cc_on OR cc_new OR need_cc)
            WHEN 'no_funds' THEN true
            WHEN 'zero_balance' THEN true
            ELSE false END
)
SELECT 'change' AS kind, d.user_id, d.user_principal_name, d.display_name, c.action, c.sku_id, c.disabled_plans,
       CASE WHEN c.action = 'set_usage_location' THEN COALESCE(d.usage_location, NULLIF($usage_location, '')) END
           AS usage_location,
       c.why AS code, c.step AS step
FROM (SELECT * FROM license_changes UNION ALL SELECT * FROM location_changes) c JOIN decided d USING (user_id)
UNION ALL
SELECT 'problem', d.user_id, d.user_principal_name, d.display_name, NULL, p.sku_id, NULL, NULL, p.code, 9
FROM problems p JOIN decided d USING (user_id)
UNION ALL
SELECT 'remaining', d.user_id, d.user_principal_name, d.display_name, NULL, NULL, NULL, NULL, m.code, 10
FROM remaining m JOIN decided d USING (user_id)
UNION ALL
SELECT 'problem', NULL, upn_key, NULL, NULL, NULL, NULL, NULL, 'not_in_tenant', 9
FROM picked WHERE $filter_upns AND upn_key NOT IN (SELECT lower(user_principal_name) FROM tenant_user)
UNION ALL
-- Every chosen user is accounted for: one the plan neither changes nor explains already has what was asked,
-- or was left out by the selection's other filters (issue 20: a chosen user never vanishes in silence).
SELECT 'problem', u.user_id, u.user_principal_name, u.display_name, NULL, NULL, NULL, NULL,
       CASE WHEN u.user_id IN (SELECT user_id FROM selected) THEN 'nothing_needed' ELSE 'outside_selection' END, 9
FROM tenant_user u
WHERE $filter_upns AND lower(u.user_principal_name) IN (SELECT upn_key FROM picked)
  AND u.user_id NOT IN (SELECT user_id FROM license_changes)
  AND u.user_id NOT IN (SELECT user_id FROM problems)
ORDER BY kind, user_principal_name, step, sku_id;

-- name: seats_overdrawn
-- SKUs a plan would assign beyond the free seats (checked again when applying).
SELECT a.sku_id, a.needed, COALESCE(s.free_units, 0) AS free_units
FROM (
    SELECT i.sku_id, count(*) AS needed
    FROM staged_item i
    WHERE i.action = 'add_license'
      AND NOT EXISTS (SELECT 1 FROM user_license l WHERE l.user_id = i.user_id AND l.sku_id = i.sku_id)
    GROUP BY i.sku_id
) a
LEFT JOIN sku_seats s USING (sku_id)
WHERE a.needed > COALESCE(s.free_units, 0);

-- name: next_plan_id
SELECT COALESCE(max(plan_id), 0) + 1 FROM license_plan;

-- name: record_plan
INSERT INTO license_plan VALUES ($plan_id, now(), $description, $tenant_version, $change_count, $problem_count);

-- name: record_plan_items
INSERT INTO license_plan_item
SELECT $plan_id, row_number() OVER (ORDER BY item_no), user_id, user_principal_name, action, sku_id,
       disabled_plans, usage_location
FROM staged_item;

-- name: record_plan_history
-- Usage locations set, licenses added, re-sent with other plans, or removed by the plan.
INSERT INTO tenant_change
SELECT (SELECT COALESCE(max(change_id), 0) FROM tenant_change) + row_number() OVER (ORDER BY i.item_no),
       now(), NULL, $plan_id, i.user_id, i.user_principal_name,
       CASE WHEN i.action = 'set_usage_location' THEN 'usage_location_set'
            WHEN i.action = 'remove_license' THEN 'license_removed'
            WHEN l.user_id IS NULL THEN 'license_added'
            ELSE 'license_plans_changed' END,
       i.sku_id,
       CASE WHEN i.action = 'set_usage_location' THEN u.usage_location
            WHEN l.user_id IS NOT NULL THEN array_to_string(list_sort(l.disabled_plans), ' ') END,
       CASE WHEN i.action = 'set_usage_location' THEN i.usage_location
            WHEN i.action = 'add_license' THEN array_to_string(list_sort(i.disabled_plans), ' ') END
FROM staged_item i
LEFT JOIN user_license l ON l.user_id = i.user_id AND l.sku_id = i.sku_id
LEFT JOIN tenant_user u ON u.user_id = i.user_id;

-- name: record_apply
INSERT INTO license_plan_apply VALUES ($plan_id, now());

-- name: apply_seat_counts
-- Seats the plan takes (new licenses) or gives back (removed ones).
UPDATE tenant_sku AS s SET consumed_units = s.consumed_units + d.delta
FROM (
    SELECT i.sku_id, sum(CASE WHEN i.action = 'remove_license' THEN -1 ELSE 1 END) AS delta
    FROM staged_item i
    LEFT JOIN user_license l ON l.user_id = i.user_id AND l.sku_id = i.sku_id
    WHERE (i.action = 'add_license' AND l.user_id IS NULL) OR (i.action = 'remove_license' AND l.user_id IS NOT NULL)
    GROUP BY i.sku_id
) d
WHERE s.sku_id = d.sku_id;

-- name: apply_usage_locations
UPDATE tenant_user AS u SET usage_location = i.usage_location
FROM staged_item i
WHERE i.action = 'set_usage_location' AND u.user_id = i.user_id;

-- name: apply_drop_licenses
-- Removed licenses, and the old rows of licenses re-sent with other disabled plans.
DELETE FROM user_license AS l USING staged_item AS i
WHERE i.action IN ('add_license', 'remove_license') AND l.user_id = i.user_id AND l.sku_id = i.sku_id;

-- name: apply_add_licenses
INSERT INTO user_license SELECT user_id, sku_id, disabled_plans FROM staged_item WHERE action = 'add_license';
