package federated

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/usher-auth/usher"
)

// Facebook Login addresses. The Graph API version is in every path; a
// version stays usable for about two years after it comes out.
const (
	FacebookGraphVersion = "v24.0"
	FacebookAuthURL      = "https://www.facebook.com/" + FacebookGraphVersion + "/dialog/oauth"
	FacebookTokenURL     = "https://graph.facebook.com/" + FacebookGraphVersion + "/oauth/access_token"
	FacebookMeURL        = "https://graph.facebook.com/" + FacebookGraphVersion + "/me"
	// FacebookIssuer is the issuer Usher records for Facebook identities
	// (Facebook Login for the web is OAuth 2.0, not OpenID Connect, so no
	// token names one); the subject is the app-scoped user ID.
	FacebookIssuer = "https://www.facebook.com"
)

// facebook is the facebook kind: Facebook Login's server-side code flow
// (never the implicit flow or a token from the browser, which another app
// could have obtained), with PKCE, then one Graph API call, /me, carrying
// appsecret_proof.
type facebook struct {
	base
	oauth      oauth2.Config
	appSecret  string
	trustEmail bool
}

func newFacebook(c Config, env Env) (usher.FederatedProvider, error) {
	if err := checkCommon(c, env); err != nil {
		return nil, err
	}
	if err := onlyFor(c, "trust_email"); err != nil {
		return nil, err
	}
	p := &facebook{
		base:       newBase(c, env, "Facebook"),
		appSecret:  c.ClientSecret,
		trustEmail: c.TrustEmail == nil || *c.TrustEmail,
	}
	p.oauth = oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   FacebookAuthURL,
			TokenURL:  FacebookTokenURL,
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: p.redirectURL,
		Scopes:      scopes([]string{"email", "public_profile"}, c.AdditionalScopes),
	}
	return p, nil
}

// Begin returns the login dialog's URL with the state and a PKCE S256
// challenge; saved holds the state and verifier.
func (p *facebook) Begin(_ context.Context, state string) (authURL, savedJSON string, err error) {
	s, opts, err := begin(state, false)
	if err != nil {
		return "", "", err
	}
	if savedJSON, err = s.encode(); err != nil {
		return "", "", err
	}
	return p.oauth.AuthCodeURL(state, opts...), savedJSON, nil
}

// Finish checks the callback, exchanges the code (with the app secret and
// the PKCE verifier) and asks Graph /me for the app-scoped ID, name and
// e-mail. The e-mail may be absent (the user declined it, or has only a
// phone number); it counts as verified when trust_email is on (the
// default, as in Ory Kratos and Supabase Auth).
func (p *facebook) Finish(ctx context.Context, r *http.Request, savedJSON string, _ usher.SeenFunc) (*usher.ExternalIdentity, error) {
	code, s, err := p.callback(r, savedJSON, false, func(iss string) bool { return iss == FacebookIssuer })
	if err != nil {
		return nil, err
	}
	tok, err := p.exchange(ctx, &p.oauth, code, s.Verifier)
	if err != nil {
		return nil, err
	}
	me, err := p.me(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if me.ID == "" {
		return nil, p.refused("Graph /me gave no id")
	}
	return &usher.ExternalIdentity{
		Provider:      p.name,
		Issuer:        FacebookIssuer,
		Subject:       me.ID,
		Email:         me.Email,
		EmailVerified: p.trustEmail && me.Email != "",
		Name:          me.Name,
	}, nil
}

type facebookMe struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// appSecretProof is Graph's appsecret_proof: HMAC-SHA256 of the access
// token keyed with the app secret, in hex. With "Require App Secret" on
// in the app's settings, Graph refuses calls without it, so a token
// stolen from elsewhere is useless without the secret.
func appSecretProof(accessToken, appSecret string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(accessToken))
	return hex.EncodeToString(m.Sum(nil))
}

// me calls Graph /me with the access token (in the Authorization header,
// not the URL) and its appsecret_proof.
func (p *facebook) me(ctx context.Context, accessToken string) (*facebookMe, error) {
	q := url.Values{
		"fields":          {"id,name,email"},
		"appsecret_proof": {appSecretProof(accessToken, p.appSecret)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, FacebookMeURL+"?"+q.Encode(), nil)
	if err != nil {
		return nil, p.refused("Graph /me: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.refused("Graph /me: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, p.refused("Graph /me: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    int    `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal(body, &e)
		return nil, p.refused("Graph /me: HTTP %d: %s %d %q", resp.StatusCode, clip(e.Error.Type), e.Error.Code, clip(e.Error.Message))
	}
	var me facebookMe
	if err := json.Unmarshal(body, &me); err != nil {
		return nil, p.refused("Graph /me: %v", fmt.Errorf("unreadable answer: %w", err))
	}
	return &me, nil
}
