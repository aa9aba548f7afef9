-- The service roles: one per service, each allowed into its own schema only. Roles are cluster-wide, so creation
-- is idempotent (the same cluster may hold several databases, as in tests). They get LOGIN without a password:
-- on RDS they authenticate with IAM tokens (rds_iam is granted where it exists); locally cmd/migrate sets a
-- password.
-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['orders_api', 'fulfillment_worker'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        ELSE
            EXECUTE format('ALTER ROLE %I LOGIN', r);
        END IF;
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
            EXECUTE format('GRANT rds_iam TO %I', r);
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA orders TO orders_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA orders TO orders_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA orders TO orders_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA orders GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO orders_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA orders GRANT USAGE, SELECT ON SEQUENCES TO orders_api;

GRANT USAGE ON SCHEMA fulfillment TO fulfillment_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA fulfillment TO fulfillment_worker;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA fulfillment TO fulfillment_worker;
ALTER DEFAULT PRIVILEGES IN SCHEMA fulfillment GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fulfillment_worker;
ALTER DEFAULT PRIVILEGES IN SCHEMA fulfillment GRANT USAGE, SELECT ON SEQUENCES TO fulfillment_worker;

-- +goose Down
-- Roles are shared by every database of the cluster, so going down revokes this database's grants and leaves
-- the roles in place.
ALTER DEFAULT PRIVILEGES IN SCHEMA fulfillment REVOKE USAGE, SELECT ON SEQUENCES FROM fulfillment_worker;
ALTER DEFAULT PRIVILEGES IN SCHEMA fulfillment REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM fulfillment_worker;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA fulfillment FROM fulfillment_worker;
REVOKE ALL ON ALL TABLES IN SCHEMA fulfillment FROM fulfillment_worker;
REVOKE USAGE ON SCHEMA fulfillment FROM fulfillment_worker;

ALTER DEFAULT PRIVILEGES IN SCHEMA orders REVOKE USAGE, SELECT ON SEQUENCES FROM orders_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA orders REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM orders_api;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA orders FROM orders_api;
REVOKE ALL ON ALL TABLES IN SCHEMA orders FROM orders_api;
REVOKE USAGE ON SCHEMA orders FROM orders_api;
