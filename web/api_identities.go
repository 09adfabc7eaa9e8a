package web

import (
	"net/http"
	"time"
)

// The user's federated identities over JSON: the list, and unlinking
// one (DELETE /user/api/identities/{id} is ownItemAction over
// Service.UnlinkIdentity). Linking goes through the provider's redirect
// flow, not this API.

// identityJSON is an identity as the API shows it: never its subject.
type identityJSON struct {
	ID            string     `json:"id"`
	Provider      string     `json:"provider"`
	ProviderLabel string     `json:"provider_label,omitempty"`
	Issuer        string     `json:"issuer"`
	Email         string     `json:"email"`
	LinkedAt      time.Time  `json:"linked_at"`
	LastUsedAt    *time.Time `json:"last_used_at"`
}

// handleListIdentities serves GET /user/api/identities.
func (h *apiHandler) handleListIdentities(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	list, err := h.svc.Identities(r.Context(), a.user.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]identityJSON, 0, len(list))
	for _, id := range list {
		j := identityJSON{ID: id.ID, Provider: id.Provider, Issuer: id.Issuer, Email: id.Email, LinkedAt: id.LinkedAt}
		if p := h.svc.Provider(id.Provider); p != nil {
			j.ProviderLabel = p.Label()
		}
		if !id.LastUsedAt.IsZero() {
			t := id.LastUsedAt
			j.LastUsedAt = &t
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"identities": out})
}
