package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"github.com/mlgate/mlgate/internal/search"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// WebhookEvent is an (entity, action) pair, upper-case on the wire
// ({"entity": "MODEL_VERSION_ALIAS", "action": "CREATED"}).
type WebhookEvent struct {
	Entity string `json:"entity"`
	Action string `json:"action"`
}

// Webhook is MLflow 3's registry webhook. The secret is write-only.
type Webhook struct {
	WebhookID            string         `json:"webhook_id"`
	Name                 string         `json:"name"`
	Description          string         `json:"description,omitempty"`
	URL                  string         `json:"url"`
	Events               []WebhookEvent `json:"events"`
	Status               string         `json:"status"`
	CreationTimestamp    int64          `json:"creation_timestamp"`
	LastUpdatedTimestamp int64          `json:"last_updated_timestamp,omitempty"`
	Secret               string         `json:"-"`
}

// WebhookInput creates or (with nil meaning "unchanged") updates a webhook.
type WebhookInput struct {
	Name        *string
	Description *string
	URL         *string
	Events      []WebhookEvent
	Secret      *string
	Status      *string
	// AllowedSchemes are the URL schemes accepted (default https only, as
	// MLFLOW_WEBHOOK_ALLOWED_SCHEMES).
	AllowedSchemes []string
	// AllowPrivateIPs accepts hosts that are or resolve to loopback,
	// private, link-local or otherwise non-public addresses
	// (MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS).
	AllowPrivateIPs bool
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// PublicIP reports whether ip is a public unicast address (webhooks may
// not reach anything else unless private addresses are allowed).
func PublicIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() &&
		!ip.IsLinkLocalUnicast() && !cgnat.Contains(ip)
}

func checkPublicHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if !PublicIP(ip) {
			return storeerr.Invalidf("Webhook URL host %s is not a public address; set MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true on the server to allow it.", host)
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return storeerr.Invalidf("Webhook URL host %s could not be resolved: %v", host, err)
	}
	for _, a := range addrs {
		if !PublicIP(a) {
			return storeerr.Invalidf("Webhook URL host %s resolves to the non-public address %s; set MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true on the server to allow it.", host, a)
		}
	}
	return nil
}

var validEntityActions = map[string][]string{
	"REGISTERED_MODEL":    {"CREATED"},
	"MODEL_VERSION":       {"CREATED"},
	"MODEL_VERSION_TAG":   {"SET", "DELETED"},
	"MODEL_VERSION_ALIAS": {"CREATED", "DELETED"},
	"PROMPT":              {"CREATED"},
	"PROMPT_VERSION":      {"CREATED"},
	"PROMPT_TAG":          {"SET", "DELETED"},
	"PROMPT_VERSION_TAG":  {"SET", "DELETED"},
	"PROMPT_ALIAS":        {"CREATED", "DELETED"},
}

var webhookNameRE = regexp.MustCompile(`(?i)^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)

// webhookMigration adds the webhook tables.
var webhookMigration = []string{`
CREATE TABLE webhooks (
	webhook_id TEXT NOT NULL PRIMARY KEY,
	name TEXT NOT NULL,
	description TEXT,
	url TEXT NOT NULL,
	status TEXT NOT NULL,
	secret TEXT,
	creation_timestamp BIGINT NOT NULL,
	last_updated_timestamp BIGINT NOT NULL,
	deleted_timestamp BIGINT
);
CREATE TABLE webhook_events (
	webhook_id TEXT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
	entity TEXT NOT NULL,
	action TEXT NOT NULL,
	PRIMARY KEY (webhook_id, entity, action)
)`}

func validateWebhookEvents(events []WebhookEvent) ([]WebhookEvent, error) {
	if len(events) == 0 {
		return nil, storeerr.Invalidf("Webhook events must be a non-empty list of WebhookEvent objects: [].")
	}
	seen := map[WebhookEvent]bool{}
	var out []WebhookEvent
	for _, e := range events {
		e = WebhookEvent{Entity: strings.ToUpper(e.Entity), Action: strings.ToUpper(e.Action)}
		ok := false
		for _, a := range validEntityActions[e.Entity] {
			ok = ok || a == e.Action
		}
		if !ok {
			return nil, storeerr.Invalidf("Invalid action '%s' for entity '%s'.", strings.ToLower(e.Action), strings.ToLower(e.Entity))
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

func validateWebhookURL(ctx context.Context, u string, schemes []string, allowPrivate bool) error {
	if strings.TrimSpace(u) == "" {
		return storeerr.Invalidf("Webhook URL cannot be empty or just whitespace: '%s'", u)
	}
	p, err := url.Parse(u)
	if err != nil {
		return storeerr.Invalidf("Invalid webhook URL '%s': %v", u, err)
	}
	if len(schemes) == 0 {
		schemes = []string{"https"}
	}
	ok := false
	for _, s := range schemes {
		ok = ok || strings.EqualFold(s, p.Scheme)
	}
	if !ok {
		return storeerr.Invalidf("Invalid webhook URL scheme: '%s'. Allowed schemes are: %s.", p.Scheme, strings.Join(schemes, ", "))
	}
	if p.Hostname() == "" {
		return storeerr.Invalidf("Webhook URL must include a hostname: '%s'", u)
	}
	if !allowPrivate {
		return checkPublicHost(ctx, p.Hostname())
	}
	return nil
}

func validateWebhookStatus(s string) (string, error) {
	switch up := strings.ToUpper(s); up {
	case "ACTIVE", "DISABLED":
		return up, nil
	}
	return "", storeerr.Invalidf("Invalid webhook status '%s': must be ACTIVE or DISABLED.", s)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewUUID returns a random (version 4) UUID string.
func NewUUID() string { return newUUID() }

// CreateWebhook stores a webhook (status ACTIVE unless given).
func (s *Store) CreateWebhook(ctx context.Context, in WebhookInput) (*Webhook, error) {
	if in.Name == nil || !webhookNameRE.MatchString(*in.Name) || len(*in.Name) > 63 {
		name := ""
		if in.Name != nil {
			name = *in.Name
		}
		return nil, storeerr.Invalidf("Webhook name '%s' is invalid. It must start and end with a letter or digit, be less than 63 characters long, and contain only letters, digits, dots (.), underscores (_), and hyphens (-).", name)
	}
	if in.URL == nil {
		return nil, missing("url")
	}
	if err := validateWebhookURL(ctx, *in.URL, in.AllowedSchemes, in.AllowPrivateIPs); err != nil {
		return nil, err
	}
	events, err := validateWebhookEvents(in.Events)
	if err != nil {
		return nil, err
	}
	status := "ACTIVE"
	if in.Status != nil && *in.Status != "" {
		if status, err = validateWebhookStatus(*in.Status); err != nil {
			return nil, err
		}
	}
	id := newUUID()
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO webhooks (webhook_id, name, description, url, status, secret, creation_timestamp, last_updated_timestamp)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, *in.Name, nullable(in.Description), *in.URL, status, nullable(in.Secret), now, now); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, id, events)
	})
	if err != nil {
		return nil, err
	}
	return s.GetWebhook(ctx, id)
}

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, id string, events []WebhookEvent) error {
	for _, e := range events {
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO webhook_events (webhook_id, entity, action) VALUES (?, ?, ?)`, id, e.Entity, e.Action); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) scanWebhooks(ctx context.Context, where string, args ...any) ([]Webhook, error) {
	rows, err := s.db.Q(nil).QueryContext(ctx, `SELECT webhook_id, name, description, url, status, secret, creation_timestamp, last_updated_timestamp
		FROM webhooks w WHERE deleted_timestamp IS NULL`+where, args...)
	if err != nil {
		return nil, err
	}
	var out []Webhook
	for rows.Next() {
		var w Webhook
		var desc, secret sql.NullString
		if err := rows.Scan(&w.WebhookID, &w.Name, &desc, &w.URL, &w.Status, &secret, &w.CreationTimestamp, &w.LastUpdatedTimestamp); err != nil {
			_ = rows.Close()
			return nil, err
		}
		w.Description, w.Secret = desc.String, secret.String
		out = append(out, w)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		ev, err := s.db.Q(nil).QueryContext(ctx, `SELECT entity, action FROM webhook_events WHERE webhook_id = ? ORDER BY entity, action`, out[i].WebhookID)
		if err != nil {
			return nil, err
		}
		for ev.Next() {
			var e WebhookEvent
			if err := ev.Scan(&e.Entity, &e.Action); err != nil {
				_ = ev.Close()
				return nil, err
			}
			out[i].Events = append(out[i].Events, e)
		}
		_ = ev.Close()
		if err := ev.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetWebhook returns a webhook that is not deleted.
func (s *Store) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	ws, err := s.scanWebhooks(ctx, ` AND webhook_id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, storeerr.NotFoundf("Webhook with ID %s not found.", id)
	}
	return &ws[0], nil
}

// ListWebhooks lists webhooks, newest first, paged like MLflow.
func (s *Store) ListWebhooks(ctx context.Context, maxResults int, pageToken string) (*Page[Webhook], error) {
	if maxResults == 0 {
		maxResults = 100
	}
	if maxResults < 1 || maxResults > 1000 {
		return nil, storeerr.Invalidf("max_results must be between 1 and 1000.")
	}
	offset, err := ParsePageToken(pageToken)
	if err != nil {
		return nil, err
	}
	ws, err := s.scanWebhooks(ctx, fmt.Sprintf(` ORDER BY creation_timestamp DESC, webhook_id LIMIT %d OFFSET %d`, maxResults+1, offset))
	if err != nil {
		return nil, err
	}
	p := &Page[Webhook]{}
	p.Items, p.NextPageToken = search.Page(ws, offset, maxResults)
	return p, nil
}

// ActiveWebhooksFor returns the ACTIVE webhooks subscribed to an event.
func (s *Store) ActiveWebhooksFor(ctx context.Context, ev WebhookEvent) ([]Webhook, error) {
	return s.scanWebhooks(ctx, ` AND status = 'ACTIVE' AND EXISTS (SELECT 1 FROM webhook_events e WHERE e.webhook_id = w.webhook_id AND e.entity = ? AND e.action = ?)`,
		ev.Entity, ev.Action)
}

// UpdateWebhook changes the given fields; empty strings count as absent,
// as in MLflow, and Events replaces the whole list.
func (s *Store) UpdateWebhook(ctx context.Context, id string, in WebhookInput) (*Webhook, error) {
	if _, err := s.GetWebhook(ctx, id); err != nil {
		return nil, err
	}
	set := []string{"last_updated_timestamp = ?"}
	args := []any{s.now()}
	if in.Name != nil && *in.Name != "" {
		if !webhookNameRE.MatchString(*in.Name) || len(*in.Name) > 63 {
			return nil, storeerr.Invalidf("Webhook name '%s' is invalid.", *in.Name)
		}
		set, args = append(set, "name = ?"), append(args, *in.Name)
	}
	if in.URL != nil && *in.URL != "" {
		if err := validateWebhookURL(ctx, *in.URL, in.AllowedSchemes, in.AllowPrivateIPs); err != nil {
			return nil, err
		}
		set, args = append(set, "url = ?"), append(args, *in.URL)
	}
	if in.Description != nil && *in.Description != "" {
		set, args = append(set, "description = ?"), append(args, *in.Description)
	}
	if in.Secret != nil && *in.Secret != "" {
		set, args = append(set, "secret = ?"), append(args, *in.Secret)
	}
	if in.Status != nil && *in.Status != "" {
		st, err := validateWebhookStatus(*in.Status)
		if err != nil {
			return nil, err
		}
		set, args = append(set, "status = ?"), append(args, st)
	}
	var events []WebhookEvent
	if len(in.Events) > 0 {
		var err error
		if events, err = validateWebhookEvents(in.Events); err != nil {
			return nil, err
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE webhooks SET `+strings.Join(set, ", ")+` WHERE webhook_id = ?`), append(args, id)...); err != nil {
			return err
		}
		if events == nil {
			return nil
		}
		if _, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM webhook_events WHERE webhook_id = ?`, id); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, id, events)
	})
	if err != nil {
		return nil, err
	}
	return s.GetWebhook(ctx, id)
}

// DeleteWebhook soft-deletes a webhook.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	res, err := s.db.Q(nil).ExecContext(ctx, `UPDATE webhooks SET deleted_timestamp = ? WHERE webhook_id = ? AND deleted_timestamp IS NULL`, s.now(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return storeerr.NotFoundf("Webhook with ID %s not found.", id)
	}
	return nil
}

// IsPrompt reports whether a registered model is an MLflow prompt
// (tagged mlflow.prompt.is_prompt=true); prompts fire no model events.
func (s *Store) IsPrompt(ctx context.Context, name string) (bool, error) {
	var v string
	err := s.db.Q(nil).QueryRowContext(ctx, `SELECT value FROM registered_model_tags WHERE name = ? AND key = ?`, name, isPromptTagKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return strings.EqualFold(v, "true"), err
}
