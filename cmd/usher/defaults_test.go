package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
)

// TestDefaultsPinned pins every setting's effective default — as -h shows
// it, as `usher config` prints it, and as the usher.Config the defaults
// give the Service — against testdata/defaults.golden, so that reshaping
// the configuration cannot move one. Run with -update-defaults only when
// a default is meant to change.
func TestDefaultsPinned(t *testing.T) {
	var b bytes.Buffer
	fs := flag.NewFlagSet("usher", flag.ContinueOnError)
	addConfigFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { fmt.Fprintf(&b, "--%s default %q\n", f.Name, f.DefValue) })
	cfg := app.Defaults()
	cfg.BaseURL = "http://localhost:8080"
	var printed bytes.Buffer
	printConfig(&printed, cfg)
	lines := strings.SplitAfter(printed.String(), "\n")
	slices.Sort(lines) // the order of the keys is no default
	b.WriteString(strings.Join(lines, "") + "\n")
	fmt.Fprintf(&b, "%s\n", strings.ReplaceAll(fmt.Sprintf("%+v", cfg.Service()), " ", "\n"))
	const golden = "testdata/defaults.golden"
	if *updateDefaults {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("defaults moved; got:\n%s\nwant:\n%s", got, want)
	}
}

var updateDefaults = flag.Bool("update-defaults", false, "rewrite testdata/defaults.golden")
