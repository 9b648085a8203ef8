-- Importing PSTN call log rows (commcredits/usage/call_checks.py). Statements named `checked` and the
-- `*_source` ones are templates: `{source}`, `{raw}`, `{fields}`, `{paths}`, `{rows}` and the limits are filled in
-- by Python with str.format (so a literal brace is written twice, and comments inside a statement name no
-- placeholder); parameters are positional ($1, $2, ...).

-- name: trim_macro
-- trim(x), without copying the text when it starts and ends in printable ASCII (nothing to trim): trim() copies
-- every value, ~0.1 s for a million row ids.
CREATE OR REPLACE TEMP MACRO _trim(x) AS
    CASE WHEN ord(x[1]) BETWEEN 33 AND 126 AND ord(x[-1]) BETWEEN 33 AND 126 THEN x ELSE trim(x) END

-- name: call_ts_macro
-- Text -> TIMESTAMPTZ: ISO 8601 (Graph, naive = UTC) or the US format some admin center exports use.
CREATE OR REPLACE TEMP MACRO _call_ts(x) AS COALESCE(
    TRY_CAST(nullif(_trim(x), '') AS TIMESTAMPTZ),
    try_strptime(_trim(x), '%m/%d/%Y %I:%M:%S %p')::TIMESTAMPTZ,
    try_strptime(_trim(x), '%m/%d/%Y %H:%M:%S')::TIMESTAMPTZ)

-- name: checked
-- Why a staged row cannot be imported (NULL: it can), and its typed values, in one pass over the text fields.
-- The source query yields source_file, row_number, seq, pre_reason, the text fields named as our columns, and
-- what the raw expression is made of; raw text is built only for rows that get a reason (quarantine), never for good rows.
-- Each check tests the typed value first: the text is looked at again only where the value is missing.
SELECT source_file, row_number, seq, reason, CASE WHEN reason IS NOT NULL THEN {raw} END AS raw,
       usage_id, nullif(call_id, '') AS call_id, nullif(user_id, '') AS user_id,
       nullif(user_principal_name, '') AS user_principal_name, nullif(user_display_name, '') AS user_display_name,
       start_ts AS start_at, end_ts AS end_at, round(duration)::BIGINT AS duration_seconds,
       charge_value AS charge, connection_value AS connection_charge,
       upper(nullif(_trim(currency), '')) AS currency, nullif(call_type, '') AS call_type,
       nullif(callee_number, '') AS callee_number, nullif(caller_number, '') AS caller_number,
       nullif(destination_context, '') AS destination_context, nullif(destination_name, '') AS destination_name,
       nullif(conference_id, '') AS conference_id, nullif(_trim(license_capability), '') AS license_capability,
       upper(nullif(_trim(usage_country_code), '')) AS usage_country_code,
       upper(nullif(_trim(tenant_country_code), '')) AS tenant_country_code,
       nullif(_trim(operator), '') AS operator, nullif(_trim(inventory_type), '') AS inventory_type,
       lower(nullif(_trim(call_duration_source), '')) AS call_duration_source
FROM (
    SELECT t.*,
        CASE
            WHEN pre_reason IS NOT NULL THEN pre_reason
            WHEN usage_id IS NULL OR usage_id = '' THEN 'missing row id (Graph id / CSV UsageId)'
            WHEN start_ts IS NULL AND (start_at IS NULL OR _trim(start_at) = '') THEN 'missing start time'
            WHEN start_ts IS NULL THEN 'start time is not a date and time: ' || start_at
            WHEN start_ts > now() + INTERVAL 1 DAY THEN 'start time is more than a day in the future: ' || start_at
            WHEN end_ts IS NULL AND nullif(_trim(end_at), '') IS NOT NULL
                THEN 'end time is not a date and time: ' || end_at
            WHEN duration IS NULL AND nullif(_trim(duration_seconds), '') IS NOT NULL
                THEN 'duration is not a number of seconds: ' || duration_seconds
            WHEN duration < 0 THEN 'negative duration: ' || duration_seconds
            WHEN charge_value IS NULL AND nullif(_trim(charge), '') IS NOT NULL
                THEN 'charge is not a number: ' || charge
            WHEN charge_value < 0 THEN 'negative charge: ' || charge
            WHEN connection_value IS NULL AND nullif(_trim(connection_charge), '') IS NOT NULL
                THEN 'connection charge is not a number: ' || connection_charge
            WHEN charge_value > 0 AND NOT regexp_full_match(coalesce(_trim(currency), ''), '[A-Za-z]{{3}}')
                THEN 'charge without a three-letter currency'
        END AS reason
    FROM (
        SELECT s.* REPLACE (_trim(s.usage_id) AS usage_id),
               _call_ts(s.start_at) AS start_ts, _call_ts(s.end_at) AS end_ts,
               TRY_CAST(s.duration_seconds AS DECIMAL(18, 3)) AS duration,
               TRY_CAST(s.charge AS DECIMAL(18, 6)) AS charge_value,
               TRY_CAST(s.connection_charge AS DECIMAL(18, 6)) AS connection_value
        FROM ({source}) s
    ) t
)

-- name: checked_counts
SELECT count(*), count(*) FILTER (WHERE reason IS NOT NULL) FROM _call_checked

-- name: insert_quarantine
INSERT INTO pstn_call_quarantine
SELECT DISTINCT ON (md5(c.raw)) md5(c.raw), c.source_file, c.row_number, c.raw, c.reason, $1
FROM _call_checked c
WHERE c.reason IS NOT NULL
  AND md5(c.raw) NOT IN (SELECT row_hash FROM pstn_call_quarantine)

-- name: id_keys_current
-- Whether pstn_call.id_key was written by this version's row_id_key() (see usage_schema.sql: an older version
-- opening the file in between rewrites the keys and the probe its own way).
SELECT EXISTS (SELECT 1 FROM id_key_probe WHERE probe = row_id_key_probe())

-- name: rewrite_id_keys
-- Keys written by another DuckDB's hash() or another row_id_key(): every one written again, once, so a re-imported
-- row is still found.
UPDATE pstn_call SET id_key = row_id_key(usage_id);
DELETE FROM id_key_probe;
INSERT INTO id_key_probe SELECT row_id_key_probe()

-- name: known_rows
-- The ledger's rows with an id in this import. The test first compares the stored 64-bit keys of the ids (a
-- narrow column, cheap to scan and join), then the ids themselves only where a key matches: the ledger's ids are
-- never all read or hashed, so the check does not grow with the ledger's text.
CREATE OR REPLACE TEMP TABLE _call_known AS
WITH by_key AS MATERIALIZED (  -- materialized: else DuckDB tests every id of the ledger too (0.17 s vs 0.04 at 10M)
    SELECT usage_id, charge, connection_charge, currency FROM pstn_call
    WHERE id_key IN (SELECT row_id_key(usage_id) FROM _call_checked WHERE reason IS NULL)
)
SELECT * FROM by_key WHERE usage_id IN (SELECT usage_id FROM _call_checked WHERE reason IS NULL)

-- name: repeated_in_import
-- Row ids this import holds more than once (again hashes first: the new ids are never all grouped as text),
-- with the `seq` of the first, which is the one kept.
CREATE OR REPLACE TEMP TABLE _call_repeated AS
SELECT usage_id, min(seq) AS first_seq FROM _call_checked
WHERE reason IS NULL AND hash(usage_id) IN (
    SELECT hash(usage_id) FROM _call_checked WHERE reason IS NULL GROUP BY ALL HAVING count(*) > 1)
GROUP BY usage_id HAVING count(*) > 1

-- name: insert_rereports
-- A row id reported again with another charge, connection fee or currency than the report kept (the ledger's
-- row, else the first in this import): listed once per different report, for reconcile and the attention list.
INSERT INTO pstn_call_rereport
WITH kept AS (
    SELECT usage_id, charge, connection_charge, currency FROM _call_known
    UNION ALL
    SELECT c.usage_id, c.charge, c.connection_charge, c.currency
    FROM _call_checked c JOIN _call_repeated r ON r.usage_id = c.usage_id AND r.first_seq = c.seq
    WHERE c.usage_id NOT IN (SELECT usage_id FROM _call_known)
)
SELECT DISTINCT ON (c.usage_id, c.charge, c.connection_charge, c.currency)
       c.usage_id, c.charge, c.connection_charge, c.currency, k.charge, k.connection_charge, k.currency,
       c.source_file, c.row_number, $1
FROM _call_checked c JOIN kept k ON k.usage_id = c.usage_id
WHERE c.reason IS NULL
  AND (c.charge IS DISTINCT FROM k.charge OR c.currency IS DISTINCT FROM k.currency
       OR coalesce(c.connection_charge, 0) <> coalesce(k.connection_charge, 0))  -- a fee not given is none
  AND NOT EXISTS (SELECT 1 FROM pstn_call_rereport p
                  WHERE p.usage_id = c.usage_id AND p.charge IS NOT DISTINCT FROM c.charge
                    AND p.connection_charge IS NOT DISTINCT FROM c.connection_charge
                    AND p.currency IS NOT DISTINCT FROM c.currency)

-- name: insert_calls
-- The staged rows to import: those new_only keeps, or all when every staged row is readable and new
-- (all_new_and_readable), as its anti-joins cost ~0.15 s a million rows even against empty tables.
INSERT INTO pstn_call BY NAME
SELECT c.* EXCLUDE (row_number, seq, reason, raw), $1 AS source, $2 AS imported_at,
       row_id_key(c.usage_id) AS id_key
FROM _call_checked c
{new_only}

-- name: new_only
-- New rows only: not already in the ledger, and the first of each row id within the import (`seq` order).
WHERE c.reason IS NULL
  AND c.usage_id NOT IN (SELECT usage_id FROM _call_known)
  AND NOT EXISTS (SELECT 1 FROM _call_repeated r WHERE r.usage_id = c.usage_id AND r.first_seq <> c.seq)

-- name: quarantine_file
-- A whole file as one quarantined row (row number NULL); $1 is its key (name, reason and head text).
INSERT INTO pstn_call_quarantine SELECT md5($1), $2, NULL, $3, $4, $5
WHERE md5($1) NOT IN (SELECT row_hash FROM pstn_call_quarantine)

-- name: json_rows
-- Text fields of JSON rows from a query yielding (source_file, row_number, seq, raw JSON text, pre_reason).
-- One json_extract_string with a list of paths parses each row once; `try` turns text that is not JSON into
-- NULL (only the vector holding it is re-read row by row, so rare bad lines cost little).
SELECT source_file, row_number, seq, raw,
       CASE WHEN pre_reason IS NOT NULL THEN pre_reason
            WHEN f IS NULL THEN 'line ' || row_number || ' is not valid JSON'
            WHEN NOT (starts_with(raw, '{{') OR starts_with(ltrim(raw, chr(9) || chr(13) || ' '), '{{'))
                THEN 'not a JSON object'
       END AS pre_reason,
       {fields}
FROM (SELECT *, CASE WHEN pre_reason IS NULL THEN try(json_extract_string(raw, [{paths}])) END AS f
      FROM ({rows}))

-- name: graph_pages_source
-- The rows of Graph response files $1 (shown as $2): each document's `value` array, a bare array of rows,
-- or the document itself as one row (one parse per document: the response_rows expression).
SELECT list_extract($2::VARCHAR[], list_position($1::VARCHAR[], filename)) AS source_file,
       generate_subscripts(rows, 1) AS row_number,
       list_position($1::VARCHAR[], filename)::BIGINT * 4294967296 + row_number AS seq,
       unnest(rows) AS raw, NULL AS pre_reason
FROM (SELECT filename, {response_rows} AS rows
      FROM read_json_objects($1::VARCHAR[], format = 'unstructured', filename = true,
                             maximum_object_size = {max_object}))

-- name: json_lines_source
-- One row per non-blank line of file $2 (shown as $1). A line is one row or (rarely) a whole Graph response:
-- only a line mentioning "value" can be one; those are marked and expanded after the one pass over the file.
SELECT $1 AS source_file, line_no AS row_number, line_no AS seq, line AS raw,
       CASE WHEN contains(line, '"value"') AND try(json_type(line, '$.value')) = 'ARRAY'
            THEN '{response_line}' END AS pre_reason
FROM (SELECT line, row_number() OVER () AS line_no
      FROM read_csv($2, columns = {{'line': 'VARCHAR'}}, header = false, delim = '{record_separator}',
                    quote = '', escape = '', auto_detect = false, strict_mode = false,
                    max_line_size = {max_object}))
WHERE line <> '' AND (NOT starts_with(line, ' ') OR trim(line) <> '')

-- name: json_lines_quick_source
-- The rows of JSON lines files $2 (each shown as the same place in $1) read by DuckDB's JSON reader in parallel,
-- every field as text: no line numbers and no raw text, so only for files whose rows all turn out readable and
-- new (run_checked). A line the reader cannot take as an object comes back with every field NULL (so: missing row
-- id), and a line holding a whole Graph response is marked as one: either sends each file through
-- json_lines_source.
SELECT list_extract($1::VARCHAR[], list_position($2::VARCHAR[], filename)) AS source_file,
       NULL::BIGINT AS row_number, NULL::BIGINT AS seq, NULL AS raw,
       CASE WHEN "value" IS NOT NULL THEN '{response_line}' END AS pre_reason, {fields}
FROM read_json($2::VARCHAR[], format = 'newline_delimited', records = true, ignore_errors = true, filename = true,
               columns = {{{columns}, 'value': 'VARCHAR'}})

-- name: all_new_and_readable
-- True when the staged rows need nothing but inserting: none to quarantine, none the ledger or the import
-- already holds (those may be listed as re-reports, with their line numbers).
SELECT NOT EXISTS (SELECT 1 FROM _call_checked WHERE reason IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM _call_known) AND NOT EXISTS (SELECT 1 FROM _call_repeated)

-- name: response_rows_source
-- The rows of the response lines set aside by json_lines_source.
SELECT source_file, row_number, seq, unnest({response_rows}) AS raw, NULL AS pre_reason
FROM _call_checked WHERE reason = '{response_line}'

-- name: csv_source
-- The rows of a Teams admin center CSV $2 (shown as $1, columns $3 all text), RFC 4180 stated rather than
-- sniffed (a ragged line must not make the sniffer pick another delimiter); lines the reader rejects are
-- kept in _csv_rejects. row_number counts the header as line 1.
SELECT $1 AS source_file, row_number() OVER () + 1 AS row_number, row_number AS seq, t AS rec,
       NULL::VARCHAR AS pre_reason, {fields}
FROM read_csv($2, columns = $3, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
              ignore_errors = true, store_rejects = true,
              rejects_table = '_csv_rejects', rejects_scan = '_csv_scans') t

-- name: renumber_after_rejects
-- row_number counted accepted lines only; shift each past the rejected lines before it, so people find
-- the row at the line number shown (reject j at line r_j precedes r_j - j - 1 rows).
UPDATE _call_checked s SET row_number = s.row_number + (
    SELECT count(*) FROM (SELECT DISTINCT line FROM _csv_rejects) r
    WHERE r.line - (SELECT count(DISTINCT r2.line) FROM _csv_rejects r2 WHERE r2.line <= r.line) - 1
          < s.row_number - 1)

-- name: add_rejects
INSERT INTO _call_checked BY NAME
SELECT DISTINCT ON (line) $1 AS source_file, line AS row_number, line AS seq, csv_line AS raw,
       'CSV line ' || line || ': ' || error_message AS reason
FROM _csv_rejects

-- name: rows_source
-- Rows already in memory (registered as _call_rows, all text, our column names).
SELECT 'rows' AS source_file, row_number() OVER () AS row_number, row_number AS seq, r AS rec,
       NULL::VARCHAR AS pre_reason, r.*
FROM _call_rows r

-- name: quarantined_rows
SELECT source_file, row_number, reason, raw, quarantined_at FROM pstn_call_quarantine
ORDER BY quarantined_at DESC, source_file, row_number
