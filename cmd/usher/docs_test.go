package main

import (
	"os"
	"strings"
	"testing"
)

// TestConfigurationDocumented keeps docs/configuration.md true: every
// setting appears there under its TOML key and its environment variable.
func TestConfigurationDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, s := range settings() {
		for _, name := range []string{"`" + s.Key + "`", "`" + s.Env + "`"} {
			if !strings.Contains(doc, name) {
				t.Errorf("docs/configuration.md does not mention %s", name)
			}
		}
	}
}
