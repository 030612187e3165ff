#!/usr/bin/env bash
# Bydel benchmark, run by hand (not in CI): the release server on PostgreSQL loaded with
# `bydel generate` data, driven by wrk over loopback, side by side with PostGraphile (v4) on the
# same database and with the same reads as hand-written SQL through pgbench (the ceiling);
# then the inbox and dashboard on the embedded SQLite with the demo data.
#
#   api/benches/run.sh                        # national-x10, 10 s per run, concurrency 1 8 32
#   BENCH_SCALE=national BENCH_SECONDS=5 api/benches/run.sh
#
# Settings (environment): BENCH_SCALE (national-x10), BENCH_SEED (1), BENCH_SECONDS (10),
# BENCH_CONCURRENCY ("1 8 32"), BENCH_PG (postgres://postgres@127.0.0.1:5432, trust auth),
# BENCH_DB (bydel_bench; generated when missing, BENCH_REGENERATE=1 to redo it),
# BENCH_SKIP_POSTGRAPHILE=1, BENCH_SKIP_SQLITE=1, BENCH_BIN (a prebuilt bydel: no build),
# BENCH_PG_SOCKET (/var/run/postgresql: Bydel, PostGraphile and pgbench all reach PostgreSQL
# through its Unix socket, as a same-host deployment should; empty = TCP for all three, where
# sqlx 0.9.0's missing TCP_NODELAY costs Bydel delayed-ACK stalls at p99).
# Output: a table per backend on stdout, raw wrk/pgbench output under target/bench/.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BENCH="$ROOT/api/benches"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"

SCALE="${BENCH_SCALE:-national-x10}"
SEED="${BENCH_SEED:-1}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 8 32}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
DB="${BENCH_DB:-bydel_bench}"
DB_URL="$PG/$DB"
SOCKET="${BENCH_PG_SOCKET-/var/run/postgresql}"
if [[ -n "$SOCKET" ]]; then
  SERVE_URL="postgres://postgres@localhost/$DB?host=$SOCKET"
  PGBENCH_HOST="$SOCKET"
else
  SERVE_URL="$DB_URL"
  PGBENCH_HOST=127.0.0.1
fi
BYDEL_PORT=18080
SQLITE_PORT=18081
PGL_PORT=15000
BIN="$(realpath "${BENCH_BIN:-$ROOT/target/release/bydel}")"
KEY="$OUT/signing-key.pem"
YEAR_FROM=2025-01-01
YEAR_TO=2025-12-31
MUNICIPALITY=101

# The per-client rate limit must not throttle the load generator: 0 turns it off.
export BYDEL_RATE_LIMIT=0

log() { echo "[bench] $*" >&2; }
psql_db() { psql "$DB_URL" -XAtq "$@"; }

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

install_tools() {
  command -v wrk >/dev/null || { log "installing wrk"; apt-get install -y wrk >/dev/null; }
  command -v pgbench >/dev/null || { log "pgbench (postgresql-client) is required"; exit 1; }
  command -v jq >/dev/null || { log "jq is required"; exit 1; }
  if [[ -z "${BENCH_SKIP_POSTGRAPHILE:-}" && ! -x "$OUT/postgraphile/node_modules/.bin/postgraphile" ]]; then
    log "installing postgraphile@4 into $OUT/postgraphile"
    mkdir -p "$OUT/postgraphile"
    (cd "$OUT/postgraphile" && npm init -y >/dev/null && npm install --no-audit --no-fund postgraphile@4 >/dev/null)
  fi
}

build() {
  if [[ -z "${BENCH_BIN:-}" ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release -q -p bydel)
  fi
  [[ -f "$KEY" ]] || "$BIN" key generate --output "$KEY" 2>/dev/null
  export BYDEL_SIGNING_KEY_FILE="$KEY"
}

prepare_database() {
  local exists
  exists=$(psql "$PG/postgres" -XAtqc "select 1 from pg_database where datname = '$DB'")
  if [[ -n "${BENCH_REGENERATE:-}" || -z "$exists" ]]; then
    log "generating $SCALE (seed $SEED) into $DB"
    psql "$PG/postgres" -Xqc "drop database if exists $DB" -c "create database $DB"
    time "$BIN" generate --scale "$SCALE" --seed "$SEED" --database-url "$DB_URL"
    psql_db -c "vacuum analyze"
  else
    log "reusing database $DB (BENCH_REGENERATE=1 to generate it again)"
  fi
}

# start_bydel URL PORT -> sets BYDEL_PID
start_bydel() {
  BYDEL_LOG=warn "$BIN" serve --listen "127.0.0.1:$2" --database-url "$1" "${@:3}" \
    >"$OUT/bydel-$2.log" 2>&1 &
  BYDEL_PID=$!
  PIDS+=("$BYDEL_PID")
  wait_for "http://127.0.0.1:$2/readyz"
}

wait_for() {
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  log "timed out waiting for $1"
  exit 1
}

token() { "$BIN" token issue --organisation "$2" --client bench --ttl 24h \
  --scopes "referrals:write participants:read projects:read mothers:read visits:read stats:read" \
  --database-url "$1" 2>/dev/null; }

gid() { printf '%s:%s' "$1" "$2" | base64 -w0 | tr '+/' '-_' | tr -d '='; }

# body FILE QUERY_FILE VARIABLES_JSON
body() { jq -n --rawfile q "$2" --argjson v "$3" '{query: $q, variables: $v}' >"$1"; }

statements() { curl -fs "http://127.0.0.1:$1/metrics" | awk '$1 == "bydel_db_statements_total" {print $2}'; }
rss_peak_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# check URL AUTH BODY -> 0 ok, 1 validation failure (skip), exits on other errors
check() {
  local response headers=(-H 'Content-Type: application/json')
  [[ -n "$2" ]] && headers+=(-H "Authorization: $2")
  response=$(curl -s "${headers[@]}" --data-binary "@$3" "$1")
  if jq -e '.errors | length > 0' <<<"$response" >/dev/null; then
    if jq -e '.data == null' <<<"$response" >/dev/null; then
      log "skipped: $(jq -c '.errors[0].message' <<<"$response")"
      return 1
    fi
    log "errors in $3: $(jq -c '.errors' <<<"$response" | head -c 400)"
    exit 1
  fi
  if jq -e '[.. | arrays] | length == 0' <<<"$response" >/dev/null; then
    log "warning: $3 returned no lists: $(head -c 200 <<<"$response")"
  fi
}

RESULTS=()
# record SYSTEM OP C RPS P50 P99 STATEMENTS RSS NOTE
record() { RESULTS+=("$(printf '%s|%s|%s|%s|%s|%s|%s|%s|%s' "$@")"); }

# wrk_run NAME PORT AUTH BODY C [SCRIPT] -> prints the BENCH line
wrk_run() {
  local threads=$(( $5 < 2 ? 1 : 2 ))
  BENCH_BODY="$4" BENCH_AUTHORIZATION="$3" BENCH_WRK_DIR="$BENCH/wrk" BENCH_THREADS="$threads" \
    wrk -t "$threads" -c "$5" -d "${SECONDS_PER_RUN}s" --timeout 10s \
    -s "$BENCH/wrk/${6:-post.lua}" "http://127.0.0.1:$2/graphql" | tee "$OUT/wrk-$1-$5.txt" | grep '^BENCH'
}

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# bydel_op SYSTEM PORT PID AUTH OP BODY [SCRIPT]
bydel_op() {
  local system=$1 port=$2 pid=$3 auth=$4 op=$5 body=$6 script=${7:-post.lua}
  for c in $CONCURRENCY; do
    local before after line requests
    before=$(statements "$port")
    line=$(wrk_run "$system-$op" "$port" "$auth" "$body" "$c" "$script")
    after=$(statements "$port")
    requests=$(field requests "$line")
    local note=""
    [[ $(field non2xx "$line") != 0 || $(field socket_errors "$line") != 0 ]] &&
      note="non-2xx $(field non2xx "$line"), socket errors $(field socket_errors "$line")"
    if [[ "$op" == transition ]]; then
      transition_check "$requests"
      note="$TRANSITIONS${note:+; $note}"
    fi
    record "$system" "$op" "$c" "$(field rps "$line")" "$(field p50_ms "$line")" \
      "$(field p99_ms "$line")" "$(awk -v a="$before" -v b="$after" -v n="$requests" \
      'BEGIN {printf "%.1f", n ? (b - a) / n : 0}')" "$(rss_peak_mb "$pid")" "$note"
    log "$system $op c=$c: $line"
  done
}

# The transition pool: in-progress and on-hold referrals addressed to the municipality.
write_pool() {
  psql_db -F' ' -c "select id, version, status from referral
      where receiver_organisation_id = '$ORG_UUID' and status in ('in_progress', 'on_hold')
      order by id" >"$OUT/pool.raw"
  while read -r id version status; do
    echo "$(gid Referral "$id") $version $status"
  done <"$OUT/pool.raw" >"$OUT/pool.txt"
  POOL_VERSIONS=$(psql_db -c "select sum(version) from referral where receiver_organisation_id = '$ORG_UUID' and status in ('in_progress', 'on_hold')")
}

# Every request should have moved one referral exactly once: compare the version sum.
transition_check() {
  local now moved
  now=$(psql_db -c "select sum(version) from referral where receiver_organisation_id = '$ORG_UUID' and status in ('in_progress', 'on_hold')")
  moved=$((now - POOL_VERSIONS))
  write_pool
  TRANSITIONS="$moved of $1 transitions applied"
}

pg_percentiles() { # pgbench per-transaction logs -> "p50 p99" in ms
  cat "$OUT"/pgbench_log.* | awk '{print $3}' | sort -n | awk '
    function at(q,  i) { i = int(NR * q); if (i < 1) i = 1; return a[i] / 1000 }
    {a[NR] = $1}
    END { if (NR == 0) print "- -"; else printf "%.2f %.2f", at(0.5), at(0.99) }'
}

# pgbench_op OP SQL_FILE VARS...
pgbench_op() {
  local op=$1 file=$2
  shift 2
  for c in $CONCURRENCY; do
    rm -f "$OUT"/pgbench_log.*
    local out
    out=$(cd "$OUT" && pgbench -n -h "$PGBENCH_HOST" -U postgres -f "$file" -c "$c" -j "$c" \
      -T "$SECONDS_PER_RUN" -l "$@" "$DB" 2>&1)
    echo "$out" >"$OUT/pgbench-$op-$c.txt"
    local tps
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
    read -r p50 p99 <<<"$(pg_percentiles)"
    record "raw SQL (pgbench)" "$op" "$c" "$tps" "$p50" "$p99" "1.0" "-" ""
    log "pgbench $op c=$c: tps=$tps p50=$p50 p99=$p99"
  done
  rm -f "$OUT"/pgbench_log.*
}

run_postgres() {
  start_bydel "$SERVE_URL" "$BYDEL_PORT"
  local pid=$BYDEL_PID
  local auth="Bearer $(token "$DB_URL" kommune-$MUNICIPALITY)"
  ORG_UUID=$(psql_db -c "select id from organisation where short_name = 'kommune-$MUNICIPALITY'")
  local referral_uuid project_uuid
  referral_uuid=$(psql_db -c "select id from referral where receiver_organisation_id = '$ORG_UUID'
      and status = 'in_progress' order by version desc, id limit 1")
  project_uuid=$(psql_db -c "select p.id from project p join visit v on v.project_id = p.id
      where p.municipality_code = $MUNICIPALITY group by p.id order by count(*) desc, p.id limit 1")
  local org_gid referral_gid project_gid
  org_gid=$(gid Organisation "$ORG_UUID")
  referral_gid=$(gid Referral "$referral_uuid")
  project_gid=$(gid Project "$project_uuid")

  body "$OUT/inbox.json" "$BENCH/bydel/inbox.graphql" "{\"receiver\": \"$org_gid\"}"
  body "$OUT/node.json" "$BENCH/bydel/node.graphql" "{\"id\": \"$referral_gid\"}"
  body "$OUT/dashboard.json" "$BENCH/bydel/dashboard.graphql" \
    "{\"from\": \"$YEAR_FROM\", \"to\": \"$YEAR_TO\", \"municipality\": $MUNICIPALITY}"
  body "$OUT/project.json" "$BENCH/bydel/project.graphql" "{\"id\": \"$project_gid\"}"

  local url="http://127.0.0.1:$BYDEL_PORT/graphql"
  for op in inbox node dashboard project; do
    if check "$url" "$auth" "$OUT/$op.json"; then
      bydel_op "Bydel (PostgreSQL)" "$BYDEL_PORT" "$pid" "$auth" "$op" "$OUT/$op.json"
    else
      record "Bydel (PostgreSQL)" "$op" "-" "-" "-" "-" "-" "-" "skipped: query does not validate"
    fi
  done
  write_pool
  log "transition pool: $(wc -l <"$OUT/pool.txt") referrals"
  bydel_op "Bydel (PostgreSQL)" "$BYDEL_PORT" "$pid" "$auth" transition "$OUT/pool.txt" transition.lua

  kill "$pid"

  # The same reads with the audit records of personal-data reads committed without waiting
  # for the WAL flush (--read-audit deferred): what durable read auditing costs.
  start_bydel "$SERVE_URL" "$BYDEL_PORT" --read-audit deferred
  pid=$BYDEL_PID
  for op in inbox node; do
    bydel_op "Bydel (PostgreSQL, deferred read audit)" "$BYDEL_PORT" "$pid" "$auth" "$op" "$OUT/$op.json"
  done
  kill "$pid"

  if [[ -z "${BENCH_SKIP_POSTGRAPHILE:-}" ]]; then
    run_postgraphile "$referral_uuid" "$project_uuid"
  fi

  pgbench_op inbox "$BENCH/sql/inbox.sql" -D "receiver=$ORG_UUID"
  pgbench_op node "$BENCH/sql/node.sql" -D "referral=$referral_uuid"
  pgbench_op dashboard "$BENCH/sql/dashboard.sql" -D "municipality=$MUNICIPALITY" \
    -D "from=$YEAR_FROM" -D "to=$YEAR_TO"
  pgbench_op dashboard-tallies "$BENCH/sql/dashboard_tallies.sql" -D "municipality=$MUNICIPALITY" \
    -D "from=$YEAR_FROM" -D "to=$YEAR_TO"
  pgbench_op project "$BENCH/sql/project.sql" -D "project=$project_uuid"
}

run_postgraphile() {
  local referral_uuid=$1 project_uuid=$2
  "$OUT/postgraphile/node_modules/.bin/postgraphile" -c "$SERVE_URL" -s public -n 127.0.0.1 \
    -p "$PGL_PORT" --simple-collections both --disable-query-log --dynamic-json \
    --cluster-workers 2 >"$OUT/postgraphile.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_for_graphql "http://127.0.0.1:$PGL_PORT/graphql"
  local node_id
  node_id=$(printf '["referrals","%s"]' "$referral_uuid" | base64 -w0)
  body "$OUT/pgl-inbox.json" "$BENCH/postgraphile/inbox.graphql" "{\"receiver\": \"$ORG_UUID\"}"
  body "$OUT/pgl-node.json" "$BENCH/postgraphile/node.graphql" "{\"id\": \"$node_id\"}"
  body "$OUT/pgl-project.json" "$BENCH/postgraphile/project.graphql" "{\"id\": \"$project_uuid\"}"
  for op in inbox node project; do
    check "http://127.0.0.1:$PGL_PORT/graphql" "" "$OUT/pgl-$op.json"
    for c in $CONCURRENCY; do
      local line
      line=$(wrk_run "postgraphile-$op" "$PGL_PORT" "" "$OUT/pgl-$op.json" "$c")
      record "PostGraphile 4" "$op" "$c" "$(field rps "$line")" "$(field p50_ms "$line")" \
        "$(field p99_ms "$line")" "-" "-" ""
      log "postgraphile $op c=$c: $line"
    done
  done
  record "PostGraphile 4" dashboard "-" "-" "-" "-" "-" "-" \
    "not compared: v4 has no grouped aggregates without plugins"
  kill "$pid"
}

wait_for_graphql() {
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null -H 'Content-Type: application/json' \
      --data '{"query":"{__typename}"}' "$1" && return 0
    sleep 0.2
  done
  log "timed out waiting for $1"
  exit 1
}

run_sqlite() {
  local dir="$OUT/sqlite"
  rm -rf "$dir" && mkdir -p "$dir"
  local url="sqlite://$dir/bydel.db?mode=rwc"
  (unset BYDEL_SIGNING_KEY_FILE; cd "$dir" && "$BIN" demo --database-url "$url" 2>/dev/null)
  local auth
  auth="Bearer $(unset BYDEL_SIGNING_KEY_FILE; token "$url" kommune-$MUNICIPALITY)"
  (unset BYDEL_SIGNING_KEY_FILE; start_bydel "$url" "$SQLITE_PORT"; echo "$BYDEL_PID" >"$dir/pid")
  local pid
  pid=$(cat "$dir/pid")
  PIDS+=("$pid")
  local org
  org=$(python3 -c 'import sqlite3, sys, uuid
v = sqlite3.connect(sys.argv[1]).execute(
    "select id from organisation where short_name = ?", (sys.argv[2],)).fetchone()[0]
print(uuid.UUID(bytes=v) if isinstance(v, bytes) else v)' \
    "$dir/bydel.db" "kommune-$MUNICIPALITY")
  org=$(gid Organisation "$org")
  body "$OUT/sqlite-inbox.json" "$BENCH/bydel/inbox.graphql" "{\"receiver\": \"$org\"}"
  body "$OUT/sqlite-dashboard.json" "$BENCH/bydel/dashboard.graphql" \
    "{\"from\": \"$YEAR_FROM\", \"to\": \"$YEAR_TO\", \"municipality\": $MUNICIPALITY}"
  for op in inbox dashboard; do
    if check "http://127.0.0.1:$SQLITE_PORT/graphql" "$auth" "$OUT/sqlite-$op.json"; then
      bydel_op "Bydel (SQLite, demo)" "$SQLITE_PORT" "$pid" "$auth" "$op" "$OUT/sqlite-$op.json"
    else
      record "Bydel (SQLite, demo)" "$op" "-" "-" "-" "-" "-" "-" "skipped: query does not validate"
    fi
  done
  kill "$pid"
}

report() {
  echo
  echo "Bydel benchmark $(date -u +%Y-%m-%d), $(nproc) cores, scale $SCALE, ${SECONDS_PER_RUN} s per run, PostgreSQL via ${SOCKET:-TCP 127.0.0.1}"
  echo
  echo "| system | operation | concurrency | requests/s | p50 ms | p99 ms | SQL statements/request | peak RSS MB | note |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for row in "${RESULTS[@]}"; do echo "| ${row//|/ | } |"; done
  echo
  echo "| operation | concurrency | Bydel / PostGraphile (throughput) | Bydel / PostGraphile (p99) | Bydel / raw SQL (throughput) |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for system in "Bydel (PostgreSQL)" "Bydel (PostgreSQL, deferred read audit)"; do
    for op in inbox node dashboard project; do
      for c in $CONCURRENCY; do
        local b g s
        b=$(lookup "$system" "$op" "$c")
        [[ -z "$b" ]] && continue
        g=$(lookup "PostGraphile 4" "$op" "$c")
        s=$(lookup "raw SQL (pgbench)" "$op" "$c")
        local label=$op
        [[ "$system" == *deferred* ]] && label="$op (deferred read audit)"
        echo "| $label | $c | $(ratio "$b" "$g" 4) | $(ratio "$b" "$g" 6) | $(ratio "$b" "$s" 4) |"
      done
    done
  done
}

lookup() {
  for row in "${RESULTS[@]}"; do
    IFS='|' read -r sys op c rest <<<"$row"
    [[ "$sys" == "$1" && "$op" == "$2" && "$c" == "$3" ]] && { echo "$row"; return 0; }
  done
  return 0
}

ratio() { # ratio ROW_A ROW_B COLUMN(1-based)
  [[ -z "$1" || -z "$2" ]] && { echo "-"; return; }
  local a b
  a=$(cut -d'|' -f"$3" <<<"$1")
  b=$(cut -d'|' -f"$3" <<<"$2")
  awk -v a="$a" -v b="$b" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

install_tools
build
prepare_database
run_postgres
[[ -z "${BENCH_SKIP_SQLITE:-}" ]] && run_sqlite
report | tee "$OUT/results.md"
