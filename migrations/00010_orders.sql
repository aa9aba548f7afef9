-- The orders service's tables: orders and their items, the idempotency keys of create requests, and the
-- notifications sent to customers (recorded from the notifications topic, so the API can list them).
-- +goose Up
CREATE TABLE orders.orders (
    id             uuid        PRIMARY KEY,
    customer_email text        NOT NULL,
    total_cents    bigint      NOT NULL CHECK (total_cents >= 0),
    status         text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fulfilled', 'rejected')),
    status_reason  text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- Keyset pagination, newest first, with and without a status filter.
CREATE INDEX orders_created_at_id ON orders.orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created_at_id ON orders.orders (status, created_at DESC, id DESC);

CREATE TABLE orders.order_items (
    order_id    uuid     NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
    line        smallint NOT NULL,
    sku         text     NOT NULL,
    quantity    integer  NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    price_cents bigint   NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (order_id, line)
);

-- A key is claimed before its order is inserted in the same transaction (so concurrent requests with one key
-- serialise on it), hence the deferred foreign key.
CREATE TABLE orders.idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash text        NOT NULL,
    order_id     uuid        NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_at ON orders.idempotency_keys (created_at);

CREATE TABLE orders.notifications (
    event_id    uuid        PRIMARY KEY,
    order_id    uuid        NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
    type        text        NOT NULL,
    channel     text        NOT NULL,
    recipient   text        NOT NULL,
    subject     text        NOT NULL,
    body        text        NOT NULL,
    sent_at     timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_order_id ON orders.notifications (order_id, sent_at);

-- +goose Down
DROP TABLE orders.notifications;
DROP TABLE orders.idempotency_keys;
DROP TABLE orders.order_items;
DROP TABLE orders.orders;
