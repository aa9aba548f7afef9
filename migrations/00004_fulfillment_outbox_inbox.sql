-- The transactional outbox and inbox of the fulfillment schema (see internal/platform/outbox and inbox): events are
-- written to the outbox in the same transaction as the change and published by a relay; the ids of consumed
-- events are recorded in the inbox in the same transaction as their effect, so a redelivery has no second effect.
-- +goose Up
CREATE TABLE fulfillment.outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   uuid        NOT NULL UNIQUE,
    topic      text        NOT NULL,
    body       text        NOT NULL,
    attributes jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text
);

CREATE TABLE fulfillment.inbox (
    event_id     uuid        PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_processed_at ON fulfillment.inbox (processed_at);

-- +goose Down
DROP TABLE fulfillment.inbox;
DROP TABLE fulfillment.outbox;
