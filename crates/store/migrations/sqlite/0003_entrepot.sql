-- Incremental warehouse export (issue 4): every row a warehouse fact comes from says when it
-- last changed, so the export re-reads only the dossiers touched since the previous one.
-- Events and programmes are rewritten in place (status, dates): they gain `updated_at`; the
-- other sources already carry it (jeunes.updated_at, situations.changed_at,
-- cej_weeks.updated_at, allowances.decided_at, workshop_registrations.updated_at).
ALTER TABLE events ADD COLUMN updated_at INTEGER;
ALTER TABLE programmes ADD COLUMN updated_at INTEGER;
CREATE INDEX events_created ON events(created_at);
CREATE INDEX events_updated ON events(updated_at);
CREATE INDEX programmes_changed ON programmes(created_at, updated_at);
CREATE INDEX situations_changed ON situations(changed_at);
CREATE INDEX jeunes_updated ON jeunes(updated_at);
CREATE INDEX cej_weeks_updated ON cej_weeks(updated_at);
CREATE INDEX allowances_decided ON allowances(decided_at);
CREATE INDEX workshop_registrations_updated ON workshop_registrations(updated_at);
