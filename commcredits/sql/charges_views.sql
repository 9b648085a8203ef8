-- What Microsoft billed for each imported call, and how the workbook treats it. Named in docs/billing.md.

-- currency_minor_unit: the ISO 4217 codes whose minor unit is not 2 digits, as babel (CLDR) gives them to the
-- ledger (tests/test_call_charges.py checks the lists against babel); every other code has 2. A table joined
-- once per call is ~4x cheaper than a CASE over these lists for each of millions of rows.
CREATE OR REPLACE VIEW currency_minor_unit AS
SELECT code, digits FROM (VALUES
    ('ADP', 0), ('AFN', 0), ('ALL', 0), ('BIF', 0), ('BYR', 0), ('CLP', 0), ('DJF', 0), ('ESP', 0), ('GNF', 0),
    ('IQD', 0), ('IRR', 0), ('ISK', 0), ('ITL', 0), ('JPY', 0), ('KMF', 0), ('KPW', 0), ('KRW', 0), ('LAK', 0),
    ('LBP', 0), ('LUF', 0), ('MGA', 0), ('MGF', 0), ('MMK', 0), ('MRO', 0), ('PYG', 0), ('RSD', 0), ('RWF', 0),
    ('SLL', 0), ('SOS', 0), ('STD', 0), ('SYP', 0), ('TMM', 0), ('TRL', 0), ('UGX', 0), ('UYI', 0), ('VND', 0),
    ('VUV', 0), ('XAF', 0), ('XOF', 0), ('XPF', 0), ('YER', 0), ('ZMK', 0), ('ZWD', 0),
    ('BHD', 3), ('JOD', 3), ('KWD', 3), ('LYD', 3), ('OMR', 3), ('TND', 3),
    ('CLF', 4), ('UYW', 4)) t(code, digits);

-- currency_digits(code): minor-unit digits of one ISO 4217 code (unknown codes get 2).
CREATE OR REPLACE MACRO currency_digits(iso_code) AS
    coalesce((SELECT m.digits FROM currency_minor_unit m WHERE m.code = upper(iso_code)), 2);

-- billed_by(operator, charge): who bills a call row. 'microsoft' (operator Microsoft or not given, with a charge),
-- 'operator' (an Operator Connect / Direct Routing carrier bills it itself) or 'no_charge' (Microsoft's row has no
-- charge: only an estimate exists). The import trims operator; NULL = not given.
CREATE OR REPLACE MACRO billed_by(operator, charge) AS
    CASE WHEN operator NOT ILIKE 'microsoft' THEN 'operator' WHEN charge IS NULL THEN 'no_charge' ELSE 'microsoft' END;

-- drawn_charge(charge, digits): a reported charge rounded half-up to the currency's minor unit (`digits`, NULL for
-- 2; the ledger keeps at most 2): exactly what settlement draws. Most rows (included minutes) are 0: no rounding.
CREATE OR REPLACE MACRO drawn_charge(charge, digits) AS
    CASE WHEN charge = 0 THEN 0 WHEN digits = 0 THEN round(charge, 0) ELSE round(charge, 2) END::DECIMAL(18, 2);

-- days_reported_late(call_at, recorded_at): whole days from a call to when the ledger learnt of its log; one
-- count for every place that says "reported N days late" (call_charges here, call_spend, recent entries).
CREATE OR REPLACE MACRO days_reported_late(call_at, recorded_at) AS
    (epoch_us(recorded_at) - epoch_us(call_at)) // 86400000000;

-- microsoft_charge: every imported call as Microsoft reported it: who bills it (billed_by) and, when Microsoft does,
-- what settlement draws for it (charge, drawn_charge: from rows in the ledger's currency).
CREATE OR REPLACE VIEW microsoft_charge AS
SELECT c.usage_id, c.start_at, c.user_principal_name, c.user_display_name, c.call_type, c.license_capability,
       c.operator, c.charge AS reported_charge, c.currency, c.connection_charge, c.imported_at,
       billed_by(c.operator, c.charge) AS billed_by,
       CASE WHEN billed_by = 'microsoft' THEN drawn_charge(c.charge, d.digits) END AS charge
FROM pstn_call c
LEFT JOIN currency_minor_unit d ON d.code = upper(c.currency);

-- call_charges: one row per imported call with what it drew and why (cc.call_charges, docs/billing.md).
-- status: settled (drawn from credits, or billed in arrears on MCA) | free (Microsoft charged nothing) |
-- operator (another carrier bills it) | other_currency (not the ledger's currency: never drawn) | blocked (the
-- balance could not pay it) | estimate (no charge reported: only the rate card's estimate, never settled) |
-- pending (charged, not settled yet). attention_amount: the money behind a call the admin must look at.
-- days_late: for a call whose log came after the ledger had recorded later entries (paid at its own time all
-- the same), whole days from the call to when the ledger learnt of it (as call_spend counts it).
-- call_row_status: what Microsoft's row alone decides (operator, estimate, free, other_currency); NULL when only
-- the ledger can say (settled, blocked or pending).
CREATE OR REPLACE VIEW call_row_status AS
SELECT m.*, t.currency AS ledger_currency,
       CASE WHEN m.billed_by = 'operator' THEN 'operator'
            WHEN m.billed_by = 'no_charge' THEN 'estimate'
            WHEN m.charge = 0 THEN 'free'
            WHEN m.currency IS DISTINCT FROM t.currency THEN 'other_currency' END AS row_status
FROM microsoft_charge m
CROSS JOIN (SELECT currency FROM ledger_currency) t;

-- call_charges_of(attention_only, tenant_currency): call_charges, or with attention_only only the calls that may
-- need the admin (other currency, estimate, blocked). A big ledger is what the attention list must stay quick on
-- (10M calls: ~1 s per look through every row, ~3 s to join them with their spend entries), so with attention_only
-- - only rows without a charge or not in `tenant_currency` (the ledger's, passed as a constant so DuckDB skips the
--   others while it scans) can be other_currency or estimate, and blocked calls come from blocked_call;
-- - a spend entry is only looked up for blocked calls: the one attention status it changes (settled since).
--   credits_drawn is then 0 for the others.
CREATE OR REPLACE MACRO call_charges_of(attention_only, tenant_currency) AS TABLE
WITH base AS (
    SELECT * FROM call_row_status WHERE NOT attention_only
    UNION ALL
    SELECT * FROM call_row_status WHERE attention_only AND reported_charge IS NULL AND row_status = 'estimate'
    UNION ALL  -- (one column per test: DuckDB then filters while it scans)
    SELECT * FROM call_row_status
    WHERE attention_only AND currency IS DISTINCT FROM tenant_currency AND reported_charge IS NOT NULL
      AND row_status = 'other_currency'
    UNION ALL
    SELECT * FROM call_row_status
    WHERE attention_only AND row_status IS NULL AND usage_id IN (SELECT usage_id FROM blocked_call)
),
drawn AS (  -- a call's spend plus any adjusting entries (a late call may reverse it: then 0, not drawn)
    SELECT usage_id, -sum(amount) AS drawn,
           CASE WHEN bool_or(reported_late)  -- as call_spend counts it: the log came after later entries
                THEN days_reported_late(min(call_at), max(recorded_at) FILTER (WHERE adjusts IS NULL))
           END AS days_late
    FROM entry
    WHERE kind = 'spend' AND (NOT attention_only OR usage_id IN (SELECT usage_id FROM blocked_call))
    GROUP BY usage_id HAVING sum(amount) <> 0
),
arrears AS (  -- a call's rows sum to what it is billed in arrears (a late call may change it: then one more row)
    SELECT usage_id, sum(amount) AS arrears,
           CASE WHEN bool_or(reported_late)
                THEN days_reported_late(min(occurred_at), max(recorded_at) FILTER (WHERE reported_late)) END AS days_late
    FROM usage_in_arrears GROUP BY usage_id HAVING sum(amount) <> 0
),
estimates AS (  -- the rate card's estimate of the rows Microsoft sent without a charge (usually few: read only those)
    SELECT usage_id, charge FROM call_charge WHERE method NOT IN ('as_is', 'operator')
),
classified AS (
    SELECT m.*, coalesce(d.drawn, 0)::DECIMAL(18, 2) AS credits_drawn,
           coalesce(d.days_late, a.days_late) AS days_late, a.arrears AS billed_in_arrears,
           CASE WHEN m.billed_by = 'no_charge' THEN r.charge END AS estimate,
           coalesce(m.row_status, CASE WHEN d.drawn IS NOT NULL OR a.arrears IS NOT NULL THEN 'settled'
                                       WHEN m.usage_id IN (SELECT usage_id FROM blocked_call) THEN 'blocked'
                                       ELSE 'pending' END) AS status
    FROM base m
    LEFT JOIN drawn d USING (usage_id)
    LEFT JOIN arrears a USING (usage_id)
    LEFT JOIN estimates r USING (usage_id)
)
SELECT usage_id, start_at, user_principal_name, operator, reported_charge, currency, credits_drawn, status,
       CASE status
           WHEN 'settled' THEN CASE
               WHEN billed_in_arrears IS NULL AND credits_drawn <> charge THEN 'Microsoft charged ' || charge || ' '
                    || currency || ' but the ledger drew ' || credits_drawn || ' under this id earlier: check it.'
               WHEN billed_in_arrears IS NULL THEN 'Microsoft charged ' || charge || ' ' || currency || '; drawn from credits.'
               WHEN credits_drawn > 0 THEN 'Microsoft charged ' || charge || ' ' || currency || ': ' || credits_drawn
                    || ' drawn from the last credits, ' || billed_in_arrears || ' billed in arrears (MCA).'
               ELSE 'Microsoft charged ' || charge || ' ' || currency || '; billed in arrears (MCA): no credits left.' END
           WHEN 'free' THEN CASE WHEN reported_charge > 0
               THEN 'Microsoft charged ' || reported_charge || ' ' || currency || ', less than the smallest coin: nothing to draw.'
               ELSE 'Microsoft charged nothing (included minutes or a free call).' END
           WHEN 'operator' THEN 'Billed by ' || operator || ', not from Communication Credits.'
           WHEN 'other_currency' THEN 'Charged ' || charge || ' ' || coalesce(currency, '(no currency)')
               || ', not in the ledger''s ' || ledger_currency || ': not drawn. Settle it with Microsoft''s invoice.'
           WHEN 'blocked' THEN 'Microsoft charged ' || charge || ' ' || currency
               || ' but the balance could not pay it: record a purchase in Step 2, then settle again.'
           WHEN 'estimate' THEN CASE WHEN estimate IS NULL
               THEN 'Microsoft''s row has no charge and the rate card has no price for it: nothing is drawn.'
               ELSE 'Microsoft''s row has no charge; the rate card estimates ' || estimate || ' ' || ledger_currency
                    || ' (an estimate: never settled).' END
           ELSE 'Microsoft charged ' || charge || ' ' || currency || '; not settled yet.' END
       -- a call whose log came after later entries was still paid at its own time: say how late it came
       || CASE WHEN days_late IS NOT NULL THEN ' Reported ' || days_late || ' days late.' ELSE '' END
       -- Microsoft is silent on whether `charge` includes connectionCharge: the fee is shown, never drawn apart
       || CASE WHEN connection_charge > 0 THEN ' Connection fee ' || connection_charge::DECIMAL(18, 2) || ' '
                    || coalesce(currency, '') || ' reported apart.' ELSE '' END AS reason,
       CASE WHEN status IN ('other_currency', 'blocked', 'pending') THEN charge
            WHEN status = 'estimate' THEN estimate END::DECIMAL(18, 2) AS attention_amount,
       billed_in_arrears, estimate, license_capability, call_type, connection_charge, days_late
FROM classified;

CREATE OR REPLACE VIEW call_charges AS SELECT * FROM call_charges_of(false, NULL);
