#!/usr/bin/env bash
# bench/statements.sh: how many statements PostgreSQL runs per charge, read
# from its own log. It makes a fresh database with log_statement = all (on
# that database only), runs one gateway and the simulator, charges with one
# worker for DURATION, and counts the statements the gateway's sessions
# logged while charging (every statement of the node: river's own work too),
# by kind.
#
#   PGLOG=/path/to/postgresql.log bench/statements.sh
#
# PGLOG is the server's log file (readable by you); the server's
# log_line_prefix must carry the database (%d; Debian's default does).
# Settings: PGURL, DB (tgstmt), DURATION (5s), TOLLGATE_BIN, PORT_BASE (18180).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PGLOG:?PGLOG must name the PostgreSQL server log file}"
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-tgstmt}
DURATION=${DURATION:-5s}
PORT_BASE=${PORT_BASE:-18180}
work=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-stmts.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
bin=${TOLLGATE_BIN:-}
if [ -z "$bin" ]; then
	go build -o "$work/tollgate" ./cmd/tollgate
	bin=$work/tollgate
fi
go build -o "$work/load" ./bench/load
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" -c "ALTER DATABASE $DB SET log_statement = 'all'"
export TOLLGATE_SECRET_KEY=$(head -c 32 /dev/urandom | base64) TOLLGATE_CONFIG=bench/gateway.yaml
export TOLLGATE_DATABASE_URL=$PGURL/$DB?sslmode=disable TOLLGATE_SIM_URL=http://127.0.0.1:$((PORT_BASE + 10))/sim
"$bin" migrate >/dev/null 2>&1
"$bin" sim --listen "127.0.0.1:$((PORT_BASE + 10))" >"$work/sim.log" 2>&1 &
pids+=($!)
"$bin" serve --listen "127.0.0.1:$((PORT_BASE + 1))" >"$work/gw.out" 2>"$work/gw.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$((PORT_BASE + 1))/healthz" && break; sleep 0.1; done
key=$("$bin" merchants create --name Stmts | sed -E 's/.*"api_key":"([^"]+)".*/\1/')
"$work/load" -targets "http://127.0.0.1:$((PORT_BASE + 1))" -key "$key" -concurrency 1 -warmup 0 -duration "$DURATION" -payment-methods 5 2>"$work/load.err" >"$work/load.out"
to=$(date -u '+%Y-%m-%d %H:%M:%S.%3N')
head -n 1 "$work/load.out"
from=$(sed -nE 's/.*charging from (.*)$/\1/p' "$work/load.err")
cleanup
charges=$(tail -n 1 "$work/load.out" | sed -E 's/.*"charges":([0-9]+).*/\1/')
# Lines of this database while charging that are statements.
awk -v from="$from" -v to="$to" -v db="@$DB " 'index($0, db) && substr($0, 1, 23) >= from && substr($0, 1, 23) <= to && /LOG:  (statement|execute [^:]*):/' "$PGLOG" |
	sed -E 's/.*LOG:  (statement|execute [^:]*): //' >"$work/statements.txt"
total=$(wc -l <"$work/statements.txt")
echo "$total statements for $charges charges: $(awk -v t="$total" -v c="$charges" 'BEGIN { printf "%.1f", t / c }') per charge"
echo "by kind (first 60 characters), most frequent first:"
cut -c1-60 "$work/statements.txt" | sort | uniq -c | sort -rn | head -n 40
