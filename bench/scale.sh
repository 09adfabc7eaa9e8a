#!/usr/bin/env bash
# Cost at a million users (docs/benchmarks.md): session checks and log-ins
# over N seeded users and N seeded sessions, for each N. Needs wrk. Run from
# the repository root:
#
#   USERS="10000 100000 1000000" bench/scale.sh [WORKDIR]
#
# For each N it seeds a SQLite database once into $SEEDS/N (default
# /tmp/usher-scale; seeding a million users takes minutes), copies it into
# WORKDIR for the run, starts `usher serve` with throttling off and runs:
# GET /user/api/me with a uniformly random one of the N session cookies, 64
# connections, twice (cold cache, then warm); then POST /user/api/login as a
# uniformly random one of the N users, 16 connections. It prints wrk's
# figures, the load average before each pass, and the server's resident
# memory (anonymous and file-backed) after the check passes and after the
# log-ins. GOMEMLIMIT and GOGC, if set, reach the server. PROFILE=1 also saves a 10 s CPU profile of the first check pass as
# WORKDIR/cpu-N.pprof (go tool pprof -top usher cpu-N.pprof).
#
# DATABASE=postgres://... runs the same against PostgreSQL: each N is seeded
# once into its own schema (usher_scale_N) and kept there (tokens in
# $SEEDS/pg-N).
set -euo pipefail
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
seeds=${SEEDS:-/tmp/usher-scale}
port=${PORT:-18180}
url=http://127.0.0.1:$port
dbg=http://127.0.0.1:$((port+1))
dur=${DURATION:-15s}
users=${USERS:-"10000 100000 1000000"}
pg=${DATABASE:-}
mkdir -p "$work" "$seeds"
cd "$work"
echo "== work directory: $work"
# USHER=path runs that binary instead of building one (to compare builds).
if [[ -n ${USHER:-} ]]; then cp "$USHER" "$work/usher"; else go build -C "$root" -o "$work/usher" ./cmd/usher; fi
go build -C "$root" -o "$work/loadtest" ./internal/loadtest

mem() { # resident memory of process $1
  awk '/^RssAnon|^RssFile/ {printf "%s %d MB  ", $1, $2/1024} END {print ""}' "/proc/$1/status"
}
load() { echo "   (load average: $(cut -d' ' -f1-3 /proc/loadavg))"; }

for n in $users; do
  dir=$seeds/$n
  if [[ -n $pg ]]; then
    dir=$seeds/pg-$n
    sep='?'; [[ $pg == *\?* ]] && sep='&'
    db="$pg${sep}search_path=usher_scale_$n"
    if [[ ! -f $dir/tokens.txt ]]; then
      mkdir -p "$dir"
      psql "$pg" -qc "DROP SCHEMA IF EXISTS usher_scale_$n CASCADE; CREATE SCHEMA usher_scale_$n"
      ./loadtest seed -database "$db" -users "$n" -sessions "$n" -out "$dir"
    fi
  else
    if [[ ! -f $dir/bench.db ]]; then
      mkdir -p "$dir"
      ./loadtest seed -database "$dir/seed.db" -users "$n" -sessions "$n" -out "$dir"
      mv "$dir/seed.db" "$dir/bench.db"
    fi
    rm -f bench.db bench.db-*
    cp "$dir/bench.db" bench.db
    db=bench.db
  fi
  echo "== N = $n users, $n sessions"
  ./usher serve --database "$db" --addr 127.0.0.1:$port --log-level warn --debug-addr 127.0.0.1:$((port+1)) \
    --login-rate-limit=-1 --signup-rate-limit=-1 >"server-$n.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 300); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.1; done
  echo "   memory at start: $(mem $server)"

  echo "-- session check, GET /user/api/me, 64 connections, first pass"; load
  prof=
  if [[ ${PROFILE:-} == 1 ]]; then
    (sleep 3; curl -fs "$dbg/debug/pprof/profile?seconds=10" -o "cpu-$n.pprof") &
    prof=$!
  fi
  wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/me.lua" "$url" -- "$dir/tokens.txt"
  [[ -z $prof ]] || wait $prof
  echo "-- session check, second pass"; load
  wrk -t2 -c64 -d"$dur" --latency -s "$root/bench/me.lua" "$url" -- "$dir/tokens.txt"
  echo "   memory after the checks: $(mem $server)"
  echo "-- password log-in, POST /user/api/login, 16 connections"; load
  wrk -t2 -c16 -d"$dur" --latency -s "$root/bench/login.lua" "$url" -- "$n"
  echo "   memory after the log-ins: $(mem $server)"
  ls -l --block-size=M bench.db* 2>/dev/null | awk '{print "   " $5, $9}' || true
  kill $server
  wait $server 2>/dev/null || true
  trap - EXIT
done
