-- Licensing views. Names and columns are a stable interface documented in docs/licensing.md.
-- This file sorts after ledger_views.sql, so it may read the ledger's tables (lot, entry, agreement_change).

-- sku_plan: the telephony service plans of every known SKU with the capability each grants.
-- The tenant's own subscribedSkus servicePlans win; the shipped catalog covers SKUs the tenant did not list.
CREATE OR REPLACE VIEW sku_plan AS
WITH plans AS (
    SELECT sku_id, service_plan_id, service_plan_name FROM tenant_sku_plan
    UNION ALL
    SELECT sku_id, service_plan_id, service_plan_name FROM catalog_sku_plan
    WHERE sku_id NOT IN (SELECT sku_id FROM tenant_sku_plan)
)
SELECT p.sku_id, p.service_plan_id, p.service_plan_name, c.capability
FROM plans p JOIN service_plan_capability c USING (service_plan_name);

-- funding_status: one row. Funded once any credit was bought; MCA tenants are billed after use instead.
CREATE OR REPLACE VIEW funding_status AS
WITH agreement AS (
    SELECT agreement FROM agreement_change ORDER BY changed_at DESC, change_id DESC LIMIT 1
)
SELECT COALESCE((SELECT agreement FROM agreement), 'MOSA')                  AS agreement,
       (SELECT count(*) FROM lot) > 0                                       AS has_funding,
       COALESCE((SELECT SUM(amount) FROM entry), 0)::DECIMAL(18, 2)         AS balance,
       COALESCE((SELECT agreement FROM agreement), '') = 'MCA'              AS billed_in_arrears,
       -- MCA tenants cannot buy credits ("not available to purchase for customers with MCA Calling and Audio
       -- Conferencing subscriptions"), so no seats are modelled for them
       (SELECT count(*) FROM lot) > 0                                       AS has_credit_seats;

-- sku_seats: seats per subscribed SKU. Free seats follow Microsoft's "View Microsoft 365 licenses and services
-- with PowerShell": purchased (prepaidUnits.enabled) minus those in warning (not renewed) minus those assigned;
-- a subscription that is Suspended, LockedOut or Deleted (capabilityStatus) gives no new seats at all.
-- Communication Credits seats appear with the first funding (10,000 modelled seats) unless the tenant import
-- already shows seats for MCOPSTNC; never for MCA tenants (see funding_status).
CREATE OR REPLACE VIEW sku_seats AS
WITH assigned AS (
    SELECT sku_id, count(*) AS assigned_units FROM user_license GROUP BY sku_id
),
imported AS (
    SELECT s.sku_id, s.sku_part_number, s.enabled_units, COALESCE(s.warning_units, 0) AS warning_units,
           s.consumed_units, COALESCE(s.capability_status, 'Enabled') AS capability_status, 'import' AS seat_source
    FROM tenant_sku s
    WHERE NOT (s.sku_id = '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0' AND s.enabled_units = 0)
),
funded_credits AS (
    SELECT '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0' AS sku_id, 'MCOPSTNC' AS sku_part_number,
           10000::BIGINT AS enabled_units, 0::BIGINT AS warning_units,
           COALESCE((SELECT assigned_units FROM assigned
                     WHERE sku_id = '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0'), 0)::BIGINT AS consumed_units,
           'Enabled' AS capability_status, 'funding' AS seat_source
    FROM funding_status
    WHERE has_credit_seats
      AND NOT EXISTS (SELECT 1 FROM imported WHERE sku_id = '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0')
)
SELECT sku_id, sku_part_number, enabled_units, consumed_units,
       CASE WHEN capability_status IN ('Suspended', 'LockedOut', 'Deleted') THEN 0
            ELSE greatest(enabled_units - warning_units - consumed_units, 0) END AS free_units,
       seat_source, warning_units, capability_status
FROM (SELECT * FROM imported UNION ALL SELECT * FROM funded_credits);

-- license_seats: the tenant's add-on calling licenses (suites that include Teams, such as E5, are left out:
-- plans never assign them), with what each grants and its free seats (what Step 1 shows before planning).
-- is_bundle: Teams Phone and a Calling Plan in one product, one seat.
CREATE OR REPLACE VIEW license_seats AS
WITH grants AS (
    SELECT sku_id, list(DISTINCT capability ORDER BY capability) AS capabilities FROM sku_plan GROUP BY sku_id
)
SELECT s.sku_id, s.sku_part_number, COALESCE(c.product_name, s.sku_part_number) AS product_name,
       g.capabilities, s.enabled_units, s.warning_units, s.consumed_units, s.free_units, s.capability_status,
       list_contains(g.capabilities, 'teams_phone')
           AND list_has_any(g.capabilities, ['domestic_calling_plan', 'international_calling_plan',
                                             'pay_as_you_go_calling_plan']) AS is_bundle
FROM sku_seats s
JOIN grants g USING (sku_id)
LEFT JOIN catalog_sku c USING (sku_id)
WHERE NOT list_contains(g.capabilities, 'teams');

-- user_licensing: one row per user with the capabilities their enabled service plans grant.
CREATE OR REPLACE VIEW user_licensing AS
WITH granted AS (
    SELECT l.user_id, p.capability,
           bool_or(NOT list_contains(l.disabled_plans, p.service_plan_id)) AS enabled
    FROM user_license l JOIN sku_plan p USING (sku_id)
    GROUP BY ALL
),
per_user AS (
    SELECT user_id,
           bool_or(enabled) FILTER (WHERE capability = 'audio_conferencing')                AS has_audio_conferencing,
           bool_or(enabled) FILTER (WHERE capability = 'teams_phone')                       AS has_teams_phone,
           bool_or(enabled) FILTER (WHERE capability IN ('domestic_calling_plan', 'international_calling_plan',
                                                         'pay_as_you_go_calling_plan'))    AS has_calling_plan,
           bool_or(enabled) FILTER (WHERE capability IN ('domestic_calling_plan', 'international_calling_plan'))
                                                                                            AS has_included_calling_plan,
           bool_or(enabled) FILTER (WHERE capability = 'communication_credits')             AS has_communication_credits,
           bool_or(enabled) FILTER (WHERE capability = 'teams')                             AS has_teams,
           bool_or(capability = 'resource_account')                                         AS is_resource_account
    FROM granted GROUP BY user_id
),
licenses AS (
    SELECT l.user_id,
           list(COALESCE(t.sku_part_number, c.sku_part_number, l.sku_id)
                ORDER BY COALESCE(t.sku_part_number, c.sku_part_number, l.sku_id)) AS licenses
    FROM user_license l
    LEFT JOIN tenant_sku t USING (sku_id)
    LEFT JOIN catalog_sku c USING (sku_id)
    GROUP BY l.user_id
)
SELECT u.user_id, u.user_principal_name, u.display_name, u.department, u.country, u.usage_location,
       COALESCE(p.is_resource_account, false)        AS is_resource_account,
       COALESCE(p.has_audio_conferencing, false)     AS has_audio_conferencing,
       COALESCE(p.has_teams_phone, false)            AS has_teams_phone,
       COALESCE(p.has_calling_plan, false)           AS has_calling_plan,
       COALESCE(p.has_communication_credits, false)  AS has_communication_credits,
       n.phone_number,
       COALESCE(s.licenses, []::VARCHAR[])            AS licenses,
       COALESCE(p.has_teams, false)                   AS has_teams,
       COALESCE(n.is_toll_free, false)                AS has_toll_free_number,
       COALESCE(p.has_included_calling_plan, false)   AS has_included_calling_plan
FROM tenant_user u
LEFT JOIN per_user p USING (user_id)
LEFT JOIN user_phone_number n USING (user_id)
LEFT JOIN licenses s USING (user_id);

-- readiness_reasons: every reason a user cannot dial out, in plain language, with what to do about it.
-- The last three are about calls paid from credits. A user with included minutes (Audio Conferencing, a
-- Domestic or International Calling Plan) can still call within them; for that user these reasons only limit
-- calls beyond them ("What are Communications Credits?": "Not all customers need to set up Communication
-- Credits"). For a Pay-As-You-Go Calling Plan or a toll-free number every call is paid from credits.
-- What to do about no credits follows how the tenant buys (the same words as credits/agreement.py's
-- how_to_add_credits): a CSP partner buys for its customers; an EA billed in another region may not be offered
-- them.
CREATE OR REPLACE VIEW readiness_reasons AS
SELECT t.sort_order, t.code, t.reason,
       CASE WHEN t.code NOT IN ('no_funds', 'zero_balance') THEN t.fix
            WHEN f.agreement = 'CSP' THEN t.fix || 'Ask your CSP partner to buy Communication Credits, then record the purchase in Step 2.'
            ELSE t.fix || 'Buy Communication Credits in the Microsoft 365 admin center (Billing › Purchase services)'
                 || CASE WHEN t.code = 'zero_balance' THEN ' or turn on auto-recharge there' ELSE '' END
                 || CASE WHEN f.agreement = 'EA'
                         THEN ' (an Enterprise Agreement billed in another region may not be offered them)' ELSE '' END
                 || ', then record it in Step 2.'
       END AS fix,
       t.summary, t.summary_one
FROM (VALUES
    (1, 'no_usage_location',
        'No usage location (country) is set, so Microsoft will not assign calling licenses.',
        'Set the user''s usage location, for example US.',
        'have no usage location', 'has no usage location'),
    (2, 'no_teams_license',
        'Has no Microsoft Teams license (for example a suite sold without Teams), so cannot call from Teams.',
        'Assign a Teams license (Microsoft Teams Enterprise, or a suite that includes Teams), or turn the Microsoft Teams service plan back on.',
        'have no Microsoft Teams license', 'has no Microsoft Teams license'),
    (3, 'no_calling_capability',
        'Has neither Audio Conferencing nor a Calling Plan, so cannot call phone numbers.',
        'Assign Audio Conferencing (to dial out from meetings) or Teams Phone with a Calling Plan.',
        'have no Audio Conferencing or Calling Plan', 'has no Audio Conferencing or Calling Plan'),
    (5, 'calling_plan_without_teams_phone',
        'Has a Calling Plan but no Teams Phone; a Calling Plan only works together with Teams Phone.',
        'Assign Teams Phone (E5 includes it), or turn its service plan back on.',
        'have a Calling Plan without Teams Phone', 'has a Calling Plan without Teams Phone'),
    (6, 'no_phone_number',
        'Has a Calling Plan but no phone number assigned.',
        'Assign a phone number in the Teams admin center, then import the phone numbers again.',
        'have a Calling Plan but no phone number', 'has a Calling Plan but no phone number'),
    (7, 'toll_free_without_communication_credits',
        'Resource account with a toll-free number but no Communication Credits license: callers to the toll-free number cannot reach it.',
        'Assign the Communication Credits license to the resource account (toll-free calls are paid from credits).',
        'are toll-free resource accounts without a Communication Credits license',
        'is a toll-free resource account without a Communication Credits license'),
    (8, 'no_communication_credits_license',
        'Has no Communication Credits license, so calls paid from credits (Pay-As-You-Go, international on a domestic plan, beyond the included minutes, toll-free) are blocked.',
        'Assign the Communication Credits license (Step 3).',
        'lack a Communication Credits license', 'lacks a Communication Credits license'),
    (9, 'no_funds',
        'The organization has not bought any Communication Credits yet, so calls paid from credits are blocked.',
        'Only for calls beyond their included minutes: ',
        'have no credits for calls beyond included minutes (none bought)',
        'has no credits for calls beyond included minutes (none bought)'),
    (10, 'zero_balance',
        'The Communication Credits balance is zero, so calls paid from credits stop.',
        '',
        'have no credits for calls beyond included minutes (balance zero)',
        'has no credits for calls beyond included minutes (balance zero)')
) AS t(sort_order, code, reason, fix, summary, summary_one), funding_status f;

-- readiness_codes: one row per user with the codes of every reason they cannot dial out now (reason_codes)
-- and, for users with included minutes, what still stops calls beyond them (beyond_included_codes).
-- Resource accounts need neither a Teams license nor a Calling Plan to answer calls on their service number
-- ("Microsoft Teams Phone Resource Account licenses": "A Microsoft calling plan isn't required unless you want
-- to be able to dial out using that resource account"); one that dials out has a Pay-As-You-Go Calling Plan
-- and pays every call from credits. MCA tenants are billed after use: no credits license, no balance.
CREATE OR REPLACE VIEW readiness_codes AS
WITH coded AS (
    SELECT u.*,
           u.has_audio_conferencing OR u.has_included_calling_plan AS has_included_minutes,
           list_filter([
               CASE WHEN u.usage_location IS NULL THEN 'no_usage_location' END,
               CASE WHEN NOT u.is_resource_account AND NOT u.has_teams THEN 'no_teams_license' END,
               CASE WHEN NOT u.is_resource_account AND NOT (u.has_audio_conferencing OR u.has_calling_plan)
                    THEN 'no_calling_capability' END,
               CASE WHEN u.has_calling_plan AND NOT u.has_teams_phone AND NOT u.is_resource_account
                    THEN 'calling_plan_without_teams_phone' END,
               CASE WHEN u.has_calling_plan AND u.phone_number IS NULL THEN 'no_phone_number' END,
               CASE WHEN NOT f.billed_in_arrears AND NOT u.has_communication_credits
                         AND u.is_resource_account AND u.has_toll_free_number
                    THEN 'toll_free_without_communication_credits' END
           ], lambda code: code IS NOT NULL) AS blocking_codes,
           -- what calls paid from credits need; only for accounts that can make (or take toll-free) such calls
           CASE WHEN u.has_audio_conferencing OR u.has_calling_plan
                     OR (u.is_resource_account AND u.has_toll_free_number) THEN list_filter([
               CASE WHEN NOT f.billed_in_arrears AND NOT u.has_communication_credits
                         AND NOT (u.is_resource_account AND u.has_toll_free_number)
                    THEN 'no_communication_credits_license' END,
               CASE WHEN NOT f.billed_in_arrears AND NOT f.has_funding THEN 'no_funds' END,
               CASE WHEN NOT f.billed_in_arrears AND f.has_funding AND f.balance <= 0 THEN 'zero_balance' END
           ], lambda code: code IS NOT NULL) ELSE []::VARCHAR[] END AS credit_codes
    FROM user_licensing u CROSS JOIN funding_status f
)
SELECT * EXCLUDE (blocking_codes, credit_codes),
       CASE WHEN has_included_minutes THEN blocking_codes
            ELSE list_concat(blocking_codes, credit_codes) END            AS reason_codes,
       CASE WHEN has_included_minutes THEN credit_codes
            ELSE []::VARCHAR[] END                                        AS beyond_included_codes
FROM coded;

-- readiness: one row per user: can they dial out now, and if not, why and what to do (in the order above);
-- can_call_beyond_included says whether calls beyond the included minutes (paid from credits) work too.
CREATE OR REPLACE VIEW readiness AS
WITH texts AS (
    SELECT list(code ORDER BY sort_order) AS codes, list(reason ORDER BY sort_order) AS reasons,
           list(fix ORDER BY sort_order) AS fixes
    FROM readiness_reasons
)
SELECT u.user_principal_name, u.display_name, u.department, u.usage_location,
       len(u.reason_codes) = 0                                                       AS can_dial_out,
       list_transform(u.reason_codes, lambda c: t.reasons[list_position(t.codes, c)]) AS reasons,
       list_transform(u.reason_codes, lambda c: t.fixes[list_position(t.codes, c)])   AS fixes,
       u.reason_codes,
       u.is_resource_account, u.has_audio_conferencing, u.has_teams_phone, u.has_calling_plan,
       u.has_communication_credits, u.phone_number, u.licenses, u.user_id, u.has_teams, u.has_toll_free_number,
       u.has_included_minutes,
       len(u.reason_codes) = 0 AND len(u.beyond_included_codes) = 0                   AS can_call_beyond_included,
       u.beyond_included_codes,
       list_transform(u.beyond_included_codes, lambda c: t.reasons[list_position(t.codes, c)]) AS beyond_included
FROM readiness_codes u CROSS JOIN texts t;

-- resource_accounts: every resource account (auto attendant / call queue) with its number and what it lacks.
-- has_toll_free_number says which ones draw on Communication Credits for every inbound call (alerts use it).
CREATE OR REPLACE VIEW resource_accounts AS
SELECT user_id, user_principal_name, display_name, usage_location, phone_number, has_toll_free_number,
       has_calling_plan, has_communication_credits, reason_codes, len(reason_codes) = 0 AS can_dial_out
FROM readiness_codes
WHERE is_resource_account;

-- license_history: every license, usage location and phone number change, oldest first.
CREATE OR REPLACE VIEW license_history AS
SELECT c.changed_at, c.user_principal_name, c.kind, c.sku_id,
       COALESCE(t.sku_part_number, k.sku_part_number) AS sku_part_number,
       c.old_value, c.new_value, c.import_id, c.plan_id, c.user_id, c.change_id
FROM tenant_change c
LEFT JOIN (SELECT DISTINCT sku_id, sku_part_number FROM tenant_sku) t USING (sku_id)
LEFT JOIN catalog_sku k USING (sku_id)
ORDER BY c.change_id;
