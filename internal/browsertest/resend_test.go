package browsertest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/usher-auth/usher"
	bt "github.com/usher-auth/usher/internal/browsertest"
)

// resendJS describes the log-in page's offers to resend the confirmation
// e-mail: how many are visible, and the space between the first one and
// the label of the field under it.
const resendJS = `(() => {
  const text = ` + "`%s`" + `;
  const offers = [...document.querySelectorAll('main a, main button')].filter(el => el.textContent.trim() === text && el.getClientRects().length > 0);
  const label = document.querySelector('label[for=f-login]');
  const gap = offers.length && label ? label.getBoundingClientRect().top - offers[0].getBoundingClientRect().bottom : -1;
  return {count: offers.length, gap};
})()`

// TestUnconfirmedLogInOffersOneResend: logging in with an address not yet
// confirmed shows one "Resend confirmation email", apart from the
// "Email address" label below it, and it sends the e-mail.
func TestUnconfirmedLogInOffersOneResend(t *testing.T) {
	s := startServer(t, nil) // enable_confirm_email, as by default
	const email = "una@example.com"
	if _, err := s.App.Service.CreateUser(context.Background(), usher.NewUser{Email: email, Password: pw, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	for _, lang := range []string{"en", "fa"} {
		bt.Go(t, ctx, s.URL+"/user/login")
		bt.Submit(t, ctx, `footer button[name=lang][value="`+lang+`"]`) // the language sticks (a cookie)
		bt.Fill(t, ctx, "#f-login", email, "#f-password", pw)
		if st := bt.Submit(t, ctx, "button[type=submit].primary"); st != http.StatusForbidden {
			t.Fatalf("%s: log-in of an unconfirmed address answered %d; want 403", lang, st)
		}
		text := cat.Text(lang, "Resend confirmation email")
		got := bt.Eval[struct {
			Count int
			Gap   float64
		}](t, ctx, fmt.Sprintf(resendJS, text))
		if got.Count != 1 {
			t.Errorf("%s: %q shown %d times; want once", lang, text, got.Count)
		}
		if got.Gap < 8 {
			t.Errorf("%s: %q is %.1f px above the address's label; want at least 8", lang, text, got.Gap)
		}
	}
	con.Take()
	bt.Submit(t, ctx, "form.resend button")
	s.Mail.WaitFor(email, "onfirm", 1)
}
