package main

import (
	"runtime/debug"
	"testing"

	"github.com/usher-auth/usher/app"
)

func TestMemoryLimitSetting(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	t.Cleanup(func() { debug.SetMemoryLimit(before); debug.SetGCPercent(gogc) })
	env := map[string]string{"GOMAXPROCS": "1", "GOGC": "100"} // leave those two alone
	cfg := app.Defaults()
	cfg.MemoryLimit = "100MiB"
	tuneRuntime(cfg, func(k string) string { return env[k] })
	if got := debug.SetMemoryLimit(-1); got != 100<<20 {
		t.Errorf("memory limit %d after memory_limit = 100MiB; want %d", got, 100<<20)
	}
	debug.SetMemoryLimit(before)
	cfg.MemoryLimit = ""
	tuneRuntime(cfg, func(k string) string { return env[k] })
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("memory limit %d with memory_limit unset; want it left at %d", got, before)
	}
}

// TestGOGCLeftAlone: hashes make no garbage any more, so serve runs at
// Go's default GOGC rather than raising it (and with it the heap).
func TestGOGCLeftAlone(t *testing.T) {
	gogc := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(gogc) })
	env := map[string]string{"GOMAXPROCS": "1"}
	tuneRuntime(app.Defaults(), func(k string) string { return env[k] })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d after tuneRuntime with GOGC unset; want Go's default 100", got)
	}
}
