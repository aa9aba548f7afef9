// Package inbox makes message handlers idempotent. Delivery is at-least-once (SQS redelivers, the outbox
// relay may publish twice), so a consumer records the id of each event it processed in an inbox table in the
// same transaction as the event's effect: a duplicate finds its id there and is skipped, and an effect that
// rolled back left no id behind, so its redelivery is applied.
//
// The table's primary key on the event id makes concurrent duplicates safe: the second insert waits for the
// first transaction and then does nothing (ON CONFLICT DO NOTHING), and Record reports it as a duplicate.
package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Inbox records processed event ids in one inbox table ("<schema>.inbox", see migrations).
type Inbox struct {
	table string
}

// New returns the Inbox of table, such as pgx.Identifier{"fulfillment", "inbox"}.
func New(table pgx.Identifier) *Inbox { return &Inbox{table: table.Sanitize()} }

// Record records eventID as processed in tx, the transaction that applies the event's effect. It returns
// false when the event was already processed: the caller then skips the effect (and still commits or rolls
// back as it likes: nothing was written).
func (i *Inbox) Record(ctx context.Context, tx pgx.Tx, eventID string) (bool, error) {
	tag, err := tx.Exec(ctx, "INSERT INTO "+i.table+" (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING", eventID)
	if err != nil {
		return false, fmt.Errorf("record event %s: %w", eventID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Querier is a transaction, a connection or a pool.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Seen reports whether eventID has been processed. It is a read-only shortcut (for example to skip work
// before opening a transaction); Record inside the effect's transaction is what guarantees a single effect.
func (i *Inbox) Seen(ctx context.Context, q Querier, eventID string) (bool, error) {
	var seen bool
	if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+i.table+" WHERE event_id = $1)", eventID).Scan(&seen); err != nil {
		return false, fmt.Errorf("look up event %s: %w", eventID, err)
	}
	return seen, nil
}

// Execer runs statements: a pool or a connection.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// DefaultRetention is how long processed event ids are kept: longer than a message can be redelivered after it
// was processed, which is at most an SQS queue's retention (up to 14 days) plus its dead-letter queue's when
// messages are redriven (the manifest keeps queues 4 days and dead-letter queues 14).
const DefaultRetention = 21 * 24 * time.Hour

// Prune deletes the ids processed before retention ago, in batches so as not to hold long locks, and returns
// how many it deleted. Retention must be longer than any message can be redelivered after it was processed:
// the queue's retention plus the dead-letter queue's if messages are redriven.
func (i *Inbox) Prune(ctx context.Context, db Execer, retention time.Duration) (int64, error) {
	var total int64
	for {
		tag, err := db.Exec(ctx, "DELETE FROM "+i.table+" WHERE event_id IN (SELECT event_id FROM "+i.table+
			" WHERE processed_at < now() - $1::interval LIMIT 1000)", retention)
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", i.table, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 1000 {
			return total, nil
		}
	}
}

// RunPruner prunes every interval until ctx ends, logging failures, and returns nil.
func (i *Inbox) RunPruner(ctx context.Context, db Execer, retention, interval time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := i.Prune(ctx, db, retention)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("inbox prune failed", "err", err)
			}
			continue
		}
		if n > 0 {
			log.Info("inbox pruned", "table", i.table, "deleted", n)
		}
	}
}
