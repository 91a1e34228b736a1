-- Full warehouse export (issue 4): one structure's events were read through
-- `events_structure(structure_id, kind, on_date)`, whose order is by kind and date, so every
-- row cost a random read of the table (SQLite, 11 M events: 17-39 s for one structure of
-- 2.8 M rows). This index orders a structure's rows by their position in the table, so the
-- read is near sequential (2.2 s for the same rows; docs/BENCHMARKS.md). Equality on
-- `structure_id` alone prefers it; the timeline queries keep `events_structure`.
CREATE INDEX IF NOT EXISTS events_by_structure ON events(structure_id);
