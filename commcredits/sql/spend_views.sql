-- Where the money went by the PSTN usage report's other dimensions: department, resource account (auto
-- attendant or call queue) and the tenant's phone number. Read from the rollups (rollup_views.sql) like the
-- spend_by_* views in usage_views.sql; the *_at(mark) macros take the rollups' mark as a constant.
-- Departments and owners come from the current tenant import (licensing), so a user who moved counts in the
-- new department for every month.

-- phone_owner: who holds each number in the tenant import (digits only, so '+1 425 555 0100' matches
-- '+14255550100'); one row per number.
CREATE OR REPLACE VIEW phone_owner AS
SELECT regexp_replace(phone_number, '[^0-9]', '', 'g') AS digits, any_value(display_name) AS display_name,
       any_value(user_principal_name) AS user_principal_name, bool_or(is_resource_account) AS is_resource_account
FROM readiness WHERE phone_number IS NOT NULL AND phone_number <> '' GROUP BY 1;

-- spend_by_department: credits spent per department of the users who called ('(no department)' when the tenant
-- import has none for them; calls without a user as one row).
CREATE OR REPLACE MACRO spend_by_department_at(mark) AS TABLE
SELECT CASE WHEN s.key LIKE '(no user:%' THEN s.key ELSE coalesce(nullif(trim(t.department), ''), '(no department)') END
           AS department,
       count(DISTINCT s.key)::BIGINT AS users, sum(s.calls)::BIGINT AS calls, sum(s.seconds) / 60 AS minutes,
       sum(s.amount)::DECIMAL(18, 2) AS amount
FROM spend_parts(mark) s
LEFT JOIN (SELECT lower(user_principal_name) AS upn, any_value(department) AS department FROM tenant_user GROUP BY 1) t
       ON t.upn = lower(s.key)
WHERE s.dimension = 'user' GROUP BY 1 ORDER BY amount DESC;
CREATE OR REPLACE VIEW spend_by_department AS SELECT * FROM spend_by_department_at(rollup_mark_now());

-- spend_by_resource_account: credits spent by auto attendants and call queues (ucap_* calls, which carry no
-- user), per number, with the resource account that holds it (NULL when the tenant import does not say).
CREATE OR REPLACE MACRO spend_by_resource_account_at(mark) AS TABLE
SELECT o.display_name AS resource_account, o.user_principal_name, s.key AS phone_number,
       sum(s.calls)::BIGINT AS calls, sum(s.seconds) / 60 AS minutes, sum(s.amount)::DECIMAL(18, 2) AS amount
FROM spend_parts(mark) s
LEFT JOIN phone_owner o ON o.digits = regexp_replace(s.key, '[^0-9]', '', 'g') AND o.digits <> ''
WHERE s.dimension = 'resource_number' GROUP BY ALL ORDER BY amount DESC;
CREATE OR REPLACE VIEW spend_by_resource_account AS SELECT * FROM spend_by_resource_account_at(rollup_mark_now());

-- spend_by_number: credits spent per number of the tenant's on the call (called on the way in, calling on the
-- way out), with who holds it.
CREATE OR REPLACE MACRO spend_by_number_at(mark) AS TABLE
SELECT s.key AS phone_number, o.display_name AS held_by, sum(s.calls)::BIGINT AS calls,
       sum(s.seconds) / 60 AS minutes, sum(s.amount)::DECIMAL(18, 2) AS amount
FROM spend_parts(mark) s
LEFT JOIN phone_owner o ON o.digits = regexp_replace(s.key, '[^0-9]', '', 'g') AND o.digits <> ''
WHERE s.dimension = 'number' GROUP BY ALL ORDER BY amount DESC;
CREATE OR REPLACE VIEW spend_by_number AS SELECT * FROM spend_by_number_at(rollup_mark_now());
