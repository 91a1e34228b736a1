-- Retention of staff accounts (issue 18, décret n° 2015-59, art. 6-II): when access ended, so
-- that an account's personal data go one year later (`parcours retention run`).
ALTER TABLE accounts ADD COLUMN disabled_at INTEGER;
