-- What Microsoft billed for each imported call, and how the workbook treats it. Named in docs/billing.md.

-- currency_digits(code): minor-unit digits of an ISO 4217 code, as babel (CLDR) gives them to the ledger
-- (tests/test_call_charges.py checks the lists against babel); unknown codes get 2.
CREATE OR REPLACE MACRO currency_digits(code) AS CASE
    WHEN upper(code) IN ('ADP', 'AFN', 'ALL', 'BIF', 'BYR', 'CLP', 'DJF', 'ESP', 'GNF', 'IQD', 'IRR', 'ISK', 'ITL', 'JPY',
                         'KMF', 'KPW', 'KRW', 'LAK', 'LBP', 'LUF', 'MGA', 'MGF', 'MMK', 'MRO', 'PYG', 'RSD', 'RWF', 'SLL',
                         'SOS', 'STD', 'SYP', 'TMM', 'TRL', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF', 'YER', 'ZMK',
                         'ZWD') THEN 0
    WHEN upper(code) IN ('BHD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3
    WHEN upper(code) IN ('CLF', 'UYW') THEN 4
    ELSE 2 END;

-- microsoft_charge: every imported call as Microsoft reported it. billed_by: 'microsoft' (operator Microsoft or
-- not given, with a charge), 'operator' (an Operator Connect / Direct Routing carrier bills it itself) or
-- 'no_charge' (Microsoft's row has no charge: only an estimate exists). charge: the reported charge rounded
-- half-up to the currency's minor unit: exactly what settlement draws (from rows in the ledger's currency).
CREATE OR REPLACE VIEW microsoft_charge AS
SELECT c.usage_id, c.start_at, c.user_principal_name, c.user_display_name, c.call_type, c.license_capability,
       c.operator, c.charge AS reported_charge, c.currency,
       CASE WHEN c.operator IS NOT NULL AND lower(trim(c.operator)) <> 'microsoft' THEN 'operator'
            WHEN c.charge IS NULL THEN 'no_charge'
            ELSE 'microsoft' END AS billed_by,
       CASE WHEN billed_by <> 'microsoft' THEN NULL
            WHEN currency_digits(c.currency) = 0 THEN round(c.charge, 0)
            ELSE round(c.charge, 2) END::DECIMAL(18, 2) AS charge
FROM pstn_call c;
