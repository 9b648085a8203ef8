-- Statements of a tenant import. Each runs inside the import's one transaction, after the new snapshot was
-- staged as the relations staged_user, staged_license (and staged_sku, staged_sku_plan when SKUs came too).

-- name: refresh_catalog
-- The shipped catalog is reference data: replaced wholesale so an upgraded package brings new SKUs.
DELETE FROM catalog_sku;
-- name: refresh_catalog_plans
DELETE FROM catalog_sku_plan;
-- name: refresh_capabilities
DELETE FROM service_plan_capability;
-- name: insert_catalog
INSERT INTO catalog_sku SELECT sku_id, sku_part_number, product_name FROM staged_catalog_sku;
-- name: insert_catalog_plans
INSERT INTO catalog_sku_plan SELECT sku_id, service_plan_id, service_plan_name FROM staged_catalog_plan;
-- name: insert_capabilities
INSERT INTO service_plan_capability SELECT service_plan_name, capability FROM staged_capability;

-- name: next_import_id
SELECT COALESCE(max(import_id), 0) + 1 FROM tenant_import;

-- name: record_user_changes
-- Users who appeared or left, and usage locations that changed, since the previous snapshot.
INSERT INTO tenant_change
SELECT (SELECT COALESCE(max(change_id), 0) FROM tenant_change)
           + row_number() OVER (ORDER BY user_principal_name, kind_order),
       now(), $import_id, NULL, user_id, user_principal_name, kind, NULL, old_value, new_value
FROM (
    SELECT n.user_id, n.user_principal_name, 1 AS kind_order, 'user_added' AS kind,
           NULL::VARCHAR AS old_value, NULL::VARCHAR AS new_value
    FROM staged_user n WHERE n.user_id NOT IN (SELECT user_id FROM tenant_user)
    UNION ALL
    SELECT o.user_id, o.user_principal_name, 2, 'user_removed', NULL, NULL
    FROM tenant_user o WHERE o.user_id NOT IN (SELECT user_id FROM staged_user)
    UNION ALL
    SELECT n.user_id, n.user_principal_name, 3, 'usage_location_set', o.usage_location, n.usage_location
    FROM staged_user n LEFT JOIN tenant_user o USING (user_id)
    WHERE o.usage_location IS DISTINCT FROM n.usage_location
      AND NOT (o.user_id IS NULL AND n.usage_location IS NULL)
);

-- name: record_license_changes
-- Licenses added, removed, or with other service plans turned off, since the previous snapshot.
INSERT INTO tenant_change
SELECT (SELECT COALESCE(max(change_id), 0) FROM tenant_change)
           + row_number() OVER (ORDER BY upn, sku_id, kind),
       now(), $import_id, NULL, user_id, upn, kind, sku_id, old_value, new_value
FROM (
    SELECT COALESCE(n.user_id, o.user_id) AS user_id,
           COALESCE(su.user_principal_name, tu.user_principal_name, COALESCE(n.user_id, o.user_id)) AS upn,
           COALESCE(n.sku_id, o.sku_id) AS sku_id,
           CASE WHEN o.user_id IS NULL THEN 'license_added'
                WHEN n.user_id IS NULL THEN 'license_removed'
                ELSE 'license_plans_changed' END AS kind,
           CASE WHEN o.user_id IS NOT NULL THEN array_to_string(list_sort(o.disabled_plans), ' ') END AS old_value,
           CASE WHEN n.user_id IS NOT NULL THEN array_to_string(list_sort(n.disabled_plans), ' ') END AS new_value
    FROM user_license o
    FULL OUTER JOIN staged_license n ON n.user_id = o.user_id AND n.sku_id = o.sku_id
    LEFT JOIN staged_user su ON su.user_id = COALESCE(n.user_id, o.user_id)
    LEFT JOIN tenant_user tu ON tu.user_id = COALESCE(n.user_id, o.user_id)
    WHERE o.user_id IS NULL OR n.user_id IS NULL OR list_sort(o.disabled_plans) <> list_sort(n.disabled_plans)
);

-- name: replace_users
DELETE FROM tenant_user;
-- name: insert_users
INSERT INTO tenant_user
SELECT user_id, user_principal_name, display_name, department, country, usage_location FROM staged_user;
-- name: replace_licenses
DELETE FROM user_license;
-- name: insert_licenses
INSERT INTO user_license SELECT user_id, sku_id, disabled_plans FROM staged_license;
-- name: drop_orphan_phone_numbers
-- Numbers of users who left the tenant go with them.
DELETE FROM user_phone_number WHERE user_id NOT IN (SELECT user_id FROM tenant_user);

-- name: replace_skus
DELETE FROM tenant_sku;
-- name: insert_skus
INSERT INTO tenant_sku (sku_id, sku_part_number, enabled_units, consumed_units, capability_status, warning_units,
                        suspended_units)
SELECT sku_id, sku_part_number, enabled_units, consumed_units, capability_status, warning_units, suspended_units
FROM staged_sku;
-- name: replace_sku_plans
DELETE FROM tenant_sku_plan;
-- name: insert_sku_plans
INSERT INTO tenant_sku_plan SELECT sku_id, service_plan_id, service_plan_name FROM staged_sku_plan;

-- name: record_import
INSERT INTO tenant_import VALUES ($import_id, now(), $kind, $source, $user_count, $sku_count);

-- name: record_phone_number_changes
-- Phone numbers set, changed or removed since the previous phone number import.
INSERT INTO tenant_change
SELECT (SELECT COALESCE(max(change_id), 0) FROM tenant_change)
           + row_number() OVER (ORDER BY u.user_principal_name),
       now(), $import_id, NULL, u.user_id, u.user_principal_name, 'phone_number_set', NULL,
       o.phone_number, n.phone_number
FROM user_phone_number o
FULL OUTER JOIN staged_phone n USING (user_id)
JOIN tenant_user u ON u.user_id = COALESCE(n.user_id, o.user_id)
WHERE o.phone_number IS DISTINCT FROM n.phone_number;

-- name: replace_phone_numbers
DELETE FROM user_phone_number;
-- name: insert_phone_numbers
INSERT INTO user_phone_number (user_id, phone_number, is_toll_free)
SELECT user_id, phone_number, is_toll_free FROM staged_phone;
