-- Allowance decisions replaced by a later one for the same month (issue 19): a replacement is
-- never silent, the decision it replaced stays readable in the month's history. Figures and
-- who/when only: the motif and the declared resources were sealed with the decision in force
-- and are not copied (a free text outside the sealed tables would escape key rotation).
CREATE TABLE allowance_history (
  jeune_id TEXT NOT NULL REFERENCES jeunes(id),
  month TEXT NOT NULL,
  version INTEGER NOT NULL,
  structure_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  computed_cents INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL,
  decision TEXT NOT NULL,
  author TEXT NOT NULL,
  decided_at INTEGER NOT NULL,
  replaced_at INTEGER NOT NULL,
  replaced_by TEXT NOT NULL,
  PRIMARY KEY (jeune_id, month, version)
);
