-- Interaction ids are opaque keys: compare them bytewise. With the database's linguistic
-- collation every primary-key probe calls strcoll(), which made index maintenance the largest
-- cost of a load. "C" keeps equality exactly the same and only changes the sort order of ids,
-- which nothing depends on. Staging must match, or the publish join would mix two collations.

ALTER TABLE {schema}.stg_interactions
    ALTER COLUMN integration    TYPE text COLLATE "C",
    ALTER COLUMN interaction_id TYPE text COLLATE "C";

ALTER TABLE {schema}.interactions
    ALTER COLUMN integration    TYPE text COLLATE "C",
    ALTER COLUMN interaction_id TYPE text COLLATE "C";
