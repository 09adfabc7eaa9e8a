// Package proxytest runs the reverse-proxy recipe of docs/operations.md
// with a real nginx in front of Usher and a small app, so that the
// documented configuration is the tested one. The tests skip when nginx is
// not installed, unless USHER_REQUIRE_NGINX is set.
package proxytest
