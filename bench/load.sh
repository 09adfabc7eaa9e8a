#!/usr/bin/env bash
# Reproduces the load-test figures of docs/benchmarks.md. Needs wrk
# (apt-get install -y wrk). Run from the repository root:
#
#   bench/load.sh [WORKDIR]
#
# It builds usher, seeds a new SQLite database with 100,000 users and
# 100,000 sessions, starts `usher serve` with throttling off (every request
# comes from 127.0.0.1) and runs each scenario, printing wrk's reports.
set -euo pipefail
# go1.26.8's standard library has known vulnerabilities; go.mod names go1.27.3.
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
port=${PORT:-18080}
url=http://127.0.0.1:$port
dur=${DURATION:-30s}
mkdir -p "$work"
cd "$work"
echo "== work directory: $work"

go build -C "$root" -o "$work/usher" ./cmd/usher
go build -C "$root" -o "$work/loadtest" ./internal/loadtest
rm -f bench.db bench.db-*
./loadtest seed -database bench.db -users 100000 -sessions 100000 -out .
./loadtest hashtime

./usher serve --database bench.db --addr 127.0.0.1:$port --log-level warn --debug-addr 127.0.0.1:$((port+1)) \
  --login-rate-limit=-1 --signup-rate-limit=-1 >server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.1; done

echo "== session check, GET /user/api/me, 64 connections, cold cache (first pass)"
wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/me.lua" "$url" -- tokens.txt
echo "== session check, GET /user/api/me, 64 connections, warm cache"
wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/me.lua" "$url" -- tokens.txt

echo "== HTTP Basic auth with the cache, GET /user/api/verify, 64 connections"
# A warm-up pass first: each of the 100 credentials costs one hash (about
# 1.5 s of hashing for all) before the cache holds it.
wrk -t2 -c64 -d5s -s "$root/bench/basic.lua" "$url" -- basic.txt >/dev/null
wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/basic.lua" "$url" -- basic.txt

echo "== password log-in, POST /user/api/login, 16 connections"
./loadtest hashtime
./loadtest measure -debug http://127.0.0.1:$((port+1)) -- \
  wrk -t2 -c16 -d"$dur" --latency -s "$root/bench/login.lua" "$url" -- 100000
./loadtest hashtime

echo "== sign-up, POST /user/api/signup, 16 connections"
./loadtest hashtime
./loadtest measure -debug http://127.0.0.1:$((port+1)) -- \
  wrk -t2 -c16 -d"$dur" --latency -s "$root/bench/signup.lua" "$url"
./loadtest hashtime

echo "== session checks at 500/s while 16 connections flood log-in"
wrk -t1 -c16 -d40s -s "$root/bench/login.lua" "$url" -- 100000 >flood.txt &
flood=$!
sleep 5
./loadtest probe -url "$url/user/api/me" -tokens tokens.txt -rate 500 -duration 30s
wait $flood
grep -E "Requests/sec|Non-2xx" flood.txt || true
