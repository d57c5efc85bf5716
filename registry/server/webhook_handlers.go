package server

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/registry/store"
)

type webhookResponse struct {
	Webhook *store.Webhook `json:"webhook"`
}

func (h *handlers) webhookInput(r *wire.Request) (store.WebhookInput, error) {
	in := store.WebhookInput{AllowedSchemes: h.webhookSchemes, AllowPrivateIPs: h.webhookAllowPrivate}
	for name, dst := range map[string]**string{"name": &in.Name, "url": &in.URL, "description": &in.Description,
		"secret": &in.Secret, "status": &in.Status} {
		if v, has := r.Str(name); has {
			*dst = &v
		}
	}
	r.Decode("events", &in.Events)
	return in, r.Err()
}

func (h *handlers) createWebhook(c *gin.Context, r *wire.Request) (any, error) {
	r.Required("name")
	r.Required("url")
	if err := r.Err(); err != nil {
		return nil, err
	}
	in, err := h.webhookInput(r)
	if err != nil {
		return nil, err
	}
	w, err := h.st.CreateWebhook(c.Request.Context(), in)
	return webhookResponse{w}, err
}

func (h *handlers) listWebhooks(c *gin.Context, r *wire.Request) (any, error) {
	maxResults := r.Int("max_results", 100)
	token := r.Optional("page_token")
	if err := r.Err(); err != nil {
		return nil, err
	}
	p, err := h.st.ListWebhooks(c.Request.Context(), maxResults, token)
	if err != nil {
		return nil, err
	}
	return struct {
		Webhooks      []store.Webhook `json:"webhooks,omitempty"`
		NextPageToken string          `json:"next_page_token,omitempty"`
	}{p.Items, p.NextPageToken}, nil
}

func (h *handlers) getWebhook(c *gin.Context, r *wire.Request) (any, error) {
	w, err := h.st.GetWebhook(c.Request.Context(), c.Param("webhook_id"))
	return webhookResponse{w}, err
}

func (h *handlers) updateWebhook(c *gin.Context, r *wire.Request) (any, error) {
	in, err := h.webhookInput(r)
	if err != nil {
		return nil, err
	}
	w, err := h.st.UpdateWebhook(c.Request.Context(), c.Param("webhook_id"), in)
	return webhookResponse{w}, err
}

func (h *handlers) deleteWebhook(c *gin.Context, r *wire.Request) (any, error) {
	return struct{}{}, h.st.DeleteWebhook(c.Request.Context(), c.Param("webhook_id"))
}

// testWebhook sends the example payload of the given (or the first
// subscribed) event, synchronously, whatever the webhook's status.
func (h *handlers) testWebhook(c *gin.Context, r *wire.Request) (any, error) {
	w, err := h.st.GetWebhook(c.Request.Context(), c.Param("webhook_id"))
	if err != nil {
		return nil, err
	}
	ev := w.Events[0]
	r.Decode("event", &ev)
	if err := r.Err(); err != nil {
		return nil, err
	}
	ev = store.WebhookEvent{Entity: strings.ToUpper(ev.Entity), Action: strings.ToUpper(ev.Action)}
	res := h.hooks.send(c.Request.Context(), *w, ev, examplePayload(ev))
	return struct {
		Result testResult `json:"result"`
	}{res}, nil
}
