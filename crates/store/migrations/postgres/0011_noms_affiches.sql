-- The name a colleague reads beside an act (« par Camille Laurent », issue 19) instead of a
-- login; set by the person on « Mon compte » or by an operator; cleared with the account's
-- other personal data by the retention job.
ALTER TABLE accounts ADD COLUMN display_name TEXT;
