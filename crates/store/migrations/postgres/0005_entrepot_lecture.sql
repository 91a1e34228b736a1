-- Full warehouse export (issue 4): on SQLite, one structure's events were read through
-- `events_structure(structure_id, kind, on_date)`, whose order is by kind and date, so every
-- row cost a random read of the table (11 M events: 17-39 s for one structure of 2.8 M rows,
-- 2.2 s through this index; docs/BENCHMARKS.md). PostgreSQL's bitmap scans already visit the
-- table in its order; the index is created here too so that both backends keep one schema.
CREATE INDEX IF NOT EXISTS events_by_structure ON events(structure_id);
