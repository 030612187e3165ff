#!/usr/bin/env bash
# Bydel benchmark, run by hand (not in CI): the release server on PostgreSQL loaded with
# `bydel generate` data, driven by wrk over loopback, side by side with PostGraphile 4 and 5 on
# the same database — each once as the superuser (no row rules, no audit) and once as a
# municipality under row-level security with read auditing (api/benches/rls/policies.sql: the
# rules Bydel applies) — and with the same reads as hand-written SQL through pgbench (the
# ceiling); then the inbox and dashboard on the embedded SQLite with the demo data; then,
# untimed, Bydel's instructions per request under callgrind.
#
#   api/benches/run.sh                        # national-x10, 10 s per run, concurrency 1 8 32
#   BENCH_SCALE=national BENCH_SECONDS=5 api/benches/run.sh
#   BENCH_SECONDS=2 BENCH_CONCURRENCY="1 8" BENCH_SKIP_SQLITE=1 BENCH_CALLGRIND_N=20 \
#     BENCH_BIN=target/release/bydel api/benches/run.sh         # a smoke run
#
# Settings (environment): BENCH_SCALE (national-x10), BENCH_SEED (1), BENCH_SECONDS (10),
# BENCH_CONCURRENCY ("1 8 32"), BENCH_PG (postgres://postgres@127.0.0.1:5432, trust auth),
# BENCH_DB (bydel_bench; generated when missing, BENCH_REGENERATE=1 to redo it),
# BENCH_SKIP_POSTGRAPHILE=1 (no PostGraphile at all), BENCH_SKIP_PG5=1 (no PostGraphile 5),
# BENCH_SKIP_RLS=1 (no RLS peers; the policies are then not applied), BENCH_SKIP_SQLITE=1,
# BENCH_SKIP_CALLGRIND=1 (no instruction counts), BENCH_CALLGRIND_N (200 requests per
# operation under callgrind, after 10 warm-up requests each),
# BENCH_JWT_SECRET (the HS256 secret of the RLS peers' tokens; a fixed bench value),
# BENCH_BIN (a prebuilt bydel: no build),
# BENCH_PG_SOCKET (/var/run/postgresql: Bydel, PostGraphile and pgbench all reach PostgreSQL
# through its Unix socket, as a same-host deployment should; empty = TCP for all three, where
# sqlx 0.9.0's missing TCP_NODELAY costs Bydel delayed-ACK stalls at p99).
# Needs wrk, pgbench, jq, curl, npm (PostGraphile 4 on the system node; PostGraphile 5 on Node
# 22, which npm installs under target/bench/node22), python3 (signs the RLS peers' JWTs) and
# valgrind (callgrind_control) unless skipped.
#
# CPU per request (columns "server CPU" and "PostgreSQL CPU", ms per request): utime + stime
# from /proc/PID/stat before and after each wrk run, over the server's process tree (Bydel's
# one process; PostGraphile's cluster master and workers) and over every process of the
# PostgreSQL user `postgres` (backends, background workers, and the postmaster's reaped
# children through its cutime/cstime), divided by the requests served. PostgreSQL's figure
# counts whatever else the cluster does meanwhile: run on a quiet machine. For pgbench the
# server column is empty (the client is pgbench itself).
# Output: markdown tables on stdout and in target/bench/results.md, raw wrk/pgbench output and
# the peers' responses under target/bench/.
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
  RLS_URL="postgres://bench_postgraphile@localhost/$DB?host=$SOCKET"
  PGBENCH_HOST="$SOCKET"
else
  SERVE_URL="$DB_URL"
  RLS_URL="${DB_URL/:\/\/postgres@/://bench_postgraphile@}"
  PGBENCH_HOST=127.0.0.1
fi
BYDEL_PORT=18080
SQLITE_PORT=18081
CALLGRIND_PORT=18082
PGL_PORT=15000
PG5_PORT=15001
PGL_RLS_PORT=15002
PG5_RLS_PORT=15003
NODE22="$OUT/node22/node_modules/node/bin/node"
JWT_SECRET="${BENCH_JWT_SECRET:-bydel-bench-postgraphile-rls-secret-0123456789}"
CALLGRIND_N="${BENCH_CALLGRIND_N:-200}"
CLK_TCK=$(getconf CLK_TCK)
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
  if [[ -z "${BENCH_SKIP_POSTGRAPHILE:-}${BENCH_SKIP_PG5:-}" ]]; then
    # PostGraphile 5 needs Node 22; the system node may be older.
    if [[ ! -x "$NODE22" ]]; then
      log "installing node@22 into $OUT/node22"
      mkdir -p "$OUT/node22"
      (cd "$OUT/node22" && npm init -y >/dev/null && npm install --no-audit --no-fund node@22 >/dev/null)
    fi
    if [[ ! -d "$OUT/postgraphile5/node_modules/postgraphile" ]]; then
      log "installing postgraphile@5 into $OUT/postgraphile5"
      mkdir -p "$OUT/postgraphile5"
      (cd "$OUT/postgraphile5" && npm init -y >/dev/null &&
        npm install --no-audit --no-fund postgraphile@5 >/dev/null 2>&1)
    fi
    # The config and server script resolve postgraphile from their own directory.
    cp "$BENCH/postgraphile5/graphile.config.mjs" "$BENCH/postgraphile5/serve.mjs" "$OUT/postgraphile5/"
  fi
  if [[ -z "${BENCH_SKIP_CALLGRIND:-}" ]] && ! command -v callgrind_control >/dev/null; then
    log "valgrind (callgrind) is required, or set BENCH_SKIP_CALLGRIND=1"
    exit 1
  fi
}

build() {
  if [[ -z "${BENCH_BIN:-}" ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release -q -p bydel)
  fi
  [[ -f "$KEY" ]] || "$BIN" key generate --output "$KEY" 2>/dev/null
  export BYDEL_SIGNING_KEY_FILE="$KEY"
  # The generated women are years old: with the default retention the sweep would erase a
  # thousand of them every five minutes while the runs are timed (changing the data the peers
  # are compared on, and counted in Bydel's CPU and instructions). The longest periods keep
  # every row and leave the sweep nothing to do.
  export BYDEL_RETENTION_PARTICIPANT_MONTHS=600 BYDEL_RETENTION_AUDIT_MONTHS=1200
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
# The peak RSS of a process tree (PostGraphile's cluster), summed over its processes.
tree_rss_peak_mb() {
  local p total=0
  for p in $(proc_tree "$1"); do
    total=$((total + $(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  awk -v k="$total" 'BEGIN {printf "%.0f", k / 1024}'
}

# proc_tree PID -> PID and all its descendants
proc_tree() {
  local p
  for p in "$@"; do
    echo "$p"
    # shellcheck disable=SC2046
    proc_tree $(pgrep -P "$p" || true)
  done
}

# cpu_ticks PID... -> utime + stime + cutime + cstime (clock ticks) summed over the processes
cpu_ticks() {
  local p total=0 t
  for p in "$@"; do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

# Every process of the PostgreSQL user: backends, background processes, and through the
# postmaster's cutime/cstime the backends that exited meanwhile.
pg_ticks() {
  # shellcheck disable=SC2046
  cpu_ticks $(pgrep -u postgres -x postgres || true)
}

# cpu_start SERVER_PID; ... ; cpu_end REQUESTS -> SERVER_CPU_MS, PG_CPU_MS (ms per request)
cpu_start() {
  CPU_SERVER_PID=$1
  # shellcheck disable=SC2046
  CPU_SERVER_0=$([[ -n "$1" ]] && cpu_ticks $(proc_tree "$1") || echo 0)
  CPU_PG_0=$(pg_ticks)
}
cpu_end() {
  local server pg
  # shellcheck disable=SC2046
  server=$([[ -n "$CPU_SERVER_PID" ]] && cpu_ticks $(proc_tree "$CPU_SERVER_PID") || echo 0)
  pg=$(pg_ticks)
  per_request() {
    awk -v d="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN {if (n > 0) printf "%.2f", d * 1000 / hz / n; else print "-"}'
  }
  if [[ -n "$CPU_SERVER_PID" ]]; then
    SERVER_CPU_MS=$(per_request $((server - CPU_SERVER_0)) "$1")
  else
    SERVER_CPU_MS="-"
  fi
  PG_CPU_MS=$(per_request $((pg - CPU_PG_0)) "$1")
}

# check URL AUTH BODY -> 0 ok, 1 validation failure (skip), exits on other errors
check() {
  local response headers=(-H 'Content-Type: application/json')
  [[ -n "$2" ]] && headers+=(-H "Authorization: $2")
  response=$(curl -s "${headers[@]}" --data-binary "@$3" "$1")
  printf '%s\n' "$response" >"${3%.json}.response.json"
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
# record SYSTEM OP C RPS P50 P99 STATEMENTS RSS SERVER_CPU_MS PG_CPU_MS NOTE
record() { RESULTS+=("$(printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s' "$@")"); }

# wrk_run NAME PORT AUTH BODY C [SCRIPT] -> prints the BENCH line
wrk_run() {
  local threads=$(( $5 < 2 ? 1 : 2 ))
  BENCH_BODY="$4" BENCH_AUTHORIZATION="$3" BENCH_WRK_DIR="$BENCH/wrk" BENCH_THREADS="$threads" \
    wrk -t "$threads" -c "$5" -d "${SECONDS_PER_RUN}s" --timeout 10s \
    -s "$BENCH/wrk/${6:-post.lua}" "http://127.0.0.1:$2/graphql" | tee "$OUT/wrk-$1-$5.txt" | grep '^BENCH'
}

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# load_op SYSTEM PORT PID AUTH OP BODY [SCRIPT]: wrk at each concurrency, with the CPU of the
# server's process tree and of PostgreSQL; SQL statements and peak RSS for Bydel.
load_op() {
  local system=$1 port=$2 pid=$3 auth=$4 op=$5 body=$6 script=${7:-post.lua}
  local bydel=""
  [[ "$system" == Bydel* ]] && bydel=1
  for c in $CONCURRENCY; do
    local before=0 after=0 line requests statements rss
    [[ -n "$bydel" ]] && before=$(statements "$port")
    cpu_start "$pid"
    line=$(wrk_run "$(tr -c 'A-Za-z0-9\n' - <<<"$system" | tr -s -)$op" "$port" "$auth" "$body" "$c" "$script")
    requests=$(field requests "$line")
    cpu_end "$requests"
    [[ -n "$bydel" ]] && after=$(statements "$port")
    local note=""
    [[ $(field non2xx "$line") != 0 || $(field socket_errors "$line") != 0 ]] &&
      note="non-2xx $(field non2xx "$line"), socket errors $(field socket_errors "$line")"
    if [[ "$op" == transition ]]; then
      transition_check "$requests"
      note="$TRANSITIONS${note:+; $note}"
    fi
    if [[ -n "$bydel" ]]; then
      statements=$(awk -v a="$before" -v b="$after" -v n="$requests" \
        'BEGIN {printf "%.1f", n ? (b - a) / n : 0}')
      rss=$(rss_peak_mb "$pid")
    else
      statements="-"
      rss=$(tree_rss_peak_mb "$pid")
    fi
    record "$system" "$op" "$c" "$(field rps "$line")" "$(field p50_ms "$line")" \
      "$(field p99_ms "$line")" "$statements" "$rss" "$SERVER_CPU_MS" "$PG_CPU_MS" "$note"
    log "$system $op c=$c: $line cpu ms/request: server $SERVER_CPU_MS, PostgreSQL $PG_CPU_MS"
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
    cpu_start ""
    out=$(cd "$OUT" && pgbench -n -h "$PGBENCH_HOST" -U postgres -f "$file" -c "$c" -j "$c" \
      -T "$SECONDS_PER_RUN" -l "$@" "$DB" 2>&1)
    echo "$out" >"$OUT/pgbench-$op-$c.txt"
    local tps
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
    cpu_end "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")"
    read -r p50 p99 <<<"$(pg_percentiles)"
    record "raw SQL (pgbench)" "$op" "$c" "$(printf '%.1f' "$tps")" "$p50" "$p99" "1.0" "-" \
      "-" "$PG_CPU_MS" ""
    log "pgbench $op c=$c: tps=$tps p50=$p50 p99=$p99"
  done
  rm -f "$OUT"/pgbench_log.*
}

run_postgres() {
  start_bydel "$SERVE_URL" "$BYDEL_PORT"
  local pid=$BYDEL_PID
  local auth
  auth="Bearer $(token "$DB_URL" kommune-$MUNICIPALITY)"
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
  # The audit rows one inbox request writes: the RLS peers must write as many.
  local audit_before
  audit_before=$(psql_db -c "select count(*) from audit_event where action = 'read'")
  for op in inbox node dashboard project; do
    if check "$url" "$auth" "$OUT/$op.json"; then
      [[ $op == inbox ]] && BYDEL_INBOX_AUDIT=$(( $(psql_db -c "select count(*) from audit_event where action = 'read'") - audit_before ))
      load_op "Bydel (PostgreSQL)" "$BYDEL_PORT" "$pid" "$auth" "$op" "$OUT/$op.json"
    else
      record "Bydel (PostgreSQL)" "$op" "-" "-" "-" "-" "-" "-" "-" "-" "skipped: query does not validate"
    fi
  done
  log "one Bydel inbox request wrote ${BYDEL_INBOX_AUDIT:-?} audit rows"
  write_pool
  log "transition pool: $(wc -l <"$OUT/pool.txt") referrals"
  load_op "Bydel (PostgreSQL)" "$BYDEL_PORT" "$pid" "$auth" transition "$OUT/pool.txt" transition.lua

  kill "$pid"

  # The same reads with the audit records of personal-data reads committed without waiting
  # for the WAL flush (--read-audit deferred): what durable read auditing costs.
  start_bydel "$SERVE_URL" "$BYDEL_PORT" --read-audit deferred
  pid=$BYDEL_PID
  for op in inbox node; do
    load_op "Bydel (PostgreSQL, deferred read audit)" "$BYDEL_PORT" "$pid" "$auth" "$op" "$OUT/$op.json"
  done
  kill "$pid"

  if [[ -z "${BENCH_SKIP_POSTGRAPHILE:-}" ]]; then
    if [[ -z "${BENCH_SKIP_RLS:-}" ]]; then
      log "applying api/benches/rls/policies.sql"
      psql "$DB_URL" -Xq -v ON_ERROR_STOP=1 -f "$BENCH/rls/policies.sql"
      RLS_AUTH="Bearer $(python3 "$BENCH/rls/jwt.py" "$JWT_SECRET" "$ORG_UUID" "$MUNICIPALITY")"
      foreign_rows
    fi
    run_pg4 "$referral_uuid" "$project_uuid"
    [[ -z "${BENCH_SKIP_PG5:-}" ]] && run_pg5 "$referral_uuid" "$project_uuid"
  fi

  pgbench_op inbox "$BENCH/sql/inbox.sql" -D "receiver=$ORG_UUID"
  pgbench_op node "$BENCH/sql/node.sql" -D "referral=$referral_uuid"
  pgbench_op dashboard "$BENCH/sql/dashboard.sql" -D "municipality=$MUNICIPALITY" \
    -D "from=$YEAR_FROM" -D "to=$YEAR_TO"
  pgbench_op dashboard-tallies "$BENCH/sql/dashboard_tallies.sql" -D "municipality=$MUNICIPALITY" \
    -D "from=$YEAR_FROM" -D "to=$YEAR_TO"
  pgbench_op project "$BENCH/sql/project.sql" -D "project=$project_uuid"

  [[ -z "${BENCH_SKIP_CALLGRIND:-}" ]] && run_callgrind
  return 0
}

# Rows kommune-101 must not see (Bydel's rule 2), for the RLS peers' negative checks: a
# referral it neither requested, receives nor has in its pool; another municipality's
# organisation (whose inbox it must see empty); a project it neither hosts nor partners in.
foreign_rows() {
  FOREIGN_REFERRAL=$(psql_db -c "select id from referral
      where requester_organisation_id <> '$ORG_UUID' and requested_at is not null
        and receiver_organisation_id is not null and receiver_organisation_id <> '$ORG_UUID'
        and (pool_municipality_code is null or pool_municipality_code <> $MUNICIPALITY)
      order by id limit 1")
  FOREIGN_ORG=$(psql_db -c "select o.id from organisation o
      where o.kind = 'municipality' and o.id <> '$ORG_UUID'
        and exists (select 1 from referral r where r.receiver_organisation_id = o.id
                      and r.status = 'requested'
                      and r.requester_organisation_id <> '$ORG_UUID'
                      and (r.pool_municipality_code is null or r.pool_municipality_code <> $MUNICIPALITY))
      order by o.id limit 1")
  FOREIGN_PROJECT=$(psql_db -c "select p.id from project p where p.municipality_code <> $MUNICIPALITY
      and not exists (select 1 from project_partner pp where pp.project_id = p.id
                        and pp.organisation_id = '$ORG_UUID')
      order by p.id limit 1")
  log "foreign rows: referral $FOREIGN_REFERRAL, organisation $FOREIGN_ORG, project $FOREIGN_PROJECT"
}

# post URL AUTH BODY_FILE -> the response
post() {
  local headers=(-H 'Content-Type: application/json')
  [[ -n "$2" ]] && headers+=(-H "Authorization: $2")
  curl -s "${headers[@]}" --data-binary "@$3" "$1"
}

# What the comparison looks at, the same shape for Bydel and PostGraphile: the fields that do
# not change during the run (the transitions move the node referral's status and version).
# Sorted where the two order ties differently.
declare -A NORM
NORM[bydel-inbox]='[.data.referrals.edges[].node | {p: .participant.pseudonym, f: .participant.firstName, b: .participant.birthYear, d: .participant.district, l: .participant.preferredLanguage, n: .note, v: .version, m: .mother.firstName, pr: .project.name, e: (.events | length)}] | sort_by(.p, .v, .e)'
NORM[pgl-inbox]='[.data.allReferralsList[] | {p: .participantByParticipantId.pseudonym, f: .participantByParticipantId.firstName, b: .participantByParticipantId.birthYear, d: .participantByParticipantId.district, l: .participantByParticipantId.preferredLanguage, n: .note, v: .version, m: .motherByMotherId.firstName, pr: .projectByProjectId.name, e: (.referralEventsByReferralIdList | length)}] | sort_by(.p, .v, .e)'
NORM[bydel-node]='.data.node | {p: .participant.pseudonym, f: .participant.firstName, b: .participant.birthYear, d: .participant.district, l: .participant.preferredLanguage, n: .note, m: .mother.firstName, pr: .project.name}'
NORM[pgl-node]='.data.referral | {p: .participantByParticipantId.pseudonym, f: .participantByParticipantId.firstName, b: .participantByParticipantId.birthYear, d: .participantByParticipantId.district, l: .participantByParticipantId.preferredLanguage, n: .note, m: .motherByMotherId.firstName, pr: .projectByProjectId.name}'
NORM[bydel-project]='{n: .data.project.name, s: .data.project.startedOn, m: ([.data.project.mothers[] | [.firstName, .lastName, .joinedOn]] | sort), v: [.data.visits.edges[].node.visitedOn]}'
NORM[pgl-project]='{n: .data.projectById.name, s: .data.projectById.startedOn, m: ([.data.projectById.mothersByProjectIdList[] | [.firstName, .lastName, .joinedOn]] | sort), v: [.data.projectById.visitsByProjectIdList[].visitedOn]}'

# same_as_bydel SYSTEM OP PEER_RESPONSE: the peer returned what Bydel returned for kommune-101
same_as_bydel() {
  local a b
  a=$(jq -S "${NORM[bydel-$2]}" "$OUT/$2.response.json")
  b=$(jq -S "${NORM[pgl-$2]}" "$3")
  if [[ "$a" != "$b" ]]; then
    log "$1 $2: not what Bydel returned for kommune-$MUNICIPALITY:"
    diff <(echo "$a") <(echo "$b") | head -20 >&2
    exit 1
  fi
  log "$1 $2: same rows and personal fields as Bydel ($(jq 'if type == "array" then length else 1 end' <<<"$b") items; $(jq -c '.m | length' <<<"$b" 2>/dev/null || echo -) mothers)"
}

# shellcheck disable=SC2016 # GraphQL variables, not shell ones
# pgl_node_id URL AUTH UUID TAG -> the referral's nodeId as this PostGraphile spells it
pgl_node_id() {
  local query='query($id: UUID!) { allReferralsList(condition: {id: $id}) { nodeId } }'
  # v5 names the column `rowId` and the node id `id`.
  [[ $4 == pg5* ]] && query='query($id: UUID!) { allReferralsList(condition: {rowId: $id}) { nodeId: id } }'
  jq -n --arg q "$query" --arg id "$3" '{query: $q, variables: {id: $id}}' >"$OUT/node-id.json"
  post "$1" "$2" "$OUT/node-id.json" | jq -er '.data.allReferralsList[0].nodeId'
}

# rls_checks SYSTEM URL QUERY_DIR TAG OWN_NODE_ID: nothing of another municipality, and each
# request that reads personal data leaves at least as many audit rows as Bydel's (Bydel writes one
# per participant read, the view one per row: two referrals about one woman are two rows there)
rls_checks() {
  local system=$1 url=$2 dir=$3 tag=$4 out node_id before after
  # The foreign referral's nodeId: the peer's own spelling (base64 of a JSON array naming
  # the type and the key), with the other referral's key.
  node_id=$(base64 -d <<<"$5" | sed "s/[0-9a-f]\{8\}-[0-9a-f-]\{27\}/$FOREIGN_REFERRAL/" | base64 -w0)
  body "$OUT/$tag-foreign-node.json" "$dir/node.graphql" "{\"id\": \"$node_id\"}"
  out=$(post "$url" "$RLS_AUTH" "$OUT/$tag-foreign-node.json")
  jq -e '.data.referral == null' <<<"$out" >/dev/null ||
    { log "$system shows another municipality's referral: $(head -c 300 <<<"$out")"; exit 1; }
  body "$OUT/$tag-foreign-inbox.json" "$dir/inbox.graphql" "{\"receiver\": \"$FOREIGN_ORG\"}"
  out=$(post "$url" "$RLS_AUTH" "$OUT/$tag-foreign-inbox.json")
  jq -e '.data.allReferralsList == []' <<<"$out" >/dev/null ||
    { log "$system shows another municipality's inbox: $(head -c 300 <<<"$out")"; exit 1; }
  body "$OUT/$tag-foreign-project.json" "$dir/project.graphql" "{\"id\": \"$FOREIGN_PROJECT\"}"
  out=$(post "$url" "$RLS_AUTH" "$OUT/$tag-foreign-project.json")
  jq -e '.data.projectById == null' <<<"$out" >/dev/null ||
    { log "$system shows another municipality's project: $(head -c 300 <<<"$out")"; exit 1; }
  # Without a token: nothing at all.
  out=$(post "$url" "" "$OUT/$tag-inbox.json")
  jq -e '(.data.allReferralsList // []) == []' <<<"$out" >/dev/null ||
    { log "$system shows the inbox without a token: $(head -c 300 <<<"$out")"; exit 1; }
  before=$(psql_db -c "select count(*) from bench_rls.read_audit")
  post "$url" "$RLS_AUTH" "$OUT/$tag-inbox.json" >/dev/null
  after=$(psql_db -c "select count(*) from bench_rls.read_audit")
  if [[ -n "${BYDEL_INBOX_AUDIT:-}" && $((after - before)) -lt "$BYDEL_INBOX_AUDIT" ]]; then
    log "$system: an inbox request wrote $((after - before)) audit rows, Bydel $BYDEL_INBOX_AUDIT"
    exit 1
  fi
  log "$system: nothing of another municipality or without a token; an inbox request audits $((after - before)) reads (Bydel ${BYDEL_INBOX_AUDIT:-?})"
}

# pgl_peer SYSTEM PORT PID QUERY_DIR AUTH REFERRAL_UUID PROJECT_UUID TAG
pgl_peer() {
  local system=$1 port=$2 pid=$3 dir=$4 auth=$5 referral_uuid=$6 project_uuid=$7 tag=$8
  local url="http://127.0.0.1:$port/graphql" node_id
  node_id=$(pgl_node_id "$url" "$auth" "$referral_uuid" "$tag") ||
    { log "$system: no nodeId for referral $referral_uuid"; exit 1; }
  body "$OUT/$tag-inbox.json" "$dir/inbox.graphql" "{\"receiver\": \"$ORG_UUID\"}"
  body "$OUT/$tag-node.json" "$dir/node.graphql" "{\"id\": \"$node_id\"}"
  body "$OUT/$tag-project.json" "$dir/project.graphql" "{\"id\": \"$project_uuid\"}"
  for op in inbox node project; do
    check "$url" "$auth" "$OUT/$tag-$op.json"
    same_as_bydel "$system" "$op" "$OUT/$tag-$op.response.json"
  done
  [[ -n "$auth" ]] && rls_checks "$system" "$url" "$dir" "$tag" "$node_id"
  for op in inbox node project; do
    load_op "$system" "$port" "$pid" "$auth" "$op" "$OUT/$tag-$op.json"
  done
  record "$system" dashboard "-" "-" "-" "-" "-" "-" "-" "-" \
    "not compared: no grouped aggregates without plugins"
}

run_pg4() {
  local bin="$OUT/postgraphile/node_modules/.bin/postgraphile"
  local common=(-n 127.0.0.1 --simple-collections both --disable-query-log --dynamic-json
    --cluster-workers 2)
  "$bin" -c "$SERVE_URL" -s public -p "$PGL_PORT" "${common[@]}" >"$OUT/postgraphile.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_for_graphql "http://127.0.0.1:$PGL_PORT/graphql"
  pgl_peer "PostGraphile 4" "$PGL_PORT" "$pid" "$BENCH/postgraphile" "" "$@" pg4
  kill "$pid"
  if [[ -z "${BENCH_SKIP_RLS:-}" ]]; then
    # As bench_postgraphile, becoming bench_municipality per request (the token's role);
    # RBAC-aware: the schema shows only what that role may read.
    "$bin" -c "$RLS_URL" -s bench_rls -p "$PGL_RLS_PORT" "${common[@]}" \
      --jwt-secret "$JWT_SECRET" --default-role bench_municipality --no-ignore-rbac \
      >"$OUT/postgraphile-rls.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_for_graphql "http://127.0.0.1:$PGL_RLS_PORT/graphql"
    pgl_peer "PostGraphile 4 (RLS)" "$PGL_RLS_PORT" "$pid" "$BENCH/postgraphile" "$RLS_AUTH" "$@" pg4-rls
    kill "$pid"
  fi
}

# start_pg5 PORT LOG [ENV...] -> PG5_PID
start_pg5() {
  local port=$1 logfile=$2
  shift 2
  (cd "$OUT/postgraphile5" && env PG5_PORT="$port" PG5_WORKERS=2 NODE_ENV=production GRAPHILE_ENV=production "$@" \
    "$NODE22" serve.mjs >"$logfile" 2>&1) &
  PG5_PID=$!
  PIDS+=("$PG5_PID")
  wait_for_graphql "http://127.0.0.1:$port/graphql"
}

run_pg5() {
  start_pg5 "$PG5_PORT" "$OUT/postgraphile5.log" PG5_CONNECTION="$SERVE_URL" PG5_SCHEMAS=public
  pgl_peer "PostGraphile 5" "$PG5_PORT" "$PG5_PID" "$BENCH/postgraphile5" "" "$@" pg5
  kill_tree "$PG5_PID"
  if [[ -z "${BENCH_SKIP_RLS:-}" ]]; then
    start_pg5 "$PG5_RLS_PORT" "$OUT/postgraphile5-rls.log" PG5_CONNECTION="$RLS_URL" \
      PG5_SCHEMAS=bench_rls PG5_JWT_SECRET="$JWT_SECRET"
    pgl_peer "PostGraphile 5 (RLS)" "$PG5_RLS_PORT" "$PG5_PID" "$BENCH/postgraphile5" "$RLS_AUTH" "$@" pg5-rls
    kill_tree "$PG5_PID"
  fi
}

# kill_tree PID: the process and its descendants (the subshell, node and its cluster workers)
kill_tree() {
  local p
  # shellcheck disable=SC2046
  for p in $(proc_tree "$1" | tac); do kill "$p" 2>/dev/null || true; done
  sleep 0.5
}

# Instructions per request, untimed: the release server under callgrind serving a fixed
# number of requests of each operation one after another (after a warm-up), the counters
# zeroed before and dumped after each operation.
run_callgrind() {
  local dir="$OUT/callgrind" op
  rm -rf "$dir" && mkdir -p "$dir"
  local auth
  auth="Bearer $(token "$DB_URL" kommune-$MUNICIPALITY)"
  log "callgrind: starting the server under valgrind (slow)"
  BYDEL_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    "$BIN" serve --listen "127.0.0.1:$CALLGRIND_PORT" --database-url "$SERVE_URL" \
    >"$dir/server.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local url="http://127.0.0.1:$CALLGRIND_PORT"
  for _ in $(seq 1 1200); do
    curl -fs -o /dev/null "$url/readyz" && break
    sleep 0.5
  done
  curl -fs -o /dev/null "$url/readyz" || { log "callgrind: server not ready after 10 minutes"; exit 1; }
  for op in inbox node project; do
    for _ in $(seq 1 10); do post "$url/graphql" "$auth" "$OUT/$op.json" >/dev/null; done
  done
  local n=0
  for op in inbox node project; do
    callgrind_ctl -z "$pid" "$url"
    for _ in $(seq 1 "$CALLGRIND_N"); do post "$url/graphql" "$auth" "$OUT/$op.json" >/dev/null; done
    callgrind_ctl -d "$pid" "$url"
    n=$((n + 1))
    local dump ir
    # shellcheck disable=SC2012
    dump=$(ls -t "$dir"/callgrind.out.* 2>/dev/null | head -1)
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
    CALLGRIND+=("$op|$CALLGRIND_N|$ir|$(awk -v i="$ir" -v n="$CALLGRIND_N" 'BEGIN {printf "%.0f", i / n}')")
    log "callgrind $op: $ir instructions for $CALLGRIND_N requests"
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

# callgrind_ctl -z|-d PID URL: valgrind acts on the command when the program next runs code;
# poke the idle server with /healthz until it has (a few hundred instructions each).
callgrind_ctl() {
  callgrind_control "$1" "$2" >/dev/null 2>&1 &
  local ctl=$!
  for _ in $(seq 1 200); do
    kill -0 "$ctl" 2>/dev/null || break
    curl -fs -o /dev/null "$3/healthz" || true
    sleep 0.1
  done
  wait "$ctl" || { log "callgrind_control $1 failed"; exit 1; }
}
CALLGRIND=()

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
      load_op "Bydel (SQLite, demo)" "$SQLITE_PORT" "$pid" "$auth" "$op" "$OUT/sqlite-$op.json"
    else
      record "Bydel (SQLite, demo)" "$op" "-" "-" "-" "-" "-" "-" "-" "-" "skipped: query does not validate"
    fi
  done
  kill "$pid"
}

report() {
  echo
  echo "Bydel benchmark $(date -u +%Y-%m-%d), $(nproc) cores, scale $SCALE, ${SECONDS_PER_RUN} s per run, PostgreSQL via ${SOCKET:-TCP 127.0.0.1}"
  echo
  echo "| system | operation | concurrency | requests/s | p50 ms | p99 ms | SQL statements/request | peak RSS MB | server CPU ms/request | PostgreSQL CPU ms/request | note |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for row in "${RESULTS[@]}"; do echo "| ${row//|/ | } |"; done
  echo
  echo "Throughput ratios are Bydel's requests/s over the peer's; p99 ratio is the peer's p99 over Bydel's (higher is better for Bydel in both). Target: against PostGraphile 4 with RLS, throughput ≥ 2 and p99 ≥ 2."
  echo
  echo "| operation | concurrency | Bydel / PG4 RLS (throughput) | PG4 RLS p99 / Bydel p99 | target | Bydel / PG4 superuser | Bydel / PG5 superuser | Bydel / PG5 RLS | PG5 RLS p99 / Bydel p99 | Bydel / raw SQL |"
  echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
  for system in "Bydel (PostgreSQL)" "Bydel (PostgreSQL, deferred read audit)"; do
    for op in inbox node project; do
      for c in $CONCURRENCY; do
        local b r4 s4 r5 s5 q label tp p99 target
        b=$(lookup "$system" "$op" "$c")
        [[ -z "$b" ]] && continue
        r4=$(lookup "PostGraphile 4 (RLS)" "$op" "$c")
        s4=$(lookup "PostGraphile 4" "$op" "$c")
        r5=$(lookup "PostGraphile 5 (RLS)" "$op" "$c")
        s5=$(lookup "PostGraphile 5" "$op" "$c")
        q=$(lookup "raw SQL (pgbench)" "$op" "$c")
        label=$op
        [[ "$system" == *deferred* ]] && label="$op (deferred read audit)"
        tp=$(ratio "$b" "$r4" 4)
        p99=$(ratio "$r4" "$b" 6)
        target=$(awk -v t="$tp" -v p="$p99" 'BEGIN { if (t == "-" || p == "-") print "-"; else if (t >= 2 && p >= 2) print "met"; else print "missed" }')
        echo "| $label | $c | $tp | $p99 | $target | $(ratio "$b" "$s4" 4) | $(ratio "$b" "$s5" 4) | $(ratio "$b" "$r5" 4) | $(ratio "$r5" "$b" 6) | $(ratio "$b" "$q" 4) |"
      done
    done
  done
  if ((${#CALLGRIND[@]})); then
    echo
    echo "Instructions per request (Bydel release build under valgrind --tool=callgrind, all threads, requests one after another after 10 warm-up requests each; untimed):"
    echo
    echo "| operation | requests | instructions (Ir) | instructions/request |"
    echo "| --- | ---: | ---: | ---: |"
    for row in "${CALLGRIND[@]}"; do echo "| ${row//|/ | } |"; done
  fi
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
