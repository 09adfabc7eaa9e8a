#!/usr/bin/env bash
# The load test on PostgreSQL with two instances and no load balancer:
# each scenario runs two wrk at once, one per instance, and adds their
# rates (docs/benchmarks.md). Needs wrk and a PostgreSQL server; the script
# creates its own database there and drops it at the end. Run from the
# repository root:
#
#   bench/pg2.sh [WORKDIR]
#
# Knobs (environment): PG (the server, postgres://postgres@127.0.0.1:5432),
# USERS (100000 users and as many sessions), DURATION (15s), HASH_WINDOW
# (10s), USHER_* settings pass to both instances.
set -euo pipefail
{ # (read whole before it runs, so that editing the file cannot disturb a run)
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
users=${USERS:-100000}
dur=${DURATION:-15s}
hashwin=${HASH_WINDOW:-10s}
new_database usher_pg2
p1=${PORT:-18180}; p2=$((p1+10))
u1=http://127.0.0.1:$p1; u2=http://127.0.0.1:$p2
enter_work "${1:-}" "database $db"

build
create_database
s1=; s2=
cleanup() {
  kill $s1 $s2 2>/dev/null || true
  wait $s1 $s2 2>/dev/null || true
  drop_database
}
trap cleanup EXIT
./loadtest seed -database "$dburl" -users "$users" -sessions "$users" -out .
key=$(head -c 32 /dev/urandom | base64)
start() { # PORT -> pid in $!
  USHER_SECRET_KEY=$key ./usher serve --database "$dburl" --addr 127.0.0.1:$1 --log-level warn \
    --login-rate-limit=-1 --signup-rate-limit=-1 >"server-$1.log" 2>&1 &
}
start $p1; s1=$!
start $p2; s2=$!
wait_up "$u1"; wait_up "$u2"

# both NAME WRK-ARGS...: one wrk per instance at once, reports NAME-1.txt
# and NAME-2.txt, and the sum of their rates.
both() {
  local name=$1; shift
  wrk "$@" "$u1" ${wrk_tail[@]+"${wrk_tail[@]}"} >"$name-1.txt" &
  local w1=$!
  wrk "$@" "$u2" ${wrk_tail[@]+"${wrk_tail[@]}"} >"$name-2.txt"
  wait $w1
  echo "$name: $(wrk_rate "$name-1.txt" "$name-2.txt")/s across both (instance 1: $(wrk_rate "$name-1.txt"), p99 $(wrk_p99 "$name-1.txt"); instance 2: $(wrk_rate "$name-2.txt"), p99 $(wrk_p99 "$name-2.txt")); errors: $(wrk_errors "$name-1.txt" "$name-2.txt")"
}

echo "== session check, GET /user/api/me, 32 connections per instance"
wrk_tail=(-- tokens.txt)
both me-cold -t1 -c32 -d"$dur" --latency -s "$root/bench/me.lua"
both me-warm -t1 -c32 -d"$dur" --latency -s "$root/bench/me.lua"
echo "rss: instance 1 $(rss_mb $s1); instance 2 $(rss_mb $s2)"

echo "== HTTP Basic auth with the cache, GET /user/api/verify, 32 connections per instance"
wrk_tail=(-- basic.txt)
both basic-warmup -t1 -c32 -d5s -s "$root/bench/basic.lua" >/dev/null
both basic -t1 -c32 -d"$dur" --latency -s "$root/bench/basic.lua"

hash_window; h0=$last_hash
echo "== password log-in, POST /user/api/login, 8 connections per instance"
wrk_tail=(-- "$users")
both login -t1 -c8 -d"$dur" --latency -s "$root/bench/login.lua"
hash_window; h1=$last_hash
echo "== sign-up, POST /user/api/signup, 8 connections per instance"
wrk_tail=()
both signup -t1 -c8 -d"$dur" --latency -s "$root/bench/signup.lua"
hash_window; h2=$last_hash
echo "rss: instance 1 $(rss_mb $s1); instance 2 $(rss_mb $s2)"

echo "== summary (load: $(uptime | sed 's/.*load average/load average/'))"
ratio "log-in, both instances" "$(wrk_rate login-1.txt login-2.txt)" "$h0" "$h1"
ratio "sign-up, both instances" "$(wrk_rate signup-1.txt signup-2.txt)" "$h1" "$h2"
exit
}
