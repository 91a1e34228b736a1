-- Parcours operational schema, SQLite. Identity fields are ciphertexts (BLOB); see crates/vault.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keyring (purpose TEXT PRIMARY KEY, wrapped BLOB NOT NULL);
CREATE TABLE structures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  departement TEXT NOT NULL,
  region TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  login TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  structure_id INTEGER REFERENCES structures(id),
  scope_region TEXT,
  totp_secret BLOB,
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  pending_secret BLOB
);
CREATE TABLE login_throttle (key BLOB PRIMARY KEY, window_start INTEGER NOT NULL, failures INTEGER NOT NULL);
CREATE TABLE jeunes (
  id TEXT PRIMARY KEY,
  structure_id INTEGER NOT NULL REFERENCES structures(id),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  nom BLOB NOT NULL, prenom BLOB NOT NULL, date_naissance BLOB NOT NULL, sexe BLOB NOT NULL,
  nationalite BLOB NOT NULL, email BLOB NOT NULL, telephone BLOB NOT NULL, adresse BLOB NOT NULL,
  code_postal BLOB NOT NULL, commune BLOB NOT NULL, niveau_formation BLOB NOT NULL,
  -- The person's data key wrapped by the master key; NULL once erased (crypto-shredding).
  wrapped_key BLOB
) WITHOUT ROWID; -- the row lives in the primary-key B-tree: one descent per search candidate
CREATE INDEX jeunes_structure ON jeunes(structure_id, created_at);
CREATE TABLE blind_index (
  idx INTEGER NOT NULL,
  value INTEGER NOT NULL,
  structure_id INTEGER NOT NULL,
  jeune_id TEXT NOT NULL REFERENCES jeunes(id)
);
-- Covering: a lookup reads the dossier ids from the index alone.
CREATE INDEX blind_index_lookup ON blind_index(structure_id, idx, value, jeune_id);
CREATE INDEX blind_index_jeune ON blind_index(jeune_id);
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT,
  fields TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  structure_id INTEGER,
  mac BLOB NOT NULL,
  chain_pos INTEGER UNIQUE,
  hash BLOB
);
CREATE INDEX audit_unsealed ON audit(seq) WHERE chain_pos IS NULL;
CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), chain_pos INTEGER NOT NULL, hash BLOB NOT NULL);
INSERT INTO audit_head (id, chain_pos, hash) VALUES (1, 0, zeroblob(32));
CREATE TABLE audit_checkpoints (chain_pos INTEGER PRIMARY KEY, hash BLOB NOT NULL, ts INTEGER NOT NULL, signature BLOB NOT NULL);
