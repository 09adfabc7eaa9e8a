package i18n

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/usher-auth/usher"
)

// callerArgs gives, for every message with verbs, arguments of the types
// and number its callers pass: the templates (T "id" args...), usher.js
// (t("id", args...)) and the Go code; for a plural message, the count
// first. TestEveryMessageRendersClean checks
// that the table covers every such message and the templates' calls.
var callerArgs = map[string][]any{
	"%s (optional)":                      {"Name"},
	"%s has invited you to join %s.":     {"admin@example.com", "Acme"},
	"%s on %s":                           {"Firefox", "Linux"},
	"Added %s":                           {"2 May 2026"},
	"Hello %s,":                          {"ann"},
	"Last active %s":                     {"2 May 2026"},
	"Link a %s account":                  {"Google"},
	"Log in with %s":                     {"Google"},
	"Sign up with %s":                    {"Google"},
	"An invitation is on its way to %s.": {"ann@example.com"},
	"Users found: %d":                    {42},
	"Open the link below to sign in to %s as %s.": {"Acme", "ann@example.com"},
	"Other devices signed out: %s":                {"3"},
	"Remove %s":                                   {"ann@example.com"},
	"Sign out %s":                                 {"Firefox on Linux"},
	"The %s team":                                 {"Acme"},
	"The email address %s was added to your %s account.":                                  {"ann@example.com", "Acme"},
	"A %s account was linked to your %s account and can now be used to log in.":           {"Google", "Acme"},
	"A %s account was unlinked from your %s account and can no longer be used to log in.": {"Google", "Acme"},
	"Its email address is %s.":                                                {"ann@gmail.example"},
	"The link was sent to %s.":                                                {"ann@example.com"},
	"The password of your %s account (%s) was just changed.":                  {"Acme", "ann@example.com"},
	"The primary email address of your %s account is now %s.":                 {"Acme", "ann@example.com"},
	"The primary email address of your %s account was changed from %s to %s.": {"Acme", "old@example.com", "ann@example.com"},
	"The username of your %s account is now %s.":                              {"Acme", "ann"},
	"The username of your %s account was changed from %s to %s.":              {"Acme", "old", "ann"},
	"This link expires in %s and can be used only once.":                      {"2 days"},
	"We sent a link to %s.":                                                   {"ann@example.com"},
	"You have been invited to join %s.":                                       {"Acme"},
	"You will no longer be able to log in with %s.":                           {"ann@example.com"},
	"added %s": {"2 May 2026"},
	"Please confirm that %s is your email address by opening the link below.":                                                                                             {"ann@example.com"},
	"Thank you for registering with %s. Your account for %s is ready to use.":                                                                                             {"Acme", "ann@example.com"},
	"We received a request to reset the password of your %s account (%s). Open the link below to choose a new password.":                                                  {"Acme", "ann@example.com"},
	"We received a request to turn off two-factor authentication for your %s account (%s). Open the link below to confirm. You can set up a new method after signing in.": {"Acme", "ann@example.com"},
	"%d days":    {2},
	"%d hours":   {2},
	"%d minutes": {2},
}

// passwordReasons are the reasons a *usher.PasswordError gives; package
// web renders each with the error's Args.
var passwordReasons = []string{
	usher.MsgPasswordTooShort, usher.MsgPasswordTooLong, usher.MsgPasswordWeak,
	usher.MsgPasswordSameEmail, usher.MsgPasswordCommon,
}

// TestEveryMessageRendersClean renders every message in every language
// with the arguments its callers pass, and fails on fmt's complaints
// ("%!(EXTRA int=8)", "%!s(MISSING)", "%!d(string=x)").
func TestEveryMessageRendersClean(t *testing.T) {
	c := Default()
	args := map[string][]any{}
	for id, a := range callerArgs {
		args[id] = a
	}
	for _, reason := range passwordReasons {
		if _, ok := args[reason]; ok {
			t.Errorf("%q is in callerArgs; its arguments come from PasswordError.Args", reason)
		}
		args[reason] = (&usher.PasswordError{Reason: reason, Min: 8, Max: 256}).Args()
	}
	for _, id := range c.IDs() {
		if _, ok := args[id]; !ok && len(Verbs(c.Text("en", id))) > 0 {
			t.Errorf("%q has verbs but no entry in callerArgs: add the arguments its callers pass", id)
		}
	}
	for id := range callerArgs {
		if !c.Known(id) {
			t.Errorf("callerArgs has %q, which is not a message (remove it)", id)
		}
	}
	for id, n := range templateCalls(t) {
		if a, ok := args[id]; c.Known(id) && len(Verbs(c.Text("en", id))) > 0 && (!ok || !slices.Contains(n, len(a))) {
			t.Errorf("the templates call T %q with %v arguments; callerArgs has %d", id, n, len(a))
		}
	}
	for _, l := range c.Languages() {
		for id, a := range args {
			got := []string{c.Sprintf(l.Tag, id, a...)}
			if c.msgs["en"][id].plural() {
				// Plural's count is the first argument.
				got = nil
				for _, n := range []int{0, 1, 2, 3, 5, 11, 21, 22, 25, 100, 101} {
					got = append(got, c.Plural(l.Tag, id, n, a[1:]...))
				}
			}
			for _, s := range got {
				if strings.Contains(s, "%!") {
					t.Errorf("%s: %q renders as %q", l.Tag, id, s)
				}
			}
		}
	}
}

// templateCalls returns, for each message ID the page and e-mail
// templates pass to T, the numbers of arguments they pass with it.
func templateCalls(t *testing.T) map[string][]int {
	t.Helper()
	calls := map[string][]int{}
	walkTemplates(t, func(_ string, n parse.Node) {
		c, ok := n.(*parse.CommandNode)
		if !ok || len(c.Args) < 2 {
			return
		}
		fn, ok1 := c.Args[0].(*parse.IdentifierNode)
		id, ok2 := c.Args[1].(*parse.StringNode)
		if ok1 && ok2 && fn.Ident == "T" && !slices.Contains(calls[id.Text], len(c.Args)-2) {
			calls[id.Text] = append(calls[id.Text], len(c.Args)-2)
		}
	})
	return calls
}

// walkTemplates calls visit for every node of every page and e-mail
// template, with the template's file.
func walkTemplates(t *testing.T, visit func(file string, n parse.Node)) {
	t.Helper()
	for _, dir := range []string{"../web/templates", "../mail/templates"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") && !strings.HasSuffix(p, ".txt") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tree := parse.New(p)
			tree.Mode = parse.SkipFuncCheck
			trees := map[string]*parse.Tree{}
			if _, err := tree.Parse(string(b), "", "", trees); err != nil {
				t.Errorf("%s: %v", p, err)
				return nil
			}
			for _, tr := range trees {
				walk(tr.Root, func(n parse.Node) { visit(p, n) })
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// walk calls visit for n and every node under it.
func walk(n parse.Node, visit func(parse.Node)) {
	if v := reflect.ValueOf(n); !v.IsValid() || v.Kind() == reflect.Pointer && v.IsNil() {
		return
	}
	visit(n)
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			walk(c, visit)
		}
	case *parse.ActionNode:
		walk(n.Pipe, visit)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.TemplateNode:
		walk(n.Pipe, visit)
	case *parse.PipeNode:
		for _, c := range n.Cmds {
			walk(c, visit)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walk(a, visit)
		}
	}
}

func walkBranch(b *parse.BranchNode, visit func(parse.Node)) {
	walk(b.Pipe, visit)
	walk(b.List, visit)
	walk(b.ElseList, visit)
}
