-- Landed pages keep the JSON text 8x8 sent instead of jsonb: storing jsonb parsed every page and
-- printing it again for the transform, which reads it with its own JSON parser anyway.
-- {schema} is replaced by the validated, quoted warehouse schema name.
ALTER TABLE {schema}.raw_report_pages ALTER COLUMN body TYPE text USING body::text;
