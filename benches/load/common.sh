# Shared by run.sh and profile.sh (sourced, from the repository root, with $port set): builds the
# release binary, owns a scratch directory, and starts, stops and logs in to the server under test.
command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
# LOAD_BINARY measures another build (for example an earlier commit's) with these same scripts.
binary="${LOAD_BINARY:-target/release/motcua}"
[ -n "${LOAD_BINARY:-}" ] || cargo build --release --quiet --bin motcua
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT

password="load test administrator"
start_server() { # $1 = DATABASE_URL; the pool is LOAD_POOL_SIZE (10, the service's default)
  MOTCUA_BIND="127.0.0.1:$port" DATABASE_URL="$1" MOTCUA_LOG=warn MOTCUA_DB_POOL_SIZE="${LOAD_POOL_SIZE:-10}" \
    MOTCUA_JWT_SECRET="IMtEZ16/mI2udZtJ1mCsaaqBlpR0sln9iBbjLwjQ6P1t26bF" MOTCUA_JWT_TTL_SECONDS=3600 \
    MOTCUA_ADMIN_PASSWORD="$password" "$binary" serve > "$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() { kill "$server"; wait "$server" 2> /dev/null || true; server=""; }
token() { # $1 = username (admin), $2 = password (the administrator's)
  curl -fsS "http://127.0.0.1:$port/api/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"username\":\"${1:-admin}\",\"password\":\"${2:-$password}\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
# seed.py's administrator confined to the department's agency (on a server with agencies).
scoped_token() { token sct-admin "load test department administrator"; }
metrics_before() { curl -fsS "http://127.0.0.1:$port/metrics" > "$work/metrics-before.txt"; }
route_latency() { # the server's own histograms since metrics_before: which requests make up the tail
  curl -fsS "http://127.0.0.1:$port/metrics" > "$work/metrics.txt"
  python3 "$here/route_latency.py" "$work/metrics.txt" "$work/metrics-before.txt"
}
