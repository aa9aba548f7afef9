package ordersdb

// The statements that write and read an order, in one place. They are exported for one second user, the
// benchmarks' baseline (internal/testing/baseline), which runs exactly these statements without the store
// around them, so that the ratio it reports measures the store's layers and not different SQL.
const (
	// InsertOrderSQL inserts an order row: id, customer_email, total_cents, status, created_at (= updated_at).
	InsertOrderSQL = `INSERT INTO orders.orders (id, customer_email, total_cents, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`
	// InsertItemsSQL inserts every item of an order from three arrays (sku, quantity, price_cents) in one
	// statement, numbering the lines in array order.
	InsertItemsSQL = `INSERT INTO orders.order_items (order_id, line, sku, quantity, price_cents)
		SELECT $1, t.line, t.sku, t.quantity, t.price_cents
		FROM unnest($2::text[], $3::integer[], $4::bigint[]) WITH ORDINALITY AS t(sku, quantity, price_cents, line)`
	// SelectOrderByIDSQL reads an order and its items, as JSON, in one round trip.
	SelectOrderByIDSQL = selectOrder + ` WHERE o.id = $1`
)

const selectOrder = `SELECT o.id::text, o.customer_email, o.total_cents, o.status, o.status_reason, o.created_at,
	o.updated_at, (SELECT coalesce(json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity,
	'price_cents', i.price_cents) ORDER BY i.line), '[]') FROM orders.order_items i WHERE i.order_id = o.id)
	FROM orders.orders o`
