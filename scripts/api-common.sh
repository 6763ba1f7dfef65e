# Shared by the api-*.sh scripts: starts `mge serve` on a fresh SQLite store (or $DATABASE_URL),
# creates a token and a plan, and stops the server on exit. Source it; it sets MGE, URL, TOKEN,
# PLAN_ID and WORK.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MGE="${MGE_BIN:-$ROOT/target/release/mge}"
if [[ ! -x "$MGE" ]]; then
    (cd "$ROOT" && cargo build --release --bin mge)
fi
PORT="${PORT:-18181}"
URL="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
DB="sqlite://$WORK/api.db?mode=rwc"
PG_DB=""
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
    # A fresh database on the server of DATABASE_URL, dropped on exit.
    PG_DB="mge_api_load_$$_$RANDOM"
    psql "$DATABASE_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
    DB="${DATABASE_URL%/*}/$PG_DB"
fi
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [[ -n "$PG_DB" ]]; then psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
TOKEN="$("$MGE" token create --user loadtest --database-url "$DB")"
"$MGE" serve --addr "127.0.0.1:$PORT" --plans-root "$ROOT/fixtures/plans" --time-scale 0 \
    --database-url "$DB" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -sf "$URL/health" >/dev/null && break
    sleep 0.1
done
curl -sf "$URL/health" >/dev/null || { cat "$WORK/serve.log"; exit 1; }
python3 - "$ROOT/fixtures/plans/textstats/plan.toml" >"$WORK/plan.json" <<'PY'
import json, sys, tomllib
plan = tomllib.load(open(sys.argv[1], "rb"))
plan["reference_dir"] = "textstats/reference"
print(json.dumps(plan))
PY
create_plan() {
    curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
        --data-binary @"$WORK/plan.json" "$URL/api/v1/masterplan" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["plan_id"])'
}
PLAN_ID="$(create_plan)"
