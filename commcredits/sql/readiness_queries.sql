-- Reads of the readiness views for people (commcredits/licensing/readiness.py). Parameters are bound by name.

-- name: readiness_totals
-- Users imported, users who can dial out, and of those the users who cannot call beyond the included minutes.
SELECT count(*), count(*) FILTER (WHERE can_dial_out),
       count(*) FILTER (WHERE can_dial_out AND NOT can_call_beyond_included)
FROM readiness;

-- name: reason_counts
-- Users per readiness reason with its summary (the singular one for one user), most common first. With
-- $beyond_included false: why users cannot dial out; true: why users who can dial out cannot make the calls
-- paid from credits (beyond the included minutes). A user can count under several reasons.
SELECT r.code, CASE WHEN count(*) = 1 THEN r.summary_one ELSE r.summary END, count(*) AS users
FROM (SELECT unnest(CASE WHEN $beyond_included THEN list_filter(beyond_included_codes, lambda c: can_dial_out)
                         ELSE reason_codes END) AS code
      FROM readiness) u
JOIN readiness_reasons r USING (code)
GROUP BY r.code, r.summary, r.summary_one, r.sort_order
ORDER BY users DESC, r.sort_order;

-- name: license_seats
-- The tenant's calling licenses with free seats, bundles first, then by product name.
SELECT sku_id, sku_part_number, product_name, capabilities, enabled_units, warning_units, consumed_units,
       free_units, capability_status, is_bundle
FROM license_seats ORDER BY is_bundle DESC, lower(product_name);

-- name: toll_free_resource_accounts
-- Resource accounts that hold a toll-free number, by sign-in name.
SELECT user_id, user_principal_name, display_name, phone_number, has_communication_credits, reason_codes
FROM resource_accounts WHERE has_toll_free_number ORDER BY lower(user_principal_name);
