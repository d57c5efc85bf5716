package rest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults used when a Config field is zero.
const (
	DefaultTimeout       = 120 * time.Second
	DefaultMaxRetries    = 5
	DefaultBackoffFactor = 2.0
	DefaultMaxBackoff    = 30 * time.Second
)

// Config says where the server is and how to talk to it.
type Config struct {
	// BaseURL is the server's http(s) URL, for example http://127.0.0.1:5000.
	BaseURL string
	// Username and Password give HTTP basic auth; Token a bearer token.
	// Basic auth wins when both are set, as in MLflow.
	Username, Password, Token string
	// InsecureTLS disables certificate verification.
	InsecureTLS bool
	// Timeout bounds one HTTP attempt (default 120 s).
	Timeout time.Duration
	// MaxRetries is how many times a retryable failure is retried; a negative
	// value disables retries (default 5).
	MaxRetries int
	// BackoffFactor scales the exponential backoff (seconds; default 2).
	BackoffFactor float64
	// MaxBackoff caps one wait (default 30 s); Retry-After is capped by it too.
	MaxBackoff time.Duration
	// HTTPClient, when set, is used instead of one built from the fields above.
	HTTPClient *http.Client
	// Logger receives retry warnings; nil discards them.
	Logger *slog.Logger
}

// LogValue redacts the secrets so that a Config can be logged.
func (c Config) LogValue() slog.Value {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("username", c.Username),
		slog.String("password", redact(c.Password)),
		slog.String("token", redact(c.Token)),
		slog.Bool("insecure_tls", c.InsecureTLS),
		slog.Duration("timeout", c.Timeout),
		slog.Int("max_retries", c.MaxRetries),
	)
}

func (c Config) withDefaults() (Config, error) {
	if c.BaseURL == "" {
		return c, errors.New("client: empty server URL")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("client: server URL %q is not an http(s) URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.BackoffFactor <= 0 {
		c.BackoffFactor = DefaultBackoffFactor
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		if c.InsecureTLS {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // MLFLOW_TRACKING_INSECURE_TLS asks for it
		}
		c.HTTPClient = &http.Client{Transport: tr}
	}
	return c, nil
}
