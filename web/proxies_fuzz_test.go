package web

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzForwardedFor: whatever a client writes into X-Forwarded-For, the
// address taken from it is one of its entries — with the default proxies
// the last one, with listed proxies the last one that is not listed, or
// the leftmost of a header made only of listed proxies — and nothing
// panics.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"198.51.100.20", "1.1.1.1, 198.51.100.20", "203.0.113.5,203.0.113.6",
		"::ffff:10.0.0.1", "fe80::1%eth0, 10.0.0.9", "", ",,", "2001:db8::1 , not an address, 203.0.113.9"} {
		f.Add(s, s)
	}
	def, listed := newProxies(""), newProxies("203.0.113.0/24, 10.0.0.0/8, 2001:db8::/32")
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		values := []string{line1, line2}
		var entries []netip.Addr // the parsed tail of the header, right to left
		all := strings.Split(strings.Join(values, ","), ",")
		for i := len(all) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(all[i]))
			if err != nil || a.Zone() != "" {
				break
			}
			entries = append(entries, a.Unmap())
		}
		if a, ok := def.client(values); ok != (len(entries) > 0) || ok && a != entries[0] {
			t.Fatalf("default proxies, %q: %v %v; want the last entry of %v", values, a, ok, entries)
		}
		a, ok := listed.client(values)
		if ok != (len(entries) > 0) {
			t.Fatalf("listed proxies, %q: %v %v", values, a, ok)
		}
		if !ok {
			return
		}
		want := entries[len(entries)-1]
		for _, e := range entries {
			if !listed.contains(e) {
				want = e
				break
			}
		}
		if a != want {
			t.Fatalf("listed proxies, %q: %v; want %v", values, a, want)
		}
	})
}
