-- The advisor's daily work (issue 3). Dates are TEXT 'YYYY-MM-DD' (months 'YYYY-MM'), instants
-- INTEGER unix seconds. Categorical facts (kinds, statuses, themes, amounts) are in clear: the
-- warehouse counts them and they identify nobody. Free text and third persons' identities are
-- ciphertexts (`payload`, encrypted with the jeune's data key, AD table‖column‖row id); IBANs
-- use the sensitive-tier key.
ALTER TABLE jeunes ADD COLUMN referent_id INTEGER;
CREATE INDEX jeunes_referent ON jeunes(referent_id);
CREATE TABLE situations (
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  version INTEGER NOT NULL,
  structure_id INTEGER NOT NULL,
  author TEXT NOT NULL,
  changed_at INTEGER NOT NULL,
  changed_fields TEXT NOT NULL,
  payload BLOB NOT NULL,
  PRIMARY KEY (jeune_id, version)
);
CREATE TABLE legal_reps (
  id TEXT PRIMARY KEY,
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  structure_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX legal_reps_jeune ON legal_reps(jeune_id);
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  structure_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  on_date TEXT NOT NULL,
  end_date TEXT,
  at_time TEXT,
  status TEXT,
  modalite TEXT,
  theme TEXT,
  category TEXT,
  rome TEXT,
  company_id TEXT,
  duration_minutes INTEGER,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  payload BLOB
);
CREATE INDEX events_jeune ON events(jeune_id, on_date);
CREATE INDEX events_structure ON events(structure_id, kind, on_date);
CREATE TABLE programmes (
  id TEXT PRIMARY KEY,
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  structure_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  referent TEXT NOT NULL,
  start_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  ended_on TEXT,
  tax_situation TEXT,
  created_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  payload BLOB
);
CREATE INDEX programmes_jeune ON programmes(jeune_id);
CREATE INDEX programmes_structure ON programmes(structure_id, kind, status);
CREATE TABLE cej_weeks (
  programme_id TEXT NOT NULL REFERENCES programmes(id),
  week TEXT NOT NULL,
  jeune_id TEXT NOT NULL,
  structure_id INTEGER NOT NULL,
  planned_minutes INTEGER NOT NULL,
  done_minutes INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (programme_id, week)
);
CREATE INDEX cej_weeks_structure ON cej_weeks(structure_id, week);
CREATE INDEX cej_weeks_jeune ON cej_weeks(jeune_id, week);
-- One allowance per jeune and month: CEJ and PACEA allowances cannot both be decided.
CREATE TABLE allowances (
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  month TEXT NOT NULL,
  programme_id TEXT NOT NULL REFERENCES programmes(id),
  structure_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  computed_cents INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL,
  decision TEXT NOT NULL,
  author TEXT NOT NULL,
  decided_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  payload BLOB NOT NULL,
  PRIMARY KEY (jeune_id, month)
);
CREATE INDEX allowances_structure ON allowances(structure_id, month);
CREATE TABLE bank_accounts (
  jeune_id TEXT PRIMARY KEY REFERENCES jeunes(id),
  structure_id INTEGER NOT NULL,
  iban BLOB NOT NULL,
  bic TEXT,
  updated_at INTEGER NOT NULL
);
CREATE TABLE companies (
  id TEXT PRIMARY KEY,
  structure_id INTEGER NOT NULL,
  siret TEXT NOT NULL,
  name TEXT NOT NULL,
  naf TEXT,
  address TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (structure_id, siret)
);
CREATE TABLE company_contacts (
  id TEXT PRIMARY KEY,
  company_id TEXT NOT NULL REFERENCES companies(id),
  structure_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  wrapped_key BLOB,
  payload BLOB NOT NULL
);
CREATE INDEX company_contacts_company ON company_contacts(company_id);
CREATE TABLE offers (
  id TEXT PRIMARY KEY,
  company_id TEXT NOT NULL REFERENCES companies(id),
  structure_id INTEGER NOT NULL,
  title TEXT NOT NULL,
  rome TEXT,
  contract TEXT,
  open INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE immersions (
  id TEXT PRIMARY KEY,
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  structure_id INTEGER NOT NULL,
  company_id TEXT NOT NULL REFERENCES companies(id),
  start_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  status TEXT NOT NULL,
  rome TEXT,
  created_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX immersions_jeune ON immersions(jeune_id);
CREATE INDEX immersions_company ON immersions(company_id);
CREATE TABLE workshops (
  id TEXT PRIMARY KEY,
  structure_id INTEGER NOT NULL,
  title TEXT NOT NULL,
  theme TEXT NOT NULL,
  on_date TEXT NOT NULL,
  at_time TEXT,
  seats INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX workshops_structure ON workshops(structure_id, on_date);
CREATE TABLE workshop_registrations (
  workshop_id TEXT NOT NULL REFERENCES workshops(id),
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  structure_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workshop_id, jeune_id)
);
CREATE INDEX workshop_registrations_jeune ON workshop_registrations(jeune_id);
CREATE INDEX events_company ON events(company_id) WHERE company_id IS NOT NULL;
