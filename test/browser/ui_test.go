// Package browser tests the web UI end to end in headless Chromium: the built UI is served by devenv's edge
// beside the real API, worker, PostgreSQL and SQS/SNS endpoint, exactly as `make up` runs them, and the test
// uses it as a person would.
//
// Set SCREENSHOT_DIR to a directory to keep the screenshots the test takes (ui.png on a desktop screen,
// ui-phone.png on a phone); the README shows docs/img/ui.png:
//
//	SCREENSHOT_DIR=$PWD/docs/img go test ./test/browser
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
)

// TestOrderFlow places an order through the UI and follows it to fulfilled with its notification, sees an
// order of an out-of-stock SKU rejected, submits a bad order and sees each field's error next to the field, and
// checks that the page fits a 360 px wide phone screen.
func TestOrderFlow(t *testing.T) {
	bin := devenvtest.Build(t, "./cmd/...", "./web/webbuild")
	dist := filepath.Join(t.TempDir(), "dist")
	if out, err := exec.Command(filepath.Join(bin, "webbuild"), "-src", "../../web", "-out", dist).CombinedOutput(); err != nil {
		t.Fatalf("build the web UI: %v\n%s", err, out)
	}
	base := devenvtest.Start(t, bin, "-web", dist).URL
	b := newBrowser(t)

	b.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("order-form")))
	if got := b.eval(`document.querySelector('script[type=module]').getAttribute('src')`); !strings.HasPrefix(got, "assets/main.") {
		t.Errorf("the page loads its script from %q; want the hashed asset assets/main.<hash>.js", got)
	}

	// An order of two items, submitted with two quick clicks: one order is placed, and focus moves to it.
	b.do(
		chromedp.SendKeys(chromedp.ID("customer_email"), "ada@example.com"),
		fill(chromedp.CSS(`#item-rows > li:nth-child(1) [data-name=quantity]`), "2"),
		chromedp.Click(chromedp.ID("add-item")),
		chromedp.SendKeys(chromedp.CSS(`#item-rows > li:nth-child(2) [data-name=sku]`), "SKU-2"),
		chromedp.SendKeys(chromedp.CSS(`#item-rows > li:nth-child(2) [data-name=price_cents]`), "500"),
		chromedp.Click(chromedp.ID("add-item")),
	)
	// Focus follows rows added and removed, with the keyboard alone.
	if got := b.eval(`document.activeElement.id`); got != b.eval(`document.querySelector('#item-rows > li:nth-child(3) [data-name=sku]').id`) {
		t.Errorf("focus after adding an item is on %q; want the new item's SKU", got)
	}
	b.do(
		chromedp.Focus(chromedp.CSS(`#item-rows > li:nth-child(3) [data-action=remove]`)),
		chromedp.KeyEvent("\r"),
	)
	if got := b.eval(`document.querySelectorAll('#item-rows > li').length + ' ' + document.activeElement.closest('li').id`); got != "2 "+b.eval(`document.querySelector('#item-rows > li:nth-child(2)').id`) {
		t.Errorf("after removing the third item: %q; want 2 items and focus in the second", got)
	}
	b.do(
		chromedp.Click(chromedp.ID("submit-order")),
		chromedp.Click(chromedp.ID("submit-order")),
		chromedp.WaitVisible(chromedp.CSS(`#orders > li.order`)),
	)
	placed := b.eval(`document.querySelector('#orders > li.order').dataset.orderId`)
	b.waitTrue(`document.activeElement && document.activeElement.dataset.orderId === ` + jsString(placed))
	b.waitTrue(`document.querySelector('#order-` + placed + ` .notification') !== null`)
	if got := b.text(`#order-` + placed + ` .status`); !strings.Contains(got, "Fulfilled") {
		t.Errorf("status of the order = %q; want Fulfilled", got)
	}
	if got := b.text(`#order-` + placed + ` .order-total`); !strings.Contains(got, "$30.00") {
		t.Errorf("total shown = %q; want $30.00 (2 × $12.50 + 1 × $5.00)", got)
	}
	if got := b.text(`#order-` + placed + ` .notification`); !strings.Contains(got, "ada@example.com") {
		t.Errorf("notification shown = %q; want one to ada@example.com", got)
	}
	if got := countOrders(t, base); got != 1 {
		t.Errorf("orders in the API after a double click = %d; want 1", got)
	}

	// The order's path through the system: opening it shows its trace as a timeline, every hop from the API
	// request to the status update with its duration.
	b.do(chromedp.Click(chromedp.CSS(`#order-` + placed + ` .trace summary`)))
	hops := []string{"POST /api/orders", "db orders.create", "publish order-events", "process fulfillment",
		"db fulfillment.fulfill", "process order-updates", "db orders.apply_outcome"}
	allHops := `(() => { const names = [...document.querySelectorAll('#order-` + placed + ` .trace-span')].map((e) => e.dataset.spanName);
		return ` + jsString(strings.Join(hops, "|")) + `.split('|').every((h) => names.includes(h)); })()`
	for range 30 { // spans reach the collector within its batch delay; reopen to fetch again
		if b.eval(`String(`+allHops+`)`) == "true" {
			break
		}
		b.do(chromedp.Click(chromedp.CSS(`#order-`+placed+` .trace summary`)), chromedp.Sleep(500*time.Millisecond),
			chromedp.Click(chromedp.CSS(`#order-`+placed+` .trace summary`)), chromedp.Sleep(500*time.Millisecond))
	}
	b.waitTrue(allHops)
	for _, hop := range []string{"process fulfillment", "db orders.apply_outcome"} {
		row := `#order-` + placed + ` .trace-span[data-span-name="` + hop + `"]`
		if got := b.text(row + ` .trace-duration`); !strings.Contains(got, " ms at +") {
			t.Errorf("hop %q shows %q; want its duration and start offset", hop, got)
		}
	}
	if got := b.text(`#order-` + placed + ` .trace-span[data-span-name="process fulfillment"] .trace-service`); !strings.EqualFold(got, "worker") {
		t.Errorf("the fulfillment hop is shown as a hop of %q; want worker", got)
	}
	// The bars are laid out on one time scale: the API's update starts to the right of where the request starts.
	barLeft := func(hop string) string {
		return `document.querySelector('#order-` + placed + ` .trace-span[data-span-name="` + hop + `"] .trace-bar').getBoundingClientRect().left`
	}
	if got := b.eval(`String(` + barLeft("db orders.apply_outcome") + ` > ` + barLeft("POST /api/orders") + ` + 50)`); got != "true" {
		t.Errorf("the status update's bar does not start well right of the request's: the timeline is not laid out")
	}
	b.do(chromedp.ScrollIntoView(chromedp.CSS(`#order-` + placed + ` .trace`)))
	b.screenshot("trace.png", 1280)
	b.do(chromedp.Click(chromedp.CSS(`#order-` + placed + ` .trace summary`)))

	// An order of a SKU without stock, whose first answer is lost on the way back: the API placed it, the page
	// says it was not reached, and the retry with the same idempotency key gets that order, not a second one.
	b.waitTrue(submitReady)
	b.do(
		chromedp.SendKeys(chromedp.CSS(`#item-rows > li:nth-child(1) [data-name=sku]`), "SKU-9"),
		chromedp.SendKeys(chromedp.CSS(`#item-rows > li:nth-child(1) [data-name=price_cents]`), "990"),
		loseAnswer(chromedp.Click(chromedp.ID("submit-order"))),
		chromedp.WaitVisible(chromedp.ID("error-summary")),
	)
	if got := b.text("#error-summary"); !strings.Contains(got, "safely try again") {
		t.Errorf("error summary after a lost answer = %q; want it to say a retry is safe", got)
	}
	if got := countOrders(t, base); got != 2 {
		t.Errorf("orders in the API after the lost answer = %d; want 2", got)
	}
	b.do(chromedp.Click(chromedp.ID("submit-order")))
	b.waitTrue(`document.querySelectorAll('#orders > li.order').length === 2`)
	if got := countOrders(t, base); got != 2 {
		t.Errorf("orders in the API after retrying = %d; want still 2", got)
	}
	// It is rejected, with its reason.
	rejected := b.eval(`document.querySelector('#orders > li.order').dataset.orderId`)
	b.waitTrue(`document.querySelector('#order-` + rejected + ` .notification') !== null`)
	if got := b.text(`#order-` + rejected + ` .status`); !strings.Contains(got, "Rejected") {
		t.Errorf("status of the SKU-9 order = %q; want Rejected", got)
	}
	if got := b.text(`#order-` + rejected + ` .status-reason`); !strings.Contains(got, "SKU-9") {
		t.Errorf("reason shown for the rejected order = %q; want one naming SKU-9", got)
	}
	b.waitTrue(`document.getElementById('announcer').textContent.includes(` + jsString(shortID(rejected)+" rejected") + `)`)

	// A bad order: the API's problem details appear next to the offending fields, and focus moves to the summary.
	b.waitTrue(submitReady)
	b.do(
		fill(chromedp.CSS("#customer_email"), "ada.example.com"),
		chromedp.SendKeys(chromedp.CSS(`#item-rows > li:nth-child(1) [data-name=sku]`), "SKU-3"),
		fill(chromedp.CSS(`#item-rows > li:nth-child(1) [data-name=quantity]`), "0"),
		chromedp.SendKeys(chromedp.CSS(`#item-rows > li:nth-child(1) [data-name=price_cents]`), "1250"),
		chromedp.Click(chromedp.ID("submit-order")),
		chromedp.WaitVisible(chromedp.ID("error-summary")),
	)
	quantity := b.eval(`document.querySelector('#item-rows > li:nth-child(1) [data-name=quantity]').id`)
	tests := []struct {
		input, reason string
	}{
		{"customer_email", "email address"},
		{quantity, "between 1 and"},
	}
	for _, tt := range tests {
		invalid := b.eval(`document.getElementById(` + jsString(tt.input) + `).getAttribute('aria-invalid') || ''`)
		describedBy := b.eval(`document.getElementById(` + jsString(tt.input) + `).getAttribute('aria-describedby') || ''`)
		shown := b.text(`#` + tt.input + `-error`)
		if invalid != "true" || !strings.Contains(describedBy, tt.input+"-error") || !strings.Contains(shown, tt.reason) {
			t.Errorf("field %s: aria-invalid %q, aria-describedby %q, error %q; want true, its error, %q",
				tt.input, invalid, describedBy, shown, tt.reason)
		}
	}
	if got := b.eval(`document.activeElement.id`); got != "error-summary" {
		t.Errorf("focus after a refused order is on %q; want the error summary", got)
	}
	if got := countOrders(t, base); got != 2 {
		t.Errorf("orders in the API after a refused order = %d; want 2", got)
	}

	// Typing into a field clears its error.
	b.do(chromedp.SendKeys(chromedp.ID("customer_email"), "x"))
	if got := b.eval(`document.getElementById('customer_email').getAttribute('aria-invalid') || 'none'`); got != "none" {
		t.Errorf("aria-invalid after editing the email = %q; want it removed", got)
	}
	b.do(
		fill(chromedp.CSS("#customer_email"), "ada.example.com"),
		chromedp.Click(chromedp.ID("submit-order")),
		chromedp.WaitVisible(chromedp.ID("customer_email-error")),
	)
	b.screenshot("ui.png", 1280)

	// A phone: nothing is wider than the screen.
	b.do(chromedp.EmulateViewport(360, 800))
	if got := b.eval(`String(document.documentElement.scrollWidth)`); got != "360" {
		t.Errorf("page width on a 360 px screen = %s px; want 360 (no horizontal scrolling)", got)
	}
	b.screenshot("ui-phone.png", 360)

	// Keyset pagination: the first page holds 20 orders, "Load more" brings the rest and moves focus to them.
	for i := range 20 {
		placeOrder(t, base, fmt.Sprintf("bulk-%d", i))
	}
	b.do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/"))
	b.waitTrue(`document.querySelectorAll('#orders > li.order').length === 20 && !document.getElementById('load-more').hidden`)
	b.do(chromedp.Click(chromedp.ID("load-more")))
	b.waitTrue(`document.querySelectorAll('#orders > li.order').length === 22`)
	if got := b.eval(`document.activeElement.dataset.orderId || ''`); got != rejected {
		t.Errorf("focus after loading more is on order %q; want the newest of the older ones, %s", got, rejected)
	}
	if got := b.eval(`String(document.getElementById('load-more').hidden)`); got != "true" {
		t.Errorf("load more hidden = %s after the last page; want true", got)
	}

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// submitReady is true once the submit button accepts clicks again after an order was placed.
const submitReady = `!document.getElementById('submit-order').hasAttribute('aria-disabled')`

// browser is a headless Chromium tab with the helpers the test uses. Its methods fail the test on error.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []string
}

// newBrowser starts headless Chromium with a fresh profile. The flags keep it from reaching the internet,
// which this machine does not have.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium found: install Debian's chromium package (apt-get install chromium)")
	}
	logs := &logtest.Buffer{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(logs),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("Chromium output:\n%s", logs.String())
		}
	})
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// Answers of 4xx are part of the test (the refused order); the network log says nothing more.
			if m.Source != "network" && (m.Type == chromedp.ConsoleError || m.IsException()) {
				b.mu.Lock()
				b.console = append(b.console, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// step bounds one action: the system is eventually consistent, and the worker may take a moment.
const step = time.Minute

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression whose value is a string.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitTrue waits until a JavaScript expression is true.
func (b *browser) waitTrue(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(step))); err != nil {
		b.t.Fatalf("waiting for %s: %v\npage text:\n%s", expr, err, b.eval(`document.body.innerText`))
	}
}

// text is the rendered text of the first element matching a CSS selector, or "" when there is none.
func (b *browser) text(selector string) string {
	b.t.Helper()
	return b.eval(`(document.querySelector(` + jsString(selector) + `) || {}).innerText || ''`)
}

// screenshot takes a full-page PNG, checks its width, and keeps it in SCREENSHOT_DIR when that is set.
func (b *browser) screenshot(name string, width int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if got := img.Bounds().Dx(); got != width {
		b.t.Errorf("screenshot %s is %d px wide; want %d", name, got, width)
	}
	if dir := os.Getenv("SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// loseAnswer runs the action, lets the POST /api/orders it causes reach the API, and then drops the answer as
// a connection reset would.
func loseAnswer(action chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		paused := cdp.Events(ctx, t, fetch.RequestPaused)
		patterns := []*fetch.RequestPattern{{URLPattern: "*/api/orders", RequestStage: fetch.RequestStageResponse}}
		if _, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: patterns}); err != nil {
			return err
		}
		defer cdp.Call(ctx, t, fetch.Disable, cdp.Empty{})
		if _, err := action(ctx, t); err != nil {
			return err
		}
		for ev, err := range paused {
			if err != nil {
				return err
			}
			if ev.Request.Method != http.MethodPost {
				if _, err := cdp.Call(ctx, t, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID}); err != nil {
					return err
				}
				continue
			}
			if ev.ResponseStatusCode != http.StatusCreated {
				return fmt.Errorf("the API answered the order %d; want 201", ev.ResponseStatusCode)
			}
			_, err := cdp.Call(ctx, t, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
			return err
		}
		return errors.New("no order request was made")
	})
}

// fill replaces the text of an input by typing, as a person would, so the page sees input events.
func fill(input chromedp.CSS, text string) chromedp.Action[chromedp.Void] {
	empty := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[string](`(e => (e.value = '', e.value))(document.querySelector(`+jsString(string(input))+`))`)(ctx, t)
		return err
	})
	return chromedp.Steps(empty, chromedp.SendKeys(input, text))
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// placeOrder places an order of SKU-1 through the API.
func placeOrder(t *testing.T, base, key string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/orders",
		strings.NewReader(`{"customer_email": "bulk@example.com", "items": [{"sku": "SKU-1", "quantity": 1, "price_cents": 100}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/orders = %s; want 201", resp.Status)
	}
}

func shortID(id string) string {
	first, _, _ := strings.Cut(id, "-")
	return first
}

// countOrders asks the API how many orders there are (the system is fresh, so one page holds them all).
func countOrders(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/api/orders?limit=100")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Orders []json.RawMessage `json:"orders"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/orders: %s: %v", resp.Status, err)
	}
	return len(page.Orders)
}
