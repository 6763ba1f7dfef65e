#!/usr/bin/env bash
# Load test of the HTTP API with wrk (Debian package `wrk`) on 127.0.0.1: GET a plan, and POST the
# unified execute endpoint (each request creates nothing: after the first run the plan answers
# 409, so this measures the request path, not executions). Prints requests/s and latency
# percentiles at 64 connections. SQLite by default; DATABASE_URL=postgres://... for Postgres.
# The machine's core count and load are printed first: figures from a shared, loaded machine are
# not comparable with an idle one. Usage: scripts/api-load.sh [seconds]
source "$(dirname "$0")/api-common.sh"
DURATION="${1:-10}"
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }
echo "== backend: ${DATABASE_URL:-sqlite}; $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# One request first: the plan's body is read once, later requests are served from the cache.
curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/masterplan/$PLAN_ID" >/dev/null
echo "== GET /api/v1/masterplan/{id}, 64 connections, ${DURATION}s"
wrk -t2 -c64 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" \
    "$URL/api/v1/masterplan/$PLAN_ID"
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"plan_id":"$PLAN_ID","mode":"mvp"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
echo "== POST /api/masterplan/execute, 64 connections, ${DURATION}s (first 202, then 409)"
wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/post.lua" "$URL/api/masterplan/execute"
