-- Each service owns a schema in the one database; no service reads another's tables (changes cross services
-- only as events).
-- +goose Up
CREATE SCHEMA IF NOT EXISTS orders;
CREATE SCHEMA IF NOT EXISTS fulfillment;
-- Nobody but the migrating role creates objects in public (PostgreSQL 15's default; explicit for upgrades).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- +goose Down
DROP SCHEMA IF EXISTS fulfillment;
DROP SCHEMA IF EXISTS orders;
