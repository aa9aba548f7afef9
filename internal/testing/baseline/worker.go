package baseline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// WorkerConcurrency is how many messages the worker baseline handles at once: the worker's consumer default
// (messaging.DefaultConcurrency), so both keep as many transactions in flight.
const WorkerConcurrency = 10

// placed is the part of an order.placed event the worker baseline reads, decoded without validation.
type placed struct {
	ID   string `json:"id"`
	Data struct {
		OrderID       string `json:"order_id"`
		CustomerEmail string `json:"customer_email"`
		Items         []Item `json:"items"`
	} `json:"data"`
}

// RunWorker is the fulfillment worker's baseline: the least code that takes order.placed messages off queueURL
// and applies them with the statements the worker runs per message (package fulfillmentdb: the inbox row, the
// inventory locked in SKU order, one UPDATE and one reservation INSERT per SKU, the two outcome rows in the
// outbox, in one transaction), then deletes them in a batch. WorkerConcurrency goroutines each receive up to 10
// messages and handle them one after the other. There is no kit: no envelope validation, no heartbeat, no
// metrics, no logging, no relay publishing the outbox. It returns when ctx ends.
func RunWorker(ctx context.Context, pool *pgxpool.Pool, client *sqs.Client, queueURL string) error {
	var wg sync.WaitGroup
	errs := make(chan error, WorkerConcurrency)
	for range WorkerConcurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
					MaxNumberOfMessages: 10, WaitTimeSeconds: 20})
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("receive: %w", err)
					}
					return
				}
				var done []sqstypes.DeleteMessageBatchRequestEntry
				for i, m := range out.Messages {
					if err := fulfill(ctx, pool, aws.ToString(m.Body)); err != nil {
						if ctx.Err() == nil {
							errs <- err
						}
						return
					}
					done = append(done, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
				}
				if len(done) > 0 {
					// The batch is deleted even if ctx has just ended: the transactions committed.
					if _, err := client.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{
						QueueUrl: aws.String(queueURL), Entries: done}); err != nil {
						errs <- fmt.Errorf("delete: %w", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// fulfill applies one order.placed body in one transaction with the worker's statements.
func fulfill(ctx context.Context, pool *pgxpool.Pool, body string) error {
	var e placed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return fmt.Errorf("decode %q: %w", body, err)
	}
	need := map[string]int{}
	for _, it := range e.Data.Items {
		need[it.SKU] += it.Quantity
	}
	skus := make([]string, 0, len(need))
	for sku := range need {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO fulfillment.inbox (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING`, e.ID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT sku, on_hand FROM fulfillment.inventory WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`, skus)
		if err != nil {
			return err
		}
		stock := map[string]int{}
		var sku string
		var onHand int
		if _, err := pgx.ForEachRow(rows, []any{&sku, &onHand}, func() error { stock[sku] = onHand; return nil }); err != nil {
			return err
		}
		outcome, note := "order.fulfilled", "notification.order_fulfilled"
		for _, s := range skus {
			if stock[s] < need[s] {
				outcome, note = "order.rejected", "notification.order_rejected"
			}
		}
		if outcome == "order.fulfilled" {
			b := &pgx.Batch{}
			for _, s := range skus {
				b.Queue(`UPDATE fulfillment.inventory SET on_hand = on_hand - $2, updated_at = now() WHERE sku = $1`, s, need[s])
				b.Queue(`INSERT INTO fulfillment.reservations (order_id, sku, quantity) VALUES ($1, $2, $3)`, e.Data.OrderID, s, need[s])
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		for _, ev := range []struct{ typ, topic, data string }{
			{outcome, "order-events", fmt.Sprintf(`{"order_id":%q}`, e.Data.OrderID)},
			{note, "notifications", fmt.Sprintf(`{"order_id":%q,"channel":"email","recipient":%q,"subject":"Your order","body":"Order %s."}`,
				e.Data.OrderID, e.Data.CustomerEmail, e.Data.OrderID)},
		} {
			id := uuid.Must(uuid.NewV7()).String()
			body := fmt.Sprintf(`{"id":%q,"type":%q,"source":"worker","subject":%q,"data":%s}`, id, ev.typ, e.Data.OrderID, ev.data)
			if _, err := tx.Exec(ctx, `INSERT INTO fulfillment.outbox (event_id, topic, body, attributes) VALUES ($1, $2, $3, $4)`,
				id, ev.topic, body, fmt.Sprintf(`{"type":%q}`, ev.typ)); err != nil {
				return err
			}
		}
		return nil
	})
}
