package usher

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Providers returns the configured federated providers, in configuration
// order (for the pages' buttons).
func (s *Service) Providers() []FederatedProvider { return s.providers }

// Provider returns the configured provider named name, or nil.
func (s *Service) Provider(name string) FederatedProvider {
	for _, p := range s.providers {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// federatedState is what a federated sign-in's state keeps, as the JSON
// of its token's Data.
type federatedState struct {
	Provider string          `json:"provider"`
	Intent   FederatedIntent `json:"intent"`
	Next     string          `json:"next"`
	Remember bool            `json:"remember"`
	Browser  string          `json:"browser"`
	UserID   string          `json:"user_id,omitempty"`
	Saved    string          `json:"saved"`
}

// signupAllowed reports whether an unknown identity of p may create an
// account: the provider allows it and so does the site (no
// DisableRegistration, no RequireInvitation — an invitation is an e-mailed
// link for the password sign-up).
func (s *Service) signupAllowed(p FederatedProvider) bool {
	return p.AllowSignup() && !s.cfg.DisableRegistration && !s.cfg.RequireInvitation
}

// BeginFederated starts a federated sign-in: it keeps a new random state
// with st and the provider's saved data in the database (single-use,
// FederatedStateTTL) and returns the provider's address to send the
// browser to. ErrNotFound for an unknown provider; ErrLoginRequired for
// IntentLink without a user; ErrSignupDisabled for IntentSignup where
// sign-up is off (provider or site); ErrForbidden for a provider whose
// identities may neither log in nor sign up here (or link, when they may
// not log in); a *ValidationError for an unknown intent or no Browser; a
// *RateLimitError when st.Client.IP started more than LoginRateLimit
// sign-ins this minute (each start writes a row: unthrottled, anyone could
// fill the tokens table). The throttle is its own, not the log-in
// attempts' (FinishFederated counts those), so that a sign-in costs one
// log-in attempt.
func (s *Service) BeginFederated(ctx context.Context, st FederatedStart) (authURL string, err error) {
	p := s.Provider(st.Provider)
	if p == nil {
		return "", ErrNotFound
	}
	if err := s.checkRate(ctx, "federated_start", st.Client.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return "", err
	}
	if st.Intent == "" {
		st.Intent = IntentLogin
	}
	var v ValidationError
	if st.Intent != IntentLogin && st.Intent != IntentSignup && st.Intent != IntentLink {
		v.add("intent", MsgInvalidFormat)
	}
	if st.Browser == "" {
		// The answer must come back to the browser that asked: without
		// the binding, a state is a login-CSRF token anyone can use.
		v.add("browser", MsgRequired)
	}
	if err := v.orNil(); err != nil {
		return "", err
	}
	switch st.Intent {
	case IntentLink:
		if st.UserID == "" {
			return "", ErrLoginRequired
		}
		if !p.AllowLogin() {
			return "", ErrForbidden
		}
	case IntentSignup:
		if !s.signupAllowed(p) {
			return "", ErrSignupDisabled
		}
	default:
		if !p.AllowLogin() && !s.signupAllowed(p) {
			return "", ErrForbidden
		}
	}
	if st.Intent != IntentLink {
		st.UserID = ""
	}
	state, hash := newToken()
	authURL, saved, err := p.Begin(ctx, state)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(federatedState{Provider: p.Name(), Intent: st.Intent, Next: st.Next,
		Remember: st.Remember, Browser: st.Browser, UserID: st.UserID, Saved: saved})
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := s.store.CreateToken(ctx, &Token{Hash: hash, Kind: TokenFederatedState, UserID: st.UserID,
		CreatedAt: now, ExpiresAt: now.Add(FederatedStateTTL), Data: string(data)}); err != nil {
		return "", err
	}
	return authURL, nil
}

// FinishFederated ends a federated sign-in the provider sent back to the
// callback (r, with the state it carried): it spends the state (unknown,
// used, expired, for another provider or from another browser →
// ErrFederatedRefused), lets the provider check its answer, then logs in,
// signs up or links by the state's intent (LoginWithIdentity,
// LinkIdentity). The result carries Next even with an error (an
// *MFARequiredError goes on to the second step). An empty state is an
// IdP-initiated answer, refused unless the provider allows them; it is a
// log-in to "" (the caller's default page). Each call counts against the
// per-IP log-in throttle (*RateLimitError).
func (s *Service) FinishFederated(ctx context.Context, provider, state, browser string, r *http.Request, c Client) (*FederatedResult, error) {
	res := &FederatedResult{Intent: IntentLogin}
	p := s.Provider(provider)
	if p == nil {
		return res, ErrNotFound
	}
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return res, err
	}
	method := "federated:" + p.Name()
	refuse := func(why string) (*FederatedResult, error) {
		s.log.Warn("usher: federated sign-in refused", "provider", p.Name(), "reason", why)
		s.event(ctx, s.store, "", EventLoginFailed, c, method+": "+why)
		return res, ErrFederatedRefused
	}
	var fs federatedState
	if state == "" {
		ip, ok := p.(IdPInitiatedProvider)
		if !ok || !ip.AllowIdPInitiated() {
			return refuse("no state (IdP-initiated sign-in is off)")
		}
		fs = federatedState{Provider: p.Name(), Intent: IntentLogin}
	} else {
		if len(state) != tokenLen {
			return refuse("malformed state")
		}
		// Spent first, whatever follows: a state works once, on any
		// instance, even when this answer is refused.
		t, err := s.store.UseToken(ctx, hashToken(state), TokenFederatedState, s.now())
		if isNotFound(err) {
			return refuse("unknown, used or expired state")
		}
		if err != nil {
			return res, err
		}
		if err := json.Unmarshal([]byte(t.Data), &fs); err != nil {
			return refuse("unreadable state")
		}
		res.Intent, res.Next = fs.Intent, fs.Next
		if fs.Provider != p.Name() {
			return refuse("state of another provider")
		}
		if browser == "" || subtle.ConstantTimeCompare([]byte(fs.Browser), []byte(browser)) != 1 {
			return refuse("state of another browser")
		}
	}
	ext, err := p.Finish(ctx, r, fs.Saved, s.seenOnce(p.Name()))
	switch {
	case errors.Is(err, ErrFederatedCancelled):
		s.event(ctx, s.store, "", EventLoginFailed, c, method+": cancelled")
		return res, ErrFederatedCancelled
	case errors.Is(err, ErrFederatedRefused):
		return refuse(err.Error())
	case err != nil:
		return res, err
	case ext == nil || ext.Issuer == "" || ext.Subject == "":
		return refuse("no issuer or subject")
	}
	ext.Provider = p.Name()
	var out *FederatedResult
	if fs.Intent == IntentLink {
		var id *Identity
		id, err = s.LinkIdentity(ctx, fs.UserID, ext, c)
		out = &FederatedResult{Identity: id}
	} else {
		out, err = s.loginWithIdentity(ctx, p, ext, fs.Intent, fs.Remember, c)
	}
	out.Intent, out.Next = res.Intent, res.Next
	return out, err
}

// seenOnce is the SeenFunc given to the provider named provider:
// SeenOnce over provider, NUL, ID, kept at least FederatedStateTTL (to
// outlast a provider's allowance for clock skew).
func (s *Service) seenOnce(provider string) SeenFunc {
	return func(ctx context.Context, id string, until time.Time) error {
		if min := s.now().Add(FederatedStateTTL); until.Before(min) {
			until = min
		}
		return s.SeenOnce(ctx, provider+"\x00"+id, until)
	}
}

// LoginWithIdentity logs in with an identity a provider asserted (after its
// checks), by the linking rules of docs/design.md: found by (issuer,
// subject) → log in; else, with opt.Intent:
//   - no account has the address: sign up when the provider allows it,
//     the address confirmed only when EmailVerified;
//   - an account has it: IntentSignup → ErrUserExists; IntentLogin → link
//     and log in only when EmailVerified and the account's address is
//     confirmed, else ErrLinkRequired.
//
// The log-in then follows the rules of every log-in (completeLogin): a
// disabled account is refused, a second factor is asked
// (*MFARequiredError), a password lock-out is neither lifted nor in the
// way. Other errors: ErrNotFound (no such provider), ErrFederatedRefused
// (no issuer or subject; an unknown identity without a usable e-mail
// address), ErrAuthenticationFailed (log-in not allowed for the provider;
// an unknown identity where sign-up is off), ErrSignupDisabled (the same
// with IntentSignup), a *RateLimitError (the per-IP log-in throttle), and
// the errors of sign-up's checks (Deps.ValidateSignup).
func (s *Service) LoginWithIdentity(ctx context.Context, ext *ExternalIdentity, intent FederatedIntent, remember bool, c Client) (*FederatedResult, error) {
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return &FederatedResult{Intent: intent}, err
	}
	p := s.Provider(ext.Provider)
	if p == nil {
		return &FederatedResult{Intent: intent}, ErrNotFound
	}
	return s.loginWithIdentity(ctx, p, ext, intent, remember, c)
}

// loginWithIdentity is LoginWithIdentity once throttled, for provider p.
func (s *Service) loginWithIdentity(ctx context.Context, p FederatedProvider, ext *ExternalIdentity, intent FederatedIntent, remember bool, c Client) (*FederatedResult, error) {
	if intent == "" {
		intent = IntentLogin
	}
	res := &FederatedResult{Intent: intent}
	method := "federated:" + p.Name()
	fail := func(userID string, err error, why string) (*FederatedResult, error) {
		s.event(ctx, s.store, userID, EventLoginFailed, c, method+": "+why)
		return res, err
	}
	switch {
	case intent != IntentLogin && intent != IntentSignup:
		return res, &ValidationError{Fields: map[string]string{"intent": MsgInvalidFormat}}
	case ext.Issuer == "" || ext.Subject == "":
		return fail("", ErrFederatedRefused, "no issuer or subject")
	}
	// By (issuer, subject) first, never by address first.
	known, err := s.store.IdentityBySubject(ctx, ext.Issuer, ext.Subject)
	if err == nil {
		if intent == IntentSignup {
			return fail(known.UserID, ErrUserExists, "sign-up with a linked identity")
		}
		if !p.AllowLogin() {
			return fail(known.UserID, ErrAuthenticationFailed, "log-in not allowed")
		}
		u, err := s.store.UserByID(ctx, known.UserID)
		if err != nil {
			return res, err
		}
		res.User, res.Identity = u, known
		now := s.now()
		res.Session, err = s.completeLogin(ctx, loginRequest{
			kind: loginFederated, method: method, user: u, remember: remember, client: c,
			with: func(ctx context.Context, tx Store) error { return tx.TouchIdentity(ctx, known.ID, now) },
		})
		if err == nil {
			known.LastUsedAt = now
		}
		return res, err
	}
	if !isNotFound(err) {
		return res, err
	}
	email, msg := normalizeEmail(ext.Email)
	if msg != "" {
		// Every account has an address: an unknown identity without one
		// can neither sign up nor be matched.
		return fail("", ErrFederatedRefused, "no usable email address")
	}
	owner, confirmed, err := s.addressOwner(ctx, email)
	if err != nil {
		return res, err
	}
	if owner == nil {
		if !s.signupAllowed(p) {
			if intent == IntentSignup {
				return res, ErrSignupDisabled
			}
			return fail("", ErrAuthenticationFailed, "not a registered user")
		}
		return s.federatedSignup(ctx, p, ext, email, remember, c, res)
	}
	if intent == IntentSignup {
		return fail(owner.ID, ErrUserExists, FailAddressTaken)
	}
	if !p.AllowLogin() {
		return fail(owner.ID, ErrAuthenticationFailed, "log-in not allowed")
	}
	if !ext.EmailVerified || !confirmed {
		// No silent merge: an address the provider does not vouch for
		// may be anyone's, and an unconfirmed account may be an
		// attacker's trap (pre-hijacking).
		return fail(owner.ID, ErrLinkRequired, FailLinkRequired)
	}
	now := s.now()
	id := &Identity{ID: NewID(), UserID: owner.ID, Provider: p.Name(), Issuer: ext.Issuer, Subject: ext.Subject,
		Email: email, LinkedAt: now, LastUsedAt: now}
	res.User = owner
	res.Session, err = s.completeLogin(ctx, loginRequest{
		kind: loginFederated, method: method, user: owner, remember: remember, client: c,
		// Linked only with a log-in that succeeds, in its transaction.
		with: func(ctx context.Context, tx Store) error { return s.linkIn(ctx, tx, owner, p, id, c) },
	})
	if err == nil {
		res.Identity = id
	}
	return res, err
}

// addressOwner returns the user who has the address, any of theirs
// (primary or secondary, confirmed or not, compared like FoldEmail), and
// whether that address of theirs is confirmed; nil if nobody has it.
func (s *Service) addressOwner(ctx context.Context, email string) (*User, bool, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if err == nil {
		// The primary address, or a confirmed secondary one.
		return u, FoldEmail(u.Email) != FoldEmail(email) || u.EmailConfirmed(), nil
	}
	if !isNotFound(err) {
		return nil, false, err
	}
	e, err := s.store.UserEmailByAddress(ctx, email)
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if u, err = s.store.UserByID(ctx, e.UserID); err != nil {
		return nil, false, err
	}
	return u, !e.ConfirmedAt.IsZero(), nil
}

// federatedSignup creates the account of an unknown identity whose
// address nobody has, links the identity, and logs the user in. The
// account has no password (a reset by e-mail sets one), the address is
// confirmed only when the provider vouched for it, the profile's "name"
// field (if declared) takes the provider's name when valid, and required
// profile fields are left empty: the user fills them in on the profile
// page. Deps.ValidateSignup runs as for every sign-up.
func (s *Service) federatedSignup(ctx context.Context, p FederatedProvider, ext *ExternalIdentity, email string, remember bool, c Client, res *FederatedResult) (*FederatedResult, error) {
	method := "federated:" + p.Name()
	profile := map[string]string{}
	if name := strings.TrimSpace(ext.Name); name != "" && s.hasProfileField("name") {
		var v ValidationError
		if got := s.checkProfile(map[string]string{"name": name}, &v, true); v.orNil() == nil {
			profile = got
		}
	}
	if s.validateSignup != nil {
		in := &Signup{Email: email, Profile: profile}
		if err := s.validateSignup(ctx, in); err != nil {
			return res, err
		}
		profile = in.Profile
	}
	u, err := s.newUser(ctx, nil, NewUser{Email: email, Profile: profile, Enabled: !s.cfg.RequireApproval, Confirmed: ext.EmailVerified}, true)
	if err != nil {
		return res, err
	}
	now := s.now()
	id := &Identity{ID: NewID(), UserID: u.ID, Provider: p.Name(), Issuer: ext.Issuer, Subject: ext.Subject,
		Email: email, LinkedAt: now, LastUsedAt: now}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateIdentity(ctx, id); err != nil {
			return err
		}
		if err := s.enqueueSignupMail(ctx, tx, u); err != nil {
			return err
		}
		s.event(ctx, tx, u.ID, EventSignup, c, method)
		return nil
	})
	if err != nil {
		return res, err
	}
	res.User, res.Identity, res.Created = u, id, true
	// Outside the sign-up's transaction: the second factor's pending
	// log-in or enrolment (RequireMFA) is written by itself.
	res.Session, err = s.completeLogin(ctx, loginRequest{kind: loginFederated, method: method, user: u, remember: remember, client: c})
	return res, err
}

// hasProfileField reports whether the profile declares a field name.
func (s *Service) hasProfileField(name string) bool {
	for _, f := range s.cfg.ProfileFields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// LinkIdentity links an identity to a logged-in user (linking from the
// account page, after a fresh log-in). ErrUserExists when it is linked to
// someone (the user included); ErrNotFound for an unknown provider or
// user; ErrForbidden when the provider's identities may not log in;
// ErrFederatedRefused without issuer or subject. The user is e-mailed.
func (s *Service) LinkIdentity(ctx context.Context, userID string, ext *ExternalIdentity, c Client) (*Identity, error) {
	p := s.Provider(ext.Provider)
	switch {
	case p == nil:
		return nil, ErrNotFound
	case ext.Issuer == "" || ext.Subject == "":
		return nil, ErrFederatedRefused
	case !p.AllowLogin():
		return nil, ErrForbidden
	case userID == "":
		return nil, ErrLoginRequired
	}
	if _, err := s.store.IdentityBySubject(ctx, ext.Issuer, ext.Subject); err == nil {
		return nil, ErrUserExists
	} else if !isNotFound(err) {
		return nil, err
	}
	email, msg := normalizeEmail(ext.Email)
	if msg != "" {
		email = ""
	}
	now := s.now()
	id := &Identity{ID: NewID(), UserID: userID, Provider: p.Name(), Issuer: ext.Issuer, Subject: ext.Subject,
		Email: email, LinkedAt: now}
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		return s.linkIn(ctx, tx, u, p, id, c)
	})
	if err != nil {
		return nil, err
	}
	return id, nil
}

// linkIn links id to u in tx, e-mails u and records the event.
func (s *Service) linkIn(ctx context.Context, tx Store, u *User, p FederatedProvider, id *Identity, c Client) error {
	if err := tx.CreateIdentity(ctx, id); err != nil {
		return err
	}
	if err := s.notifyIdentity(ctx, tx, u, MailIdentityLinked, p.Label(), id); err != nil {
		return err
	}
	s.event(ctx, tx, u.ID, EventIdentityLinked, c, id.Provider)
	return nil
}

// notifyIdentity e-mails the account's address that an identity was
// linked or unlinked (kind), naming the provider by label.
func (s *Service) notifyIdentity(ctx context.Context, tx Store, u *User, kind, label string, id *Identity) error {
	vars := mailVars(u, "", 0)
	vars["provider"] = label
	if id.Email != "" {
		vars["identity_email"] = id.Email
	}
	return s.enqueue(ctx, tx, kind, u.Email, u.Locale, vars)
}

// UnlinkIdentity unlinks one of the user's identities; ErrNotFound if the
// user has no such identity, ErrLastLoginMethod if it is their only way to
// log in (no password, no other identity; a passkey does not count, see
// docs/design.md). The user is e-mailed.
func (s *Service) UnlinkIdentity(ctx context.Context, userID, identityID string, c Client) error {
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		list, err := tx.IdentitiesOfUser(ctx, userID)
		if err != nil {
			return err
		}
		var id *Identity
		for _, x := range list {
			if x.ID == identityID {
				id = x
			}
		}
		if id == nil {
			return ErrNotFound
		}
		if u.PasswordHash == "" && len(list) == 1 {
			return ErrLastLoginMethod
		}
		if err := tx.DeleteIdentity(ctx, userID, id.ID); err != nil {
			return err
		}
		label := id.Provider
		if p := s.Provider(id.Provider); p != nil {
			label = p.Label()
		}
		if err := s.notifyIdentity(ctx, tx, u, MailIdentityUnlinked, label, id); err != nil {
			return err
		}
		s.event(ctx, tx, userID, EventIdentityUnlinked, c, id.Provider)
		return nil
	})
}

// Identities returns the user's linked identities, oldest first.
func (s *Service) Identities(ctx context.Context, userID string) ([]*Identity, error) {
	return s.store.IdentitiesOfUser(ctx, userID)
}
