-- Accounts no one can abuse alone (issue 16, promise P7): four-eyes requests, single-use
-- enrolment links, IBANs held until approved, the time of the last second factor of a session
-- (step-up). See docs/SECURITY.md, "Four eyes".
CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  -- compte.creation, compte.role, compte.reinitialisation, compte.degel, iban, lot.ibans
  kind TEXT NOT NULL,
  -- the structure concerned (NULL: national, e.g. a pilote or an admin account)
  structure_id BIGINT,
  -- what the request is about: a login, a dossier id, a month and format; never an identity
  target TEXT NOT NULL,
  -- what approval will do (JSON: role, structure, region, IBAN tag…; never an IBAN or a name)
  payload TEXT NOT NULL,
  reason TEXT NOT NULL,
  requested_by_account BIGINT,
  -- a login, or "cli:<operating-system user>"
  requested_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  -- en_attente, approuvee, refusee, expiree
  status TEXT NOT NULL DEFAULT 'en_attente',
  decided_by_account BIGINT,
  decided_by TEXT,
  decided_at BIGINT,
  decision_reason TEXT,
  -- an approved export is taken once: when it was
  used_at BIGINT
);
CREATE INDEX requests_open ON requests(status, structure_id, created_at);
CREATE TABLE enrolment_links (
  token_hash BYTEA PRIMARY KEY,
  account_id BIGINT NOT NULL,
  -- inscription (a new account) or reinitialisation (password and second factor again)
  purpose TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX enrolment_links_account ON enrolment_links(account_id);
-- An IBAN entered or changed is paid only once approved (NULL: waiting). IBANs entered before
-- this version count as approved.
ALTER TABLE bank_accounts ADD COLUMN approved_at BIGINT;
UPDATE bank_accounts SET approved_at = updated_at;
-- When the session's owner last entered her second factor (login or confirmation): the
-- sensitive tier needs one in the last 5 minutes.
ALTER TABLE sessions ADD COLUMN factor_at BIGINT;
-- The social-security number (NIR), in the sensitive tier: encrypted with the sensitive key
-- (AD nirs‖nir‖dossier id), shown masked, revealed on demand with a fresh second factor and a
-- reason.
CREATE TABLE nirs (
  jeune_id TEXT PRIMARY KEY REFERENCES jeunes(id),
  structure_id BIGINT NOT NULL,
  nir BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
-- Passkeys (WebAuthn) as a second factor: the credential (public key, counter) as webauthn-rs
-- serialises it; its id (base64url) is unique across accounts.
CREATE TABLE passkeys (
  id TEXT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  name TEXT NOT NULL,
  credential TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX passkeys_account ON passkeys(account_id);
-- A structure may require passkeys: its accounts that hold one log in with it, not a code.
ALTER TABLE structures ADD COLUMN passkeys_required BIGINT NOT NULL DEFAULT 0;
