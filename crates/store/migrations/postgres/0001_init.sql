-- Parcours operational schema, PostgreSQL. Identity fields are ciphertexts (BYTEA); see crates/vault.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keyring (purpose TEXT PRIMARY KEY, wrapped BYTEA NOT NULL);
CREATE TABLE structures (
  id BIGSERIAL PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  departement TEXT NOT NULL,
  region TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE accounts (
  id BIGSERIAL PRIMARY KEY,
  login TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  structure_id BIGINT REFERENCES structures(id),
  scope_region TEXT,
  totp_secret BYTEA,
  totp_last_step BIGINT NOT NULL DEFAULT 0,
  failed_logins BIGINT NOT NULL DEFAULT 0,
  locked_until BIGINT NOT NULL DEFAULT 0,
  active BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL
);
CREATE TABLE sessions (
  token_hash BYTEA PRIMARY KEY,
  account_id BIGINT REFERENCES accounts(id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  pending_secret BYTEA
);
CREATE TABLE login_throttle (key BYTEA PRIMARY KEY, window_start BIGINT NOT NULL, failures BIGINT NOT NULL);
CREATE TABLE jeunes (
  id TEXT PRIMARY KEY,
  structure_id BIGINT NOT NULL REFERENCES structures(id),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL,
  nom BYTEA NOT NULL, prenom BYTEA NOT NULL, date_naissance BYTEA NOT NULL, sexe BYTEA NOT NULL,
  nationalite BYTEA NOT NULL, email BYTEA NOT NULL, telephone BYTEA NOT NULL, adresse BYTEA NOT NULL,
  code_postal BYTEA NOT NULL, commune BYTEA NOT NULL, niveau_formation BYTEA NOT NULL,
  -- The person's data key wrapped by the master key; NULL once erased (crypto-shredding).
  wrapped_key BYTEA
);
CREATE INDEX jeunes_structure ON jeunes(structure_id, created_at);
-- Search candidates are read from this index alone (index-only scans once vacuumed).
CREATE UNIQUE INDEX jeunes_search ON jeunes(id) INCLUDE (structure_id, wrapped_key, nom, prenom, date_naissance, commune);
CREATE TABLE blind_index (
  idx BIGINT NOT NULL,
  value BIGINT NOT NULL,
  structure_id BIGINT NOT NULL,
  jeune_id TEXT NOT NULL REFERENCES jeunes(id)
);
-- Covering: a lookup reads the dossier ids from the index alone.
CREATE INDEX blind_index_lookup ON blind_index(structure_id, idx, value, jeune_id);
CREATE INDEX blind_index_jeune ON blind_index(jeune_id);
CREATE TABLE audit (
  seq BIGSERIAL PRIMARY KEY,
  ts BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT,
  fields TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  structure_id BIGINT,
  mac BYTEA NOT NULL,
  chain_pos BIGINT UNIQUE,
  hash BYTEA
);
CREATE INDEX audit_unsealed ON audit(seq) WHERE chain_pos IS NULL;
CREATE TABLE audit_head (id BIGINT PRIMARY KEY CHECK (id = 1), chain_pos BIGINT NOT NULL, hash BYTEA NOT NULL);
INSERT INTO audit_head (id, chain_pos, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
CREATE TABLE audit_checkpoints (chain_pos BIGINT PRIMARY KEY, hash BYTEA NOT NULL, ts BIGINT NOT NULL, signature BYTEA NOT NULL);
