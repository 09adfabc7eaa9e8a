// Package proxytest runs the reverse-proxy recipes of docs/operations.md
// with a real nginx and a real Caddy in front of Usher and a small app, so
// that the documented configurations are the tested ones. Each test skips
// when its proxy is not installed, unless USHER_REQUIRE_NGINX or
// USHER_REQUIRE_CADDY is set.
package proxytest
