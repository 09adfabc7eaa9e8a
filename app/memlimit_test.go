package app

import "testing"

func TestParseMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{
		"": 0, "100MiB": 100 << 20, "1GiB": 1 << 30, "512 KiB": 512 << 10, "128MB": 128e6, "4096": 4096, "4096B": 4096,
	} {
		got, err := ParseMemoryLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseMemoryLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"lots", "-1MiB", "0", "1.5GiB", "10 parsecs", "9999999999TiB"} {
		if _, err := ParseMemoryLimit(in); err == nil {
			t.Errorf("ParseMemoryLimit(%q) accepted", in)
		}
	}
	c := Defaults()
	c.MemoryLimit = "lots"
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted memory_limit = lots")
	}
}
