-- Retention of staff accounts (issue 18, décret n° 2015-59, art. 6-II): when access ended, so
-- that an account's personal data go one year later (`parcours retention run`).
ALTER TABLE accounts ADD COLUMN disabled_at BIGINT;
-- Accounts already disabled: their access is taken to end now (their retention starts today).
UPDATE accounts SET disabled_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) WHERE active = 0;
