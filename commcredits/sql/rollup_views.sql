-- Macros over the rollups (rollup_schema.sql); the views in ledger_views.sql and usage_views.sql read them.
-- `mark` is a parameter so a caller that knows it passes a constant (DuckDB then plans the join of the few
-- entries after it against the calls table from the small side).

-- rollup_mark_now(): how far the rollups go.
CREATE OR REPLACE MACRO rollup_mark_now() AS (SELECT coalesce(max(through_entry), 0) FROM rollup_mark);

-- spend_rows(after, upto): each call spend with entry_id in (after, upto], with who and where.
CREATE OR REPLACE MACRO spend_rows(after, upto) AS TABLE
SELECT date_trunc('month', coalesce(e.call_at, e.occurred_at)) AS month,
       coalesce(c.user_principal_name, '(no user: auto attendant, call queue or bot)') AS user_key,
       c.user_display_name, coalesce(c.call_type, '(unknown)') AS call_type,
       coalesce(rated_destination(r.destination_country, n.destination_country, c.inventory_type,
                                  c.usage_country_code, c.tenant_country_code), '??') AS destination_country,
       coalesce(c.duration_seconds, 0) AS seconds, -e.amount AS amount,
       (e.adjusts IS NULL)::INTEGER AS call,  -- an adjusting entry moves money, it is not another call
       -- the tenant's own number on the call: called on the way in, calling on the way out
       coalesce(CASE WHEN suffix(c.call_type, '_in') THEN c.callee_number ELSE c.caller_number END,
                '(unknown)') AS our_number,
       -- auto attendant and call queue calls (ucap_*) carry no user: their resource account is the number's owner
       CASE WHEN starts_with(c.call_type, 'ucap')
            THEN coalesce(CASE WHEN suffix(c.call_type, '_in') THEN c.callee_number ELSE c.caller_number END,
                          '(unknown)') END AS resource_number
FROM entry e
LEFT JOIN pstn_call c ON c.usage_id = e.usage_id
LEFT JOIN call_charge r ON r.usage_id = e.usage_id  -- an estimate's country (a spend recorded by hand)
LEFT JOIN callee_country n ON n.number = c.callee_number
WHERE e.kind = 'spend' AND e.entry_id > after AND e.entry_id <= upto;

-- spend_sums(after, upto): spend_rows summed per user, destination, call type, month, the tenant's number and
-- the number of an auto attendant or call queue (the rollup's rows; departments come from the users' sums).
CREATE OR REPLACE MACRO spend_sums(after, upto) AS TABLE
SELECT CASE WHEN grouping(user_key) = 0 THEN 'user' WHEN grouping(destination_country) = 0 THEN 'destination'
            WHEN grouping(call_type) = 0 THEN 'call_type' WHEN grouping(our_number) = 0 THEN 'number'
            WHEN grouping(resource_number) = 0 THEN 'resource_number' ELSE 'month' END AS dimension,
       coalesce(user_key, destination_country, call_type, our_number, resource_number) AS key,
       CASE WHEN grouping(user_key) = 0 THEN any_value(user_display_name) END AS label,
       month, sum(call) AS calls, sum(seconds * call)::BIGINT AS seconds, sum(amount)::DECIMAL(38, 2) AS amount
FROM spend_rows(after, upto)
GROUP BY GROUPING SETS ((user_key), (destination_country), (call_type), (month), (our_number), (resource_number))
HAVING grouping(resource_number) = 1 OR resource_number IS NOT NULL;  -- calls of users have no resource number

-- spend_parts(mark): the rollup plus the spends after `mark`, per dimension (not yet summed across refreshes).
CREATE OR REPLACE MACRO spend_parts(mark) AS TABLE
SELECT dimension, key, label, month, calls, seconds, amount FROM spend_rollup
UNION ALL
SELECT dimension, key, label, month, calls, seconds, amount FROM spend_sums(mark, 9223372036854775807);
