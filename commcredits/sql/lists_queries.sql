-- Long lists the dashboard pages through (commcredits/usage/lists.py). Each `rows` statement is ordered and
-- ends without LIMIT: the caller adds `LIMIT $limit OFFSET $offset` for one page (LIMIT NULL: every row, for
-- the CSV download) or wraps it in count(*). Parameters are named.

-- name: quarantine_rows
-- Quarantined rows of the files named $files (as people know them: the file name without folders; a zip
-- member is shown as "archive.zip › member.csv"), newest first.
WITH q AS (
    SELECT regexp_extract(split_part(source_file, '!', 1), '[^/\\]+$') AS file_name,
           nullif(regexp_extract(split_part(source_file, '!', 2), '[^/\\]+$'), '') AS member,
           row_number, reason, raw, quarantined_at, source_file
    FROM pstn_call_quarantine
)
SELECT file_name || coalesce(' › ' || member, '') AS file, row_number, reason, raw, quarantined_at
FROM q
WHERE list_contains($files, file_name)
ORDER BY quarantined_at DESC, source_file, row_number

-- name: quarantine_reasons
-- The same rows counted by kind of reason (the words before the first ": ", which is where the offending
-- value starts; "line 4 is not valid JSON" counts as "a line is not valid JSON"), most frequent first.
WITH q AS (
    SELECT regexp_extract(split_part(source_file, '!', 1), '[^/\\]+$') AS file_name, reason
    FROM pstn_call_quarantine
)
SELECT regexp_replace(split_part(reason, ': ', 1), '^line [0-9]+ ', 'a line ') AS reason, count(*) AS rows_
FROM q
WHERE list_contains($files, file_name)
GROUP BY ALL
ORDER BY rows_ DESC, reason

-- name: attention_rows
-- Calls in another currency, blocked, with only an estimate, or reported again with another charge (see
-- usage/charges.py), newest first.
SELECT usage_id, start_at, user_principal_name, status, attention_amount, currency, reason
FROM call_charges_of(true, $currency)
WHERE status IN ('other_currency', 'blocked', 'estimate')
UNION ALL
SELECT usage_id, start_at, user_principal_name, status, attention_amount, currency, reason FROM call_rereports
ORDER BY start_at DESC, usage_id

-- name: alert_messages
-- Alert messages sent (and failed), newest first, as the Alerts page lists them.
SELECT attempted_at, channel, recipient, check_name, kind, severity, sentence, status, attempts, error
FROM alerts_sent
ORDER BY delivery_id DESC
