-- A caseload or list page shown again names the same dossiers as the last time: its entry now
-- points to that set of dossiers, indexed once, instead of indexing them again — 150 index
-- rows a caseload page were the largest write under load (issue 20). `audit_subjects.seq` is
-- now the set's id: the seq of the first entry that named it. `subjects_set` (derived, not
-- under the MAC, like the index) points an entry to its set; `audit verifier` checks that the
-- set's dossiers are exactly the entry's. `audit_subject_sets` finds a set by the SHA-256 of
-- the entry's list (a cache: a wrong line there only makes entries point to a wrong set, which
-- the verifier reports).
ALTER TABLE audit ADD COLUMN subjects_set INTEGER;
UPDATE audit SET subjects_set = seq WHERE subjects IS NOT NULL;
CREATE INDEX audit_by_subjects_set ON audit(subjects_set) WHERE subjects_set IS NOT NULL;
CREATE TABLE audit_subject_sets (
    digest TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL
);
