#!/usr/bin/env bash
# Instructions per request of several Bydel builds, back to back on the same database state:
# what run.sh's callgrind step does (10 warm-up requests, then N under callgrind), for node and
# inbox only and with no writes between the builds, so that their counts compare. Run it after
# api/benches/run.sh has generated the data and the request bodies under target/bench.
#
#   api/benches/callgrind_ab.sh /tmp/bydel.before target/release/bydel
#
# Settings: BENCH_DB (bydel_bench), BENCH_CALLGRIND_N (100), BENCH_PG_SOCKET (/var/run/postgresql).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/target/bench"
DB="${BENCH_DB:-bydel_bench}"
N="${BENCH_CALLGRIND_N:-100}"
SOCKET="${BENCH_PG_SOCKET-/var/run/postgresql}"
TCP_URL="postgres://postgres@127.0.0.1:5432/$DB"
SERVE_URL="postgres://postgres@localhost/$DB?host=$SOCKET"
PORT=18083
URL="http://127.0.0.1:$PORT"
export BYDEL_SIGNING_KEY_FILE="$OUT/signing-key.pem"
# As in run.sh: the longest retention, so the sweep erases nothing.
export BYDEL_RETENTION_PARTICIPANT_MONTHS=600 BYDEL_RETENTION_AUDIT_MONTHS=1200

[[ -f "$OUT/node.json" && -f "$OUT/inbox.json" ]] || { echo "run api/benches/run.sh first" >&2; exit 1; }

post() {
  curl -s -o /dev/null -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    --data-binary "@$OUT/$2.json" "$URL/graphql"
}

# callgrind_ctl -z|-d PID: valgrind acts when the program next runs code; poke it until it has.
callgrind_ctl() {
  callgrind_control "$1" "$2" >/dev/null 2>&1 &
  local ctl=$!
  while kill -0 "$ctl" 2>/dev/null; do
    curl -fs -o /dev/null "$URL/healthz" || true
    sleep 0.1
  done
}

echo "| build | operation | requests | instructions/request |"
echo "| --- | --- | ---: | ---: |"
for bin in "$@"; do
  token=$("$bin" token issue --organisation kommune-101 --client bench --ttl 24h \
    --scopes "referrals:write participants:read projects:read mothers:read visits:read stats:read" \
    --database-url "$TCP_URL" 2>/dev/null)
  dir=$(mktemp -d)
  BYDEL_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    "$bin" serve --listen "127.0.0.1:$PORT" --database-url "$SERVE_URL" >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do curl -fs -o /dev/null "$URL/readyz" && break; sleep 0.5; done
  for op in node inbox; do
    for _ in $(seq 1 10); do post "$token" "$op"; done
    callgrind_ctl -z "$pid"
    for _ in $(seq 1 "$N"); do post "$token" "$op"; done
    callgrind_ctl -d "$pid"
    # shellcheck disable=SC2012
    dump=$(ls -t "$dir"/callgrind.out.* | head -1)
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
    echo "| $bin | $op | $N | $(awk -v i="$ir" -v n="$N" 'BEGIN {printf "%.0f", i / n}') |"
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
