# Shared by bench/load.sh, bench/pg2.sh and bench/soak.sh (source it; it
# sets GOTOOLCHAIN and, through its functions, $work and the database's
# variables). Needs $root (the repository) and runs in the work directory.

# go1.26.8's standard library has known vulnerabilities; go.mod names go1.27.3.
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}

# enter_work [DIR] [NOTE] sets $work to DIR (a new temporary directory if
# empty), goes there and says so, with NOTE and the machine's load average.
enter_work() {
  work=${1:-$(mktemp -d)}
  mkdir -p "$work"
  cd "$work"
  echo "== work directory: $work; ${2:+$2; }load: $(uptime | sed 's/.*load average/load average/')"
}

# new_database PREFIX sets $pg (the server, $PG or
# postgres://postgres@127.0.0.1:5432), $db (a new name starting with
# PREFIX) and $dburl; create_database and drop_database make and remove it.
new_database() {
  pg=${PG:-postgres://postgres@127.0.0.1:5432}
  db=$1_$$_$(date +%s)
  dburl="$pg/$db?sslmode=disable"
}
create_database() { psql "$pg/postgres?sslmode=disable" -qc "CREATE DATABASE $db"; }
drop_database() { psql "$pg/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; }

# build builds usher and internal/loadtest into the current directory.
build() {
  go build -C "$root" -o "$PWD/usher" ./cmd/usher
  go build -C "$root" -o "$PWD/loadtest" ./internal/loadtest
}

# wait_up URL waits until URL/healthz answers (up to 20 s).
wait_up() {
  for _ in $(seq 200); do curl -fs "$1/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "server at $1 did not start" >&2
  return 1
}

# rss_mb PID prints the process's resident set in MB (from /proc), and its
# anonymous and file-backed parts (SQLite's memory map is file-backed).
rss_mb() {
  awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2}
       END {printf "%.0f MB (anonymous %.0f, file %.0f)", r/1024, a/1024, f/1024}' "/proc/$1/status"
}

# hash_window runs the configured hash alone on every CPU for $hashwin in
# a separate process and sets $last_hash to its rate per second.
hash_window() {
  local out
  out=$(./loadtest hashbench -duration "$hashwin")
  echo "$out"
  last_hash=$(sed -E 's|.*= ([0-9.]+)/s$|\1|' <<<"$out")
}

# wrk_rate FILE... prints the sum of the Requests/sec of wrk reports.
wrk_rate() { awk '/^Requests\/sec:/ {s += $2} END {printf "%.1f", s}' "$@"; }

# wrk_errors FILE... prints non-2xx answers and socket errors of wrk reports.
wrk_errors() {
  awk '/Non-2xx or 3xx responses:/ {n += $NF}
       /Socket errors:/ {gsub(/,/, ""); c += $4; r += $6; w += $8; t += $10}
       END {printf "%d non-2xx, socket errors: connect %d read %d write %d timeout %d", n, c, r, w, t}' "$@"
}

# wrk_p99 FILE prints the p99 latency of a wrk --latency report.
wrk_p99() { awk '$1 == "99%" {print $2}' "$1"; }

# ratio NAME RATE BEFORE AFTER prints RATE ÷ the mean of the hash windows
# BEFORE and AFTER.
ratio() {
  awk -v name="$1" -v r="$2" -v a="$3" -v b="$4" \
    'BEGIN {m = (a + b) / 2; printf "%s: %.1f/s ÷ standalone hash rate %.1f/s (mean of %.1f and %.1f) = %.2f\n", name, r, m, a, b, r / m}'
}

# proc_cost PID prints the process's CPU seconds (user + system) and its
# minor page faults so far, from /proc/PID/stat.
proc_cost() { awk '{printf "%.2f %d", ($14 + $15) / 100, $10}' "/proc/$1/stat"; }

# per_request NAME "BEFORE" "AFTER" COUNT prints the CPU and page faults
# per request between two proc_cost readings.
per_request() {
  awk -v name="$1" -v b="$2" -v a="$3" -v n="$4" 'BEGIN {split(b, x, " "); split(a, y, " ");
    printf "  server: %.2f CPU-ms and %.0f page faults per %s (%d done)\n", 1000 * (y[1] - x[1]) / n, (y[2] - x[2]) / n, name, n}'
}

# wrk_count FILE prints the requests a wrk report counts.
wrk_count() { awk '/requests in/ {print $1}' "$1"; }

# anon_peak PID FILE samples the process's anonymous resident memory every
# 50 ms until killed and keeps the largest reading (MB) in FILE.
anon_peak() {
  local peak=0 kb
  while kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null) && [ -n "$kb" ]; do
    [ "$kb" -gt "$peak" ] && peak=$kb && echo $((peak / 1024)) >"$2"
    sleep 0.05
  done
}
