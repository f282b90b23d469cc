#!/usr/bin/env bash
# Where the time of the load benchmark goes: runs one wrk mix against PostgreSQL-backed motcua (as
# run.sh does) while `perf` samples every process and PostgreSQL's wait events are sampled from
# pg_stat_activity. Prints the CPU share of each program, the hottest symbols in motcua and in
# PostgreSQL, and what PostgreSQL backends were waiting for.
#
# Settings: MIX (mixed | read | write | receipt; default mixed), LOAD_SECONDS (20), LOAD_CONNECTIONS (64),
# LOAD_DOSSIERS (2000), LOAD_POOL_SIZE (10), LOAD_POSTGRES_URL (postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/../.."
mix="${MIX:-mixed}"
seconds="${LOAD_SECONDS:-20}"
connections="${LOAD_CONNECTIONS:-64}"
dossiers="${LOAD_DOSSIERS:-2000}"
pg="${LOAD_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
here="benches/load"

command -v perf > /dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }
port=18778
. "$here/common.sh"
db="motcua_profile_$(date +%s)"
psql -q "$pg/postgres" -c "CREATE DATABASE $db"
start_server "$pg/$db"
tok=$(token)
python3 "$here/seed.py" "http://127.0.0.1:$port" "$tok" "$dossiers" "$work/codes.txt"

# Wait events of the benchmark database's backends, sampled every 200 ms while wrk runs.
sample_waits() {
  local end=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$end" ]; do
    psql -qAtX "$pg/postgres" -c "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), state,
      regexp_replace(left(query, 70), '\s+', ' ', 'g')
      FROM pg_stat_activity WHERE datname = '$db' AND state <> 'idle' AND pid <> pg_backend_pid()"
    sleep 0.2
  done > "$work/waits.txt"
}
metrics_before
stat() { psql -qAtX "$pg/postgres" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$db'"; }
transactions_before=$(stat)
sample_waits &
sampler=$!
perf record -F 499 -a -g -o "$work/perf.data" -- \
  env MIX="$mix" MOTCUA_TOKEN="$tok" CODES_FILE="$work/codes.txt" WRK_THREADS="$connections" \
  wrk -t"$connections" -c"$connections" -d"${seconds}s" --latency -s "$here/mix.lua" "http://127.0.0.1:$port" \
  > "$work/wrk.txt" 2> /dev/null
wait "$sampler"
transactions=$(( $(stat) - transactions_before ))
route_latency > "$work/routes.txt"
server_pid=$server
stop_server
psql -q "$pg/postgres" -c "DROP DATABASE $db WITH (FORCE)"

echo "== wrk ($mix, $connections connections, ${seconds}s)"
grep -E 'Requests/sec|^ +(50|99)%|Non-2xx' "$work/wrk.txt"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
# Every statement outside BEGIN…COMMIT is a transaction of its own, so this counts round trips that
# each cost PostgreSQL a snapshot and a commit.
echo "PostgreSQL transactions per request: $(python3 -c "print(round($transactions / $requests, 2))") ($transactions for $requests requests)"
echo
echo "== the server's own latency by route (its /metrics histograms)"
cat "$work/routes.txt"
echo
# The first $1 sample lines of `perf report` with the rest of its arguments, trimmed to fit.
report() {
  local lines=$1; shift
  { perf report -i "$work/perf.data" --no-children --stdio "$@" 2> /dev/null || true; } \
    | grep -E "^ +[0-9]" | sed "s/  *$//; s/  *- *- *$//" | cut -c1-110 | head -n "$lines" || true
}
echo "== CPU samples by program"
report 8 --sort comm
echo
echo "== hottest symbols in motcua (self time, share of all samples)"
report 25 --pid "$server_pid" --sort dso,symbol
echo
echo "== hottest symbols in PostgreSQL"
report 15 --comm postgres --sort dso,symbol
echo
echo "== PostgreSQL backends: wait event, state and statement of the busy ones (samples)"
sort "$work/waits.txt" | uniq -c | sort -rn | head -20 || true
