-- Incremental warehouse export (issue 4): every branch of the change query
-- (`jeunes::changed_since`) searches an index. New dossiers were found by scanning every
-- dossier (no index on `jeunes.created_at` alone), programmes changed by scanning them all
-- (`updated_at` was only the second column of `programmes_changed`): at 1,000,000 dossiers,
-- seconds of every export.
CREATE INDEX jeunes_created ON jeunes(created_at);
CREATE INDEX programmes_updated ON programmes(updated_at);
