#!/usr/bin/env bash
# Proves the committed contract serves a real client: generates TypeScript types from
# openapi/openapi.json with openapi-typescript, type-checks a short e-portal program written against
# them (openapi-fetch), then runs it against a freshly started motcua on a temporary SQLite file.
# Installs its packages from the npm registry (exact versions, package-lock.json); exits non-zero on
# any failure. CONTRACT_DATABASE_URL runs the server on that (empty) database instead, e.g. a fresh
# PostgreSQL one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

if ! command -v npm >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Node.js and npm from the distribution's packages" >&2
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "Node.js (18 or newer) and npm are required" >&2
    exit 1
  fi
fi

echo "== installing the generator and client (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
echo "== generating the client types from openapi/openapi.json"
npx --no-install openapi-typescript "$root/openapi/openapi.json" --output src/schema.d.ts
echo "== type-checking the program against the contract"
rm -rf dist
npx --no-install tsc --project tsconfig.json

echo "== starting motcua"
(cd "$root" && cargo build --quiet --bin motcua)
binary="${CARGO_TARGET_DIR:-$root/target}/debug/motcua"
workdir="$(mktemp -d)"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
password="contract-check-$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")"
DATABASE_URL="${CONTRACT_DATABASE_URL:-$workdir/motcua.db}" \
  MOTCUA_BIND="127.0.0.1:$port" \
  MOTCUA_JWT_SECRET="$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")" \
  MOTCUA_ADMIN_PASSWORD="$password" \
  MOTCUA_LOG=warn \
  "$binary" serve >"$workdir/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "motcua did not start:" >&2
    cat "$workdir/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

echo "== running the generated client against http://127.0.0.1:$port"
if ! MOTCUA_URL="http://127.0.0.1:$port" MOTCUA_ADMIN_PASSWORD="$password" node dist/main.js; then
  echo "--- server log" >&2
  cat "$workdir/server.log" >&2
  exit 1
fi
