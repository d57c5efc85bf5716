package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/registry/store"
)

// Webhook delivery defaults (MLflow's MLFLOW_WEBHOOK_* defaults), and how
// many events may wait for a delivery worker before new ones are dropped.
const (
	webhookTimeout    = 30 * time.Second
	webhookMaxRetries = 3
	webhookWorkers    = 10
	webhookMaxPending = 10000
)

// Deliveries tracks the webhook events a server has accepted and not yet
// delivered, so that a replica stopping (a rolling restart) delivers them
// before it exits instead of losing them.
type Deliveries struct {
	wg      sync.WaitGroup
	pending atomic.Int64
}

// Wait blocks until every accepted event is delivered (or has failed
// every retry), or until ctx ends; it then returns ctx's error.
func (d *Deliveries) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d webhook events not delivered: %w", d.pending.Load(), ctx.Err())
	}
}

// deliverer posts MLflow 3 webhook events: signed, retried on 429/5xx and
// connection errors, by at most webhookWorkers at once; the events beyond
// wait their turn, as in MLflow's thread pool.
type deliverer struct {
	st        *store.Store
	log       *slog.Logger
	client    *http.Client
	backoff   time.Duration
	sem       chan struct{}
	track     *Deliveries
	delivered *prometheus.CounterVec
}

type envelope struct {
	Entity    string `json:"entity"`
	Action    string `json:"action"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// The event payloads, with MLflow's field order.
type (
	registeredModelCreated struct {
		Name        string            `json:"name"`
		Tags        map[string]string `json:"tags"`
		Description *string           `json:"description"`
	}
	modelVersionCreated struct {
		Name        string            `json:"name"`
		Version     string            `json:"version"`
		Source      string            `json:"source"`
		RunID       *string           `json:"run_id"`
		Tags        map[string]string `json:"tags"`
		Description *string           `json:"description"`
	}
	versionTagSet struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}
	versionTagDeleted struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
	}
	aliasCreated struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}
	aliasDeleted struct {
		Name  string `json:"name"`
		Alias string `json:"alias"`
	}
)

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func tagMap(tags []store.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// fire delivers ev to every active subscribed webhook, in the background.
// Prompts (registered models tagged mlflow.prompt.is_prompt=true) fire
// nothing, as in MLflow for model events.
func (d *deliverer) fire(c *gin.Context, model string, ev store.WebhookEvent, data any) {
	ctx := context.WithoutCancel(c.Request.Context())
	if d.track.pending.Add(1) > webhookMaxPending {
		d.track.pending.Add(-1)
		d.log.Warn("webhook delivery queue full; event dropped", slog.String("entity", ev.Entity), slog.String("action", ev.Action))
		d.delivered.WithLabelValues("dropped").Inc()
		return
	}
	d.track.wg.Add(1)
	go func() {
		defer d.track.wg.Done()
		defer d.track.pending.Add(-1)
		d.sem <- struct{}{}
		defer func() { <-d.sem }()
		if prompt, err := d.st.IsPrompt(ctx, model); err != nil || prompt {
			return
		}
		hooks, err := d.st.ActiveWebhooksFor(ctx, ev)
		if err != nil {
			d.log.Error("webhook lookup failed", slog.Any("err", err))
			return
		}
		for _, h := range hooks {
			res := d.send(ctx, h, ev, data)
			result := "success"
			if !res.Success {
				result = "failure"
				d.log.Warn("webhook delivery failed", slog.String("webhook_id", h.WebhookID), slog.String("url", h.URL),
					slog.Int("status", res.ResponseStatus), slog.String("error", res.ErrorMessage))
			}
			d.delivered.WithLabelValues(result).Inc()
		}
	}()
}

// testResult is MLflow's WebhookTestResult.
type testResult struct {
	Success        bool   `json:"success"`
	ResponseStatus int    `json:"response_status,omitempty"`
	ResponseBody   string `json:"response_body,omitempty"`
	ErrorMessage   string `json:"error_message,omitempty"`
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Sign returns the X-MLflow-Signature value for a delivery:
// "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)).
func Sign(secret, deliveryID, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(deliveryID + "." + timestamp + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// send posts one event to one webhook with retries.
func (d *deliverer) send(ctx context.Context, h store.Webhook, ev store.WebhookEvent, data any) testResult {
	body, err := json.Marshal(envelope{
		Entity: strings.ToLower(ev.Entity), Action: strings.ToLower(ev.Action),
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000000-07:00"), Data: data,
	})
	if err != nil {
		return testResult{ErrorMessage: err.Error()}
	}
	id := store.NewUUID()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	var res testResult
	for attempt := 0; ; attempt++ {
		res = d.post(ctx, h, id, ts, body)
		retry := (res.ResponseStatus == 0 && res.ErrorMessage != "") || retryableStatus(res.ResponseStatus)
		if !retry || attempt >= webhookMaxRetries {
			return res
		}
		wait := min(d.backoff<<attempt, time.Minute)
		select {
		case <-ctx.Done():
			return res
		case <-time.After(wait):
		}
	}
}

func (d *deliverer) post(ctx context.Context, h store.Webhook, id, ts string, body []byte) testResult {
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return testResult{ErrorMessage: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-MLflow-Delivery-Id", id)
	req.Header.Set("X-MLflow-Timestamp", ts)
	if h.Secret != "" {
		req.Header.Set("X-MLflow-Signature", Sign(h.Secret, id, ts, body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return testResult{ErrorMessage: err.Error()}
	}
	defer func() { _ = resp.Body.Close() }()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return testResult{Success: resp.StatusCode < 400, ResponseStatus: resp.StatusCode, ResponseBody: string(rb)}
}

// webhookHTTPClient returns the delivery client. Unless private addresses
// are allowed its dialer refuses non-public peers, so a host that
// re-resolves to an internal address after validation is still refused.
func webhookHTTPClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !store.PublicIP(ip) {
				return fmt.Errorf("webhook peer %s is not a public address", host)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	return &http.Client{Timeout: webhookTimeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// examplePayload is the fixed payload MLflow's webhook test sends.
func examplePayload(ev store.WebhookEvent) any {
	switch ev.Entity + "." + ev.Action {
	case "MODEL_VERSION.CREATED":
		run, desc := "abcd1234abcd5678", "An example model version"
		return modelVersionCreated{Name: "example_model", Version: "1", Source: "models:/123", RunID: &run,
			Tags: map[string]string{"example_key": "example_value"}, Description: &desc}
	case "MODEL_VERSION_TAG.SET":
		return versionTagSet{Name: "example_model", Version: "1", Key: "example_key", Value: "example_value"}
	case "MODEL_VERSION_TAG.DELETED":
		return versionTagDeleted{Name: "example_model", Version: "1", Key: "example_key"}
	case "MODEL_VERSION_ALIAS.CREATED":
		return aliasCreated{Name: "example_model", Alias: "example_alias", Version: "1"}
	case "MODEL_VERSION_ALIAS.DELETED":
		return aliasDeleted{Name: "example_model", Alias: "example_alias"}
	default:
		desc := "An example registered model"
		return registeredModelCreated{Name: "example_model", Tags: map[string]string{"example_key": "example_value"}, Description: &desc}
	}
}
