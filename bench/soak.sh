#!/usr/bin/env bash
# Soak test: two `usher serve` instances on one PostgreSQL database, mixed
# traffic for SOAK (10m by default for development; the real run is
# SOAK=1h), then one verdict line. Run from the repository root:
#
#   SOAK=1h bench/soak.sh [WORKDIR]
#
# `loadtest soak` plays WORKERS simulated users (8), each request going to
# the other instance than the last: sign-up with the confirmation link
# received over its own SMTP server, log-ins, session checks, log-outs,
# password resets over e-mail, and (every other user) log-ins with a TOTP
# second factor. The verdict is PASS when there was no 5xx and no
# unexpected answer, every link e-mail asked for arrived exactly once (and
# no other), both outboxes drained at the end, each instance's RSS at 100%
# of the run is within 15% (+5 MB) of its RSS at 25% (after warm-up; the means of
# the second and last quarters, sampled every second), and
# the goroutines idle at the end are no more than under load at 25% (+5);
# RSS, goroutines and the outbox depth come from each instance's
# metrics_addr. The script creates its own database on PG
# (postgres://postgres@127.0.0.1:5432) and drops it at the end.
set -euo pipefail
{ # (read whole before it runs, so that editing the file cannot disturb a run)
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
soak=${SOAK:-10m}
new_database usher_soak
p1=${PORT:-18280}; p2=$((p1+10)); smtp=127.0.0.1:$((p1-55))
enter_work "${1:-}" "database $db; SOAK=$soak"

build
create_database
s1=; s2=; drv=
cleanup() {
  kill $drv $s1 $s2 2>/dev/null || true
  wait $s1 $s2 2>/dev/null || true
  drop_database
}
trap cleanup EXIT
# The driver listens for e-mail first, then waits for both instances.
./loadtest soak -urls "http://127.0.0.1:$p1,http://127.0.0.1:$p2" \
  -metrics "http://127.0.0.1:$((p1+1))/metrics,http://127.0.0.1:$((p2+1))/metrics" \
  -smtp "$smtp" -duration "$soak" -workers "${WORKERS:-8}" | tee soak.txt &
drv=$!
sleep 1
key=$(head -c 32 /dev/urandom | base64)
start() { # PORT
  USHER_SECRET_KEY=$key USHER_SMTP_URL=smtp+insecure://$smtp ./usher serve --database "$dburl" \
    --addr 127.0.0.1:$1 --metrics-addr 127.0.0.1:$(($1+1)) --log-level warn \
    --login-rate-limit=-1 --signup-rate-limit=-1 --mail-rate-limit=-1 >"server-$1.log" 2>&1 &
}
start $p1; s1=$!
start $p2; s2=$!
status=0
wait $drv || status=$?
drv=
echo "== server logs: $(cat server-$p1.log server-$p2.log | wc -l) lines (warn and above); load: $(uptime | sed 's/.*load average/load average/')"
grep -h -m5 -E "level=(ERROR|WARN)" server-$p1.log server-$p2.log || true
exit $status
}
