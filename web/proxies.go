package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// defaultProxies are the peers whose forwarding headers are believed when
// Options.TrustedProxies is empty: loopback and the private networks
// (RFC 1918, RFC 4193), where a reverse proxy in front of Usher sits. A
// request straight from the Internet cannot choose its own address this
// way; one from inside the private network could, as it could reach Usher
// without the proxy anyway.
var defaultProxies = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// ParseTrustedProxies parses Options.TrustedProxies: IP addresses and
// CIDR networks separated by commas or spaces. An empty list is nil.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var list []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			list = append(list, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("trusted_proxies: %q is neither an IP address nor a network such as 10.0.0.0/8", f)
		}
		a = a.Unmap()
		list = append(list, netip.PrefixFrom(a, a.BitLen()))
	}
	return list, nil
}

// proxies says which peers are reverse proxies whose headers Usher
// believes: ClientIPHeader, X-Forwarded-Proto and X-Forwarded-Host.
type proxies struct {
	list       []netip.Prefix
	configured bool // Options.TrustedProxies named them (else defaultProxies)
}

func newProxies(s string) proxies {
	list, err := ParseTrustedProxies(s)
	if err != nil {
		panic("web: " + err.Error()) // see ParseTrustedProxies
	}
	if len(list) == 0 {
		return proxies{list: defaultProxies}
	}
	return proxies{list: list, configured: true}
}

func (p proxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.list {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// peer returns the address of the connection a request came on, if it
// is an IP address.
func peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// fromProxy reports whether r came from a trusted proxy.
func (p proxies) fromProxy(r *http.Request) bool {
	a, ok := peer(r)
	return ok && p.contains(a)
}

// client returns the client's address from the values of a header such
// as X-Forwarded-For, in which each proxy appends the address it was
// reached from: the last entry, or with TrustedProxies configured, the
// last entry that is not one of them (the ones left of it are whatever
// the client wrote). It returns false if there is no usable address.
func (p proxies) client(values []string) (netip.Addr, bool) {
	var entries []string
	for _, v := range values {
		entries = append(entries, strings.Split(v, ",")...)
	}
	var found netip.Addr
	for i := len(entries) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(entries[i]))
		if err != nil || a.Zone() != "" {
			break
		}
		found = a.Unmap()
		if !p.configured || !p.contains(found) {
			break
		}
	}
	return found, found.IsValid()
}
