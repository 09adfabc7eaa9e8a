package usher_test

import (
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestLinksFollowPrefix: every e-mailed link is BaseURL + Prefix + its
// page's path (the pages' routes follow the same Prefix), or, with a
// LinkPrefix holding a fragment, BaseURL + LinkPrefix + the path.
func TestLinksFollowPrefix(t *testing.T) {
	const base = "https://auth.example.com"
	for _, tc := range []struct{ prefix, linkPrefix, want string }{
		{"", "", "/user"},
		{"/auth", "", "/auth"},
		{"/auth/", "", "/auth"},
		{"/", "", ""},
		{"/auth", "/app#usher", "/app#usher"},
	} {
		cfg := usher.Config{BaseURL: base, Prefix: tc.prefix, LinkPrefix: tc.linkPrefix, EnableConfirmEmail: true,
			EnableLoginLink: true, AllowMFAEmailReset: true, EnableInviteUser: true}
		svc, _ := newMFAService(t, cfg)
		if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		boss := usertest.MustCreateUser(t, svc, "boss@example.com")
		for _, send := range []struct {
			mail, path string
			send       func() error
		}{
			{usher.MailConfirmEmail, usher.PathConfirmEmail, func() error { return svc.SendConfirmEmail(ctx, "ann@example.com", client) }},
			{usher.MailResetPassword, usher.PathResetPassword, func() error { return svc.SendPasswordResetEmail(ctx, "ann@example.com", client) }},
			{usher.MailLoginLink, usher.PathLoginLink, func() error { return svc.SendLoginLink(ctx, "ann@example.com", client) }},
			{usher.MailMFAReset, usher.PathMFAReset, func() error { return svc.SendMFAResetEmail(ctx, "ann@example.com", client) }},
		} {
			if err := send.send(); err != nil {
				t.Fatal(err)
			}
			want := base + tc.want + send.path + "/"
			got := mailedLink(t, svc, "ann@example.com", send.mail)
			if tok, ok := strings.CutPrefix(got, want); !ok || !linkRE.MatchString("/x/"+tok) {
				t.Errorf("prefix %q, link_prefix %q: %s link %s; want %sTOKEN", tc.prefix, tc.linkPrefix, send.mail, got, want)
			}
		}
		if err := svc.Invite(ctx, "bob@example.com", boss.ID, client); err != nil {
			t.Fatal(err)
		}
		want := base + tc.want + usher.PathRegister + "?token="
		if got := mailedLink(t, svc, "bob@example.com", usher.MailInvitation); !strings.HasPrefix(got, want) {
			t.Errorf("prefix %q: invitation link %s; want it to start with %s", tc.prefix, got, want)
		}
	}
}

// mailedLink returns the link of the last e-mail of kind to to.
func mailedLink(t *testing.T, svc *usher.Service, to, kind string) string {
	t.Helper()
	svc.DeliverMail(ctx)
	msgs, err := svc.Store().ListMessages(ctx, to, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == kind {
			return m.Vars["link"]
		}
	}
	t.Fatalf("no %s e-mail to %s", kind, to)
	return ""
}

// TestPrefixSettingsValidated: Prefix is a plain path; LinkPrefix only
// moves links into a fragment — a LinkPrefix that is a plain path is the
// old way of mounting elsewhere, and the error says to set Prefix.
func TestPrefixSettingsValidated(t *testing.T) {
	for _, tc := range []struct {
		cfg  usher.Config
		want string // "" for valid
	}{
		{usher.Config{Prefix: "/auth"}, ""},
		{usher.Config{Prefix: "/"}, ""},
		{usher.Config{LinkPrefix: "/#usher"}, ""},
		{usher.Config{Prefix: "auth"}, "path_prefix"},
		{usher.Config{Prefix: "/a/../b"}, "path_prefix"},
		{usher.Config{Prefix: "/auth#x"}, "path_prefix"},
		{usher.Config{LinkPrefix: "/auth"}, "set prefix"},
		{usher.Config{LinkPrefix: "#usher"}, "link_prefix"},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v; want %q", tc.cfg, err, tc.want)
		}
	}
}
