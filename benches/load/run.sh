#!/usr/bin/env bash
# Load benchmark: motcua (release build) under a realistic mix driven by wrk, compared with what
# PostgreSQL itself does for the same SQL (pgbench, same concurrency); then the SQLite default.
# Prints requests/s, p50/p99 latency, non-2xx counts, the server's peak RSS and the ratios; the list
# queries and the mix once more as an administrator confined to one agency (scoped lists).
#
# Settings (environment): LOAD_SECONDS (20), LOAD_CONNECTIONS (64), LOAD_DOSSIERS (2000),
# LOAD_POOL_SIZE (10, the service's default MOTCUA_DB_POOL_SIZE),
# LOAD_POSTGRES_URL (postgres://postgres@127.0.0.1:5432, trust auth; a fresh database is created),
# LOAD_BINARY (measure that build instead of building target/release/motcua).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${LOAD_SECONDS:-20}"
connections="${LOAD_CONNECTIONS:-64}"
dossiers="${LOAD_DOSSIERS:-2000}"
pg="${LOAD_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
here="benches/load"

command -v pgbench > /dev/null || { echo "pgbench is required (Debian: postgresql-contrib or postgresql-client)" >&2; exit 1; }
port=18777
. "$here/common.sh"
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }
run_wrk() { # $1 = mix, $2 = label; prints a summary line and stores requests/s in $rps
  local out="$work/wrk-$1.txt"
  MIX="$1" MOTCUA_TOKEN="$tok" CODES_FILE="$work/codes.txt" WRK_THREADS="$connections" \
    wrk -t"$connections" -c"$connections" -d"${seconds}s" --latency -s "$here/mix.lua" "http://127.0.0.1:$port" > "$out"
  rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  local p50 p99 errors
  p50=$(awk '/^ +50%/ {print $2}' "$out"); p99=$(awk '/^ +99%/ {print $2}' "$out")
  errors=$(awk '/Non-2xx/ {print $5}' "$out"); errors="${errors:-0}"
  printf '%-28s %10s req/s   p50 %9s   p99 %9s   non-2xx %s\n' "$2" "$rps" "$p50" "$p99" "$errors"
}
run_pgbench() { # $1 = script, $2 = label; stores tps in $tps
  tps=$(pgbench -n -c "$connections" -j 2 -T "$seconds" -D n="$dossiers" -f "$here/$1" "$pg/$db" 2> /dev/null \
    | awk '/^tps/ {print $3}')
  printf '%-28s %10s tx/s\n' "$2" "$tps"
}

scoped_runs() { # the same lists, and the mix, as the department's confined administrator
  local admin_token="$tok"
  run_wrk list "lists, deployment-wide"
  tok=$(scoped_token)
  run_wrk list "lists, one agency's admin"
  run_wrk mixed "mix, one agency's admin"
  tok="$admin_token"
}

echo "motcua load benchmark: $connections connections, ${seconds}s per run, $dossiers seeded dossiers"
echo
echo "== PostgreSQL"
db="motcua_load_$(date +%s)"
psql -q "$pg/postgres" -c "CREATE DATABASE $db"
start_server "$pg/$db"
tok=$(token)
python3 "$here/seed.py" "http://127.0.0.1:$port" "$tok" "$dossiers" "$work/codes.txt"
# Fresh planner statistics, as autovacuum would have within a minute: the runs measure the steady
# state, not plans made while the tables looked empty.
psql -q "$pg/$db" -c ANALYZE
metrics_before
run_wrk mixed "mix 60/20/15/5"
route_latency
scoped_runs
run_wrk read "reads only"; motcua_read=$rps
run_wrk write "actions only"; motcua_write=$rps
echo "server peak RSS: $(peak_rss_mb) MB"
stop_server
run_pgbench pgbench_read.sql "pgbench, read SQL"; pg_read=$tps
run_pgbench pgbench_write.sql "pgbench, action SQL"; pg_write=$tps
python3 - "$motcua_read" "$pg_read" "$motcua_write" "$pg_write" <<'PY'
import sys
mr, pr, mw, pw = map(float, sys.argv[1:])
print(f"ratio motcua/pgbench: reads {mr / pr:.2f} (target >= 0.5), writes {mw / pw:.2f} (target >= 0.6)")
PY
psql -q "$pg/postgres" -c "DROP DATABASE $db WITH (FORCE)"

echo
echo "== SQLite (the embedded default)"
start_server "$work/motcua.db"
tok=$(token)
python3 "$here/seed.py" "http://127.0.0.1:$port" "$tok" "$dossiers" "$work/codes.txt"
metrics_before
run_wrk mixed "mix 60/20/15/5"
route_latency
scoped_runs
echo "server peak RSS: $(peak_rss_mb) MB"
stop_server
