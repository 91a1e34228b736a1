-- A stolen session leaks almost nothing (issue 15, promise P3): caseload history, read quotas
-- held in the database (shared by every server instance), break-glass, freezes, scraping
-- signals, alerts with their e-mail delivery, canaries (by keyed tag only), payment-batch
-- downloads. See docs/SECURITY.md, "A stolen session".
ALTER TABLE accounts ADD COLUMN frozen_at INTEGER;
ALTER TABLE accounts ADD COLUMN frozen_reason TEXT;
-- Last completed login (issue 16: accounts expire after N days without one).
ALTER TABLE accounts ADD COLUMN last_login_at INTEGER;
-- 1 when the session was opened through the pages: its use of the JSON API is a scraping sign.
ALTER TABLE sessions ADD COLUMN via_pages INTEGER NOT NULL DEFAULT 0;
-- One row per distinct (account, day, person) read outside the account's caseload. weight is
-- the heaviest way the person was shown that day (1: a search candidate, 4: a dossier opened).
CREATE TABLE quota_reads (
  account_id INTEGER NOT NULL,
  day TEXT NOT NULL,
  jeune_id TEXT NOT NULL,
  weight INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  opened_at INTEGER,
  PRIMARY KEY (account_id, day, jeune_id)
);
CREATE INDEX quota_reads_opened ON quota_reads(account_id, opened_at);
-- A structure's daily quota for a role, in dossiers (a directeur's setting); absent: default.
CREATE TABLE quota_settings (
  structure_id INTEGER NOT NULL,
  role TEXT NOT NULL,
  daily INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (structure_id, role)
);
CREATE TABLE break_glass (
  id TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL,
  login TEXT NOT NULL,
  structure_id INTEGER NOT NULL,
  day TEXT NOT NULL,
  extra INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  reviewed_by TEXT,
  reviewed_at INTEGER
);
CREATE INDEX break_glass_account ON break_glass(account_id, day);
CREATE INDEX break_glass_structure ON break_glass(structure_id, created_at);
-- Refused dossier ids (unknown or of another structure): id probing.
CREATE TABLE probes (account_id INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX probes_account ON probes(account_id, at);
-- Searches that showed candidates or nothing (a walk through the alphabet of names).
CREATE TABLE searches (account_id INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX searches_account ON searches(account_id, at);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  structure_id INTEGER,
  account_id INTEGER,
  login TEXT NOT NULL,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  -- counts and dossier ids, never an identity
  evidence TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  mail_status TEXT NOT NULL,
  mail_attempts INTEGER NOT NULL DEFAULT 0,
  mail_error TEXT,
  mail_next_at INTEGER,
  closed_by TEXT,
  closed_at INTEGER
);
CREATE INDEX alerts_structure ON alerts(structure_id, created_at);
CREATE INDEX alerts_mail ON alerts(mail_status, mail_next_at);
-- Canaries are known only by a keyed tag of their dossier id: a dump does not say which
-- dossiers are decoys.
CREATE TABLE canary_tags (tag BLOB PRIMARY KEY, structure_id INTEGER NOT NULL);
CREATE TABLE referent_history (
  id TEXT PRIMARY KEY,
  jeune_id TEXT NOT NULL,
  structure_id INTEGER NOT NULL,
  from_account INTEGER,
  to_account INTEGER,
  by_login TEXT NOT NULL,
  at INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX referent_history_jeune ON referent_history(jeune_id, at);
CREATE TABLE batch_downloads (
  structure_id INTEGER NOT NULL,
  month TEXT NOT NULL,
  account_id INTEGER NOT NULL,
  login TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (structure_id, month)
);
-- A keyed tag of each IBAN (issue 16): an IBAN entered for two dossiers is flagged.
ALTER TABLE bank_accounts ADD COLUMN iban_tag BLOB;
CREATE INDEX bank_accounts_tag ON bank_accounts(iban_tag);
