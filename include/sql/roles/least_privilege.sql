-- Least-privilege roles for the acdflow warehouse schema {schema}.
--
-- The file is a template: `acdflow db grants --schema acd --owner acdflow_owner --loader
-- acdflow_loader --maintainer acdflow_maintainer` prints it with the schema and role names filled
-- in as validated, quoted identifiers. Run the output as a superuser (or a CREATEROLE role that owns the database); it is
-- idempotent.
--
-- The owner role, {owner}, owns the schema and every table in it: `acdflow db migrate` runs as
-- it, and only it can change the schema (CREATE, ALTER, DROP).
--
-- The loader role, {loader}, is what the Airflow warehouse connection logs in as: it reads and
-- writes rows of the tables a load touches, and nothing else. It cannot create, alter, drop or
-- truncate anything, cannot rewrite the run log (load_runs) or the live-status change log, and can
-- only read which migrations are applied. Before each step the DAG tasks check that no migration
-- is pending; with none pending that check is a single SELECT, so the loader needs no DDL rights.
--
-- The maintenance role, {maintainer}, is what the acdflow_maintenance DAG may log in as (its
-- `maintenance: conn_id`): it reads and deletes rows of the tables it prunes, reads which
-- migrations are applied, and nothing else. It cannot write a row, and cannot delete published
-- data (interactions, interval_aht, agent_status_history, agent_status_live).
--
-- The roles are created NOLOGIN. Give each a login (ALTER ROLE … LOGIN PASSWORD '…') or grant it
-- to a login role. Migrate as the owner role itself: tables belong to whoever creates them.
--
-- Order on a new database:
--   1. run this script                      (creates the roles, and the schema owned by {owner});
--   2. acdflow db migrate --conn-id <owner connection>  (creates the tables);
--   3. run this script again                (grants {loader} and {maintainer} their table rights).
-- After an upgrade that brings migrations, repeat 2 and 3. Tables created before this script ran
-- (migrations applied by another role) are handed to {owner} in step 3.

DO $roles$
BEGIN
    CREATE ROLE {owner} NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$roles$;

DO $roles$
BEGIN
    CREATE ROLE {loader} NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$roles$;

DO $roles$
BEGIN
    CREATE ROLE {maintainer} NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$roles$;

CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner};
ALTER SCHEMA {schema} OWNER TO {owner};
-- USAGE lets the loader reach the tables by name; without CREATE it cannot add objects.
REVOKE ALL ON SCHEMA {schema} FROM PUBLIC, {loader};
GRANT USAGE ON SCHEMA {schema} TO {loader};
REVOKE ALL ON SCHEMA {schema} FROM {maintainer};
GRANT USAGE ON SCHEMA {schema} TO {maintainer};

-- Per table, exactly what the loads do (see include/sql/ and acdflow/warehouse/), and what the
-- maintenance DAG's batched prunes (include/sql/maintenance/) do: SELECT, as a DELETE with a WHERE
-- clause reads the rows it deletes, and DELETE. A table a later migration adds gets no rights
-- until it is listed here; the test suite fails until then. Tables that do not exist yet (step 1
-- above) are skipped.
DO $grants$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT table_name, loader, maintainer FROM (VALUES
            -- the pending-migration check reads it; only the owner records migrations
            ('schema_migrations',     'SELECT',                         'SELECT'),
            -- landing and staging: replaced per report; pruned by the maintenance DAG
            ('raw_report_pages',      'SELECT, INSERT, DELETE',         'SELECT, DELETE'),
            ('stg_interactions',      'SELECT, INSERT, DELETE',         'SELECT, DELETE'),
            ('stg_rejected_rows',     'SELECT, INSERT, DELETE',         'SELECT, DELETE'),
            ('stg_status_events',     'SELECT, INSERT, DELETE',         'SELECT, DELETE'),
            -- published data: upserted, never deleted by a load nor pruned
            ('interactions',          'SELECT, INSERT, UPDATE',         NULL),
            ('agent_status_history',  'SELECT, INSERT, UPDATE',         NULL),
            ('agent_status_live',     'SELECT, INSERT, UPDATE',         NULL),
            ('dq_results',            'SELECT, INSERT, UPDATE',         'SELECT, DELETE'),
            -- the time loaded agent-status reports read, merged per integration
            ('report_coverage',       'SELECT, INSERT, UPDATE',         NULL),
            -- recomputed per interval: upserted, groups that no longer exist deleted
            ('interval_aht',          'SELECT, INSERT, UPDATE, DELETE', NULL),
            -- append-only for loads: quarantined rows, the run log, the observed live changes
            ('rejected_rows',         'SELECT, INSERT',                 'SELECT, DELETE'),
            ('load_runs',             'SELECT, INSERT',                 'SELECT, DELETE'),
            ('agent_status_live_log', 'SELECT, INSERT',                 'SELECT, DELETE'),
            -- which run polls live status: claimed, heart-beaten, released
            ('live_poll_owner',       'SELECT, INSERT, UPDATE, DELETE', NULL)
        ) AS t (table_name, loader, maintainer)
    LOOP
        -- The identifiers below arrive quoted ("acd"); they are validated to [a-z0-9_], so they
        -- cannot end the string literal they are written in.
        IF to_regclass(format('%s.%I', '{schema}', item.table_name)) IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %s.%I OWNER TO %s', '{schema}', item.table_name, '{owner}');
            EXECUTE format('REVOKE ALL ON %s.%I FROM PUBLIC, %s, %s', '{schema}', item.table_name,
                           '{loader}', '{maintainer}');
            EXECUTE format('GRANT %s ON %s.%I TO %s', item.loader, '{schema}', item.table_name, '{loader}');
            IF item.maintainer IS NOT NULL THEN
                EXECUTE format('GRANT %s ON %s.%I TO %s', item.maintainer, '{schema}', item.table_name,
                               '{maintainer}');
            END IF;
        END IF;
    END LOOP;
END
$grants$;

-- Serial columns (load_runs.id) draw from sequences: inserting needs USAGE, nothing more.
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC, {loader};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {loader};
