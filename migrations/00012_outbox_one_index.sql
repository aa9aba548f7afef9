-- Each outbox keeps one index, its identity primary key, which the relay claims rows in order by. The unique
-- index on event_id is dropped: every event gets a fresh time-ordered UUID when it is built, the relay publishes
-- an event id repeated within a batch only once, and consumers deduplicate by event id in their inbox, which is
-- where duplicates are absorbed anyway (delivery is at-least-once). Keeping it cost an extra index write in every
-- order-creating transaction.
-- +goose Up
ALTER TABLE orders.outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE fulfillment.outbox DROP CONSTRAINT outbox_event_id_key;

-- +goose Down
ALTER TABLE fulfillment.outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id);
ALTER TABLE orders.outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id);
