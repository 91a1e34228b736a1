-- After a breach (issue 18, promises P4, P5): an audit log that keeps sealing past a forged row
-- (quarantined, reported, never chained), and what an investigation needs in each entry: a
-- pseudonym of the session and of the client address (keyed hashes, never the cookie or the
-- address itself). See docs/SECURITY.md, "Audit chain" and "Incident report".
ALTER TABLE audit ADD COLUMN quarantined BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN session_ref TEXT;
ALTER TABLE audit ADD COLUMN client_ref TEXT;
-- "Whose data did this account read, and when": the incident report's first question.
CREATE INDEX audit_actor_ts ON audit(actor, ts);
CREATE INDEX audit_structure_ts ON audit(structure_id, ts);
CREATE INDEX audit_subject_ts ON audit(subject, ts);
