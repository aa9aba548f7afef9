-- The fulfillment worker's tables: the stock it holds per SKU and the reservations it made per order.
--
-- Seed stock for local runs and tests: SKU-1 to SKU-8 hold 1,000,000 units each; SKU-9 holds none, so an order
-- of SKU-9 is rejected (as is an order of any SKU not listed here).
-- +goose Up
CREATE TABLE fulfillment.inventory (
    sku        text        PRIMARY KEY,
    on_hand    integer     NOT NULL CHECK (on_hand >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fulfillment.reservations (
    order_id    uuid        NOT NULL,
    sku         text        NOT NULL REFERENCES fulfillment.inventory (sku),
    quantity    integer     NOT NULL CHECK (quantity > 0),
    reserved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, sku)
);

INSERT INTO fulfillment.inventory (sku, on_hand)
SELECT 'SKU-' || n, CASE WHEN n = 9 THEN 0 ELSE 1000000 END
FROM generate_series(1, 9) AS n;

-- +goose Down
DROP TABLE fulfillment.reservations;
DROP TABLE fulfillment.inventory;
