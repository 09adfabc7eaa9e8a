#!/usr/bin/env bash
# Reproduces the load-test figures of docs/benchmarks.md. Needs wrk
# (apt-get install -y wrk). Run from the repository root:
#
#   bench/load.sh [WORKDIR]
#
# It builds usher, seeds a new SQLite database with USERS users and as
# many sessions (100,000 unless USERS says otherwise; USERS=1000000 is the
# million-user case, whose seeding takes minutes), starts `usher serve` with throttling off (every request
# comes from 127.0.0.1) and runs each scenario, printing wrk's reports.
#
# Log-in and sign-up are compared with the hash-bound limit measured from
# outside: `loadtest hashbench` runs the server's hash (argon2id m=9216 KiB,
# t=4, p=1) one at a time on every CPU in a separate process, in windows
# alternating with the load windows (the machine's speed drifts within
# minutes), while the server idles. Each rate is divided by the mean of the
# two hash windows around it. Less sensitive to other load on the machine:
# the server's CPU time per log-in (from /proc) against hashbench's CPU time
# per verification, both printed.
#
# Knobs (environment): USERS (100000), SEEDS (a folder: seed each USERS
# once into SEEDS/USERS and copy it for each run, e.g. /tmp/usher-scale as
# bench/scale.sh uses), DURATION (load windows, 15s), HASH_WINDOW (10s),
# PROFILE=1 (a CPU profile of the server during the log-in window, saved as
# login.pprof), USHER_* settings are passed to the server as they are (e.g.
# USHER_MEMORY_LIMIT=100MiB).
set -euo pipefail
{ # (read whole before it runs, so that editing the file cannot disturb a run)
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
port=${PORT:-18080}
url=http://127.0.0.1:$port
debug=http://127.0.0.1:$((port+1))
dur=${DURATION:-15s}
hashwin=${HASH_WINDOW:-10s}
users=${USERS:-100000}
enter_work "${1:-}"

build
rm -f bench.db bench.db-*
if [ -n "${SEEDS:-}" ]; then
  # Seeded once into $SEEDS/USERS (as bench/scale.sh does) and copied.
  seeded=$SEEDS/$users
  if [ ! -f "$seeded/bench.db" ]; then
    mkdir -p "$seeded"
    ./loadtest seed -database "$seeded/seed.db" -users "$users" -sessions "$users" -out "$seeded"
    mv "$seeded/seed.db" "$seeded/bench.db"
  fi
  cp "$seeded/bench.db" "$seeded/tokens.txt" "$seeded/basic.txt" .
else
  ./loadtest seed -database bench.db -users "$users" -sessions "$users" -out .
fi

./usher serve --database bench.db --addr 127.0.0.1:$port --log-level warn --debug-addr 127.0.0.1:$((port+1)) \
  --login-rate-limit=-1 --signup-rate-limit=-1 >server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
wait_up "$url"
echo "rss: after start $(rss_mb $server)"

echo "== session check, GET /user/api/me, 64 connections, cold cache (first pass)"
wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/me.lua" "$url" -- tokens.txt
echo "== session check, GET /user/api/me, 64 connections, warm cache"
wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/me.lua" "$url" -- tokens.txt
echo "rss: after the session checks $(rss_mb $server)"

echo "== HTTP Basic auth with the cache, GET /user/api/verify, 64 connections"
# A warm-up pass first: each of the 100 credentials costs one hash (about
# 1.5 s of hashing for all) before the cache holds it.
wrk -t2 -c64 -d5s -s "$root/bench/basic.lua" "$url" -- basic.txt >/dev/null
wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/basic.lua" "$url" -- basic.txt

echo "== hash window"
hash_window; h0=$last_hash
echo "== password log-in, POST /user/api/login, 16 connections"
if [ "${PROFILE:-}" = 1 ]; then
  curl -fs -o login.pprof "$debug/debug/pprof/profile?seconds=$(( ${dur%s} - 2 ))" &
  prof=$!
fi
c0=$(proc_cost $server)
wrk -t2 -c16 -d"$dur" --latency -s "$root/bench/login.lua" "$url" -- "$users" | tee login.txt
c1=$(proc_cost $server)
[ "${PROFILE:-}" = 1 ] && wait $prof && echo "profile: $work/login.pprof (go tool pprof -top usher login.pprof)"
echo "rss: after the log-in flood $(rss_mb $server)"
echo "== hash window"
hash_window; h1=$last_hash
echo "== sign-up, POST /user/api/signup, 16 connections"
c2=$(proc_cost $server)
wrk -t2 -c16 -d"$dur" --latency -s "$root/bench/signup.lua" "$url" | tee signup.txt
c3=$(proc_cost $server)
echo "== hash window"
hash_window; h2=$last_hash

echo "== session checks at 500/s while 16 connections flood log-in"
wrk -t1 -c16 -d"$(( ${dur%s} + 5 ))s" --latency -s "$root/bench/login.lua" "$url" -- "$users" >flood.txt &
flood=$!
sleep 3
./loadtest probe -url "$url/user/api/me" -tokens tokens.txt -rate 500 -duration "$dur" | tee probe.txt
wait $flood
echo "== hash window"
hash_window; h3=$last_hash
echo "rss: after the log-in flood with the probe $(rss_mb $server)"

echo "== large and malformed requests, 64 connections"
# VmHWM (the peak of the whole resident set) restarts from here (5 >
# clear_refs); the anonymous part's peak is sampled every 50 ms.
echo 5 >/proc/$server/clear_refs 2>/dev/null || true
echo 0 >anon_peak.txt
anon_peak $server anon_peak.txt &
sampler=$!
wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/bad.lua" "$url" | tee bad.txt
kill $sampler 2>/dev/null || true
echo "rss: peak during the bad requests $(awk '/^VmHWM:/ {printf "%.0f MB", $2/1024}' /proc/$server/status) (anonymous $(cat anon_peak.txt) MB)"
echo "rss: at the end $(rss_mb $server)"

echo "== summary (load: $(uptime | sed 's/.*load average/load average/'))"
ratio "log-in" "$(wrk_rate login.txt)" "$h0" "$h1"
echo "  errors: $(wrk_errors login.txt); p99 $(wrk_p99 login.txt)"
per_request log-in "$c0" "$c1" "$(wrk_count login.txt)"
ratio "sign-up" "$(wrk_rate signup.txt)" "$h1" "$h2"
echo "  errors: $(wrk_errors signup.txt); p99 $(wrk_p99 signup.txt)"
per_request sign-up "$c2" "$c3" "$(wrk_count signup.txt)"
ratio "log-in flood with the probe" "$(wrk_rate flood.txt)" "$h2" "$h3"
echo "  errors: $(wrk_errors flood.txt); $(cat probe.txt)"
echo "bad requests: $(wrk_rate bad.txt)/s, $(wrk_count bad.txt) answered, $(wrk_errors bad.txt) (non-2xx expected: every one)"
exit
}
