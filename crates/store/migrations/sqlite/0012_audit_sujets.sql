-- One audit entry per request instead of one per person shown (issue 20): a caseload page, a
-- list page or a search names its dossiers in `subjects` (comma-separated ids, covered by the
-- entry's MAC and hash), and `audit_subjects` indexes them so that "who read person X" stays
-- one index lookup for the incident report and the access request.
ALTER TABLE audit ADD COLUMN subjects TEXT;
CREATE TABLE audit_subjects (
    subject TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (subject, seq)
) WITHOUT ROWID;
