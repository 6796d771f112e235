-- How long each year's import took, in milliseconds, from the start of reading its file to
-- its commit; NULL for the years imported before it was measured.
ALTER TABLE register_years ADD COLUMN duration_ms INTEGER CHECK (duration_ms >= 0);
ALTER TABLE read_years ADD COLUMN duration_ms INTEGER;
