#!/usr/bin/env bash
# bench/run.sh: tollgate's charge throughput against PostgreSQL's own, on
# this machine, in one go. Everything listens on and talks to 127.0.0.1.
#
#   bench/run.sh                      # PostgreSQL, 1 gateway, 20 s per step
#   GATEWAYS=2 bench/run.sh           # 2 gateways on one database, round-robin
#   STORE=sqlite bench/run.sh         # the embedded default (one gateway)
#   WEBHOOKS=1 bench/run.sh           # also: charge answer -> webhook arrival
#
# Steps: build tollgate and bench/load; make the databases afresh; start
# `tollgate sim` (zero latency) and the gateways (bench/gateway.yaml); a
# merchant from `tollgate merchants create`; 3 s of charges and ANALYZE,
# so the planner has statistics as in production; then
#   1. closed loop, CONCURRENCY (32) charges in flight: the peak;
#   2. open loop at half the peak, latency from each scheduled start;
#   3. (WEBHOOKS=1) the peak again, with a webhook endpoint: charge answer
#      -> charge.succeeded arrival at a receiver on 127.0.0.1;
#   (between steps: VACUUM (ANALYZE) when the server has autovacuum off,
#   and a CHECKPOINT;)
#   4. pgbench running bench/charge_writes.sql (the same durable writes) with
#      CONCURRENCY clients on a database migrated the same way;
#   5. pgbench running bench/charge_statements.sql (every statement the
#      gateway runs for a charge, in its transactions) the same way;
# and prints the ratio gateway / pgbench, and what step 5 says of it.
#
# Settings (environment): PGURL (postgres://postgres@127.0.0.1:5432, trust
# auth), DB_PREFIX (tgbench: databases DB_PREFIX_gw and DB_PREFIX_pg are
# dropped and made again), GATEWAYS (1), DURATION (20s), CONCURRENCY (32),
# PAYMENT_METHODS (200), STORE (postgres|sqlite), WEBHOOKS (0),
# TOLLGATE_BIN (a tollgate binary to measure instead of building this tree),
# RATE (step 2's rate instead of half the peak, for a latency curve),
# PPROF (1: gateway i serves pprof on 127.0.0.1:1706i), PORT_BASE (18080),
# MAX_PROCS (the gateways' max_procs: 2 x the CPUs on PostgreSQL, 0 on
# SQLite), STEPS (all | peak: step 1 alone, for a quick comparison of two builds |
# latency: steps 1 and 2, the peak and the open loop at half of it),
# WHATIF (1: also steps 6 and 7, the ceilings if the results of 8 charges,
# then all of their statements, were written together:
# charge_statements_batched_results.sql, charge_statements_batched.sql).
set -euo pipefail

cd "$(dirname "$0")/.."
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB_PREFIX=${DB_PREFIX:-tgbench}
GATEWAYS=${GATEWAYS:-1}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-32}
PAYMENT_METHODS=${PAYMENT_METHODS:-200}
STORE=${STORE:-postgres}
WEBHOOKS=${WEBHOOKS:-0}
PPROF=${PPROF:-0}
PORT_BASE=${PORT_BASE:-18080}
STEPS=${STEPS:-all}
WHATIF=${WHATIF:-0}
SIM_PORT=$((PORT_BASE + 10))
# PostgreSQL shares this machine with the gateways: twice the CPUs of Go
# threads keep the gateways' share of it against the database's backends
# (configs/default.yaml, max_procs). SQLite runs inside the gateway: Go's own.
if [ "$STORE" = sqlite ]; then MAX_PROCS=${MAX_PROCS:-0}; else MAX_PROCS=${MAX_PROCS:-$((2 * $(nproc)))}; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "== build"
bin=${TOLLGATE_BIN:-}
if [ -z "$bin" ]; then
	go build -o "$work/tollgate" ./cmd/tollgate
	bin=$work/tollgate
fi
go build -o "$work/load" ./bench/load

secret=$(head -c 32 /dev/urandom | base64)
export TOLLGATE_SECRET_KEY=$secret TOLLGATE_CONFIG=bench/gateway.yaml
export TOLLGATE_SIM_URL=http://127.0.0.1:$SIM_PORT/sim

fresh_db() { # name
	psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

if [ "$STORE" = sqlite ]; then
	GATEWAYS=1
	db=sqlite:$work/bench.db
else
	fresh_db "${DB_PREFIX}_gw"
	db=$PGURL/${DB_PREFIX}_gw?sslmode=disable
fi
export TOLLGATE_DATABASE_URL=$db
"$bin" migrate >/dev/null 2>"$work/migrate.log"

wait_up() { # url
	for _ in $(seq 100); do
		if curl -sf -o /dev/null "$1"; then return 0; fi
		sleep 0.1
	done
	echo "not up: $1" >&2
	return 1
}

echo "== simulator and $GATEWAYS gateway(s) on $STORE (max_procs $MAX_PROCS)"
"$bin" sim --listen "127.0.0.1:$SIM_PORT" >"$work/sim.log" 2>&1 &
pids+=($!)
simpid=$!
targets=()
gwpids=()
for i in $(seq 1 "$GATEWAYS"); do
	port=$((PORT_BASE + i))
	cp bench/gateway.yaml "$work/gw$i.yaml"
	if [ "$PPROF" = 1 ]; then echo "pprof_listen: 127.0.0.1:$((17060 + i))" >>"$work/gw$i.yaml"; fi
	echo "max_procs: $MAX_PROCS" >>"$work/gw$i.yaml"
	TOLLGATE_CONFIG=$work/gw$i.yaml "$bin" serve --listen "127.0.0.1:$port" >"$work/gw$i.out" 2>"$work/gw$i.log" &
	pids+=($!)
	gwpids+=($!)
	targets+=("http://127.0.0.1:$port")
done
for t in "${targets[@]}"; do wait_up "$t/healthz"; done
key=$("$bin" merchants create --name Bench | sed -E 's/.*"api_key":"([^"]+)".*/\1/')
list=$(IFS=,; echo "${targets[*]}")

cpu_ticks() { # user+system clock ticks of the gateways so far
	local t=0
	for p in "${gwpids[@]}"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}
sim_ticks() { # user+system clock ticks of the simulator so far
	awk '{ print $14 + $15 }' "/proc/$simpid/stat"
}
pg_ticks() { # user+system clock ticks of the server's processes so far, the exited ones' too
	# (reaped by the postmaster: its children's time); every database's,
	# so the figure is the bench's only on a server nothing else uses.
	local pm
	pm=$(pgrep -o -x postgres || true)
	{
		cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" { t += $14 + $15 } END { print t + 0 }'
		if [ -n "$pm" ]; then awk '{ print $16 + $17 }' "/proc/$pm/stat"; fi
	} | awk '{ t += $1 } END { print t + 0 }'
}
peak_rss() { # the gateways' largest resident set so far, MiB
	local m=0 r
	for p in "${gwpids[@]}"; do
		r=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$p/status")
		[ "$r" -gt "$m" ] && m=$r
	done
	echo "$m"
}
machine_ticks() { # busy clock ticks of the whole machine so far
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}
load() { # label, extra flags...
	local label=$1
	shift
	"$work/load" -targets "$list" -key "$key" -duration "$DURATION" -payment-methods "$PAYMENT_METHODS" -label "$label" "$@" | tee "$work/$label.out"
}
figure() { # file, json field
	tail -n 1 "$1" | sed -E "s/.*\"$2\":([0-9.]+).*/\1/"
}

# A server with autovacuum off (this project's CI machine has it off) lets
# every charge's dead row versions pile up from step to step, which no
# production server does: vacuum between steps there, as autovacuum would.
# Then a checkpoint, on every server: an unthrottled VACUUM leaves most of
# shared_buffers dirty, which the next step's statements would have to
# write out themselves (autovacuum's throttled writes reach disk through
# the checkpointer instead), and each step starts as far from the next
# WAL-triggered checkpoint as the one before. Measured at 370 charges/s, the
# open loop right after a bare VACUUM had p99s of 58, 60, 87 and 202 ms;
# right after VACUUM and CHECKPOINT, 37 and 41 ms.
vacuum() {
	if [ "$STORE" = sqlite ]; then
		return
	fi
	if [ "$(psql "$PGURL/${DB_PREFIX}_gw" -Atc 'SHOW autovacuum')" = off ]; then
		psql "$PGURL/${DB_PREFIX}_gw" -qc "VACUUM (ANALYZE)"
		echo "(autovacuum is off on this server: VACUUM (ANALYZE) between steps)"
	fi
	psql "$PGURL/${DB_PREFIX}_gw" -qc "CHECKPOINT"
}

# A fresh database has no planner statistics: PostgreSQL then reads a
# payment method through its (merchant, key) index, filtering every one of
# the merchant's rows, instead of its primary key. A production database
# is analyzed (autovacuum); so is this one, after a few seconds of charges.
if [ "$STORE" != sqlite ]; then
	"$work/load" -targets "$list" -key "$key" -duration 3s -warmup 0 -payment-methods "$PAYMENT_METHODS" -concurrency "$CONCURRENCY" -label prime >"$work/prime.out" 2>&1 ||
		{ cat "$work/prime.out" >&2; exit 1; }
	psql "$PGURL/${DB_PREFIX}_gw" -qc "VACUUM (ANALYZE)" -c "CHECKPOINT"
fi
echo "== 1. closed loop, $CONCURRENCY in flight"
before=$(cpu_ticks) pg_before=$(pg_ticks) sim_before=$(sim_ticks) machine_before=$(machine_ticks)
load peak -concurrency "$CONCURRENCY"
ticks=$(($(cpu_ticks) - before)) pg=$(($(pg_ticks) - pg_before)) sim=$(($(sim_ticks) - sim_before)) machine=$(($(machine_ticks) - machine_before))
peak=$(figure "$work/peak.out" charges_per_s)
charges=$(($(figure "$work/peak.out" charges) + $(figure "$work/peak.out" warmup_charges)))
# CPU per charge depends far less than charges/s on what else the machine runs.
awk -v t="$ticks" -v pg="$pg" -v sim="$sim" -v m="$machine" -v hz="$(getconf CLK_TCK)" -v c="$charges" -v rss="$(peak_rss)" 'BEGIN {
	f = 1000 / hz / c
	printf "CPU per charge: gateway %.2f ms, PostgreSQL %.2f ms, simulator %.2f ms, load tool and the rest %.2f ms, whole machine %.2f ms (%d charges, warm-up included); gateway peak RSS %d MiB\n", t * f, pg * f, sim * f, (m - t - pg - sim) * f, m * f, c, rss }' | tee -a "$work/peak.out"
# The coalesced statements (internal/batch): mean batch size, how long a
# call waited for its batch to begin, how long a batch ran, over a step.
batch_snapshot() { # file: the gateways' batch counters now
	for t in "${targets[@]}"; do curl -fsS "$t/metrics"; done | awk -F'[{}" ]+' '
		/^tollgate_batches_total/ { b[$3] += $NF } /^tollgate_batched_calls_total/ { c[$3] += $NF }
		/^tollgate_batch_wait_seconds_total/ { w[$3] += $NF } /^tollgate_batch_run_seconds_total/ { r[$3] += $NF }
		END { for (k in b) print k, b[k], c[k], w[k], r[k] }' >"$1"
}
batch_report() { # before, after, output
	awk 'NR == FNR { b[$1] = $2; c[$1] = $3; w[$1] = $4; r[$1] = $5; next }
		{ nb = $2 - b[$1]; nc = $3 - c[$1]; if (nb > 0) line = line sprintf(" %s %.2f (wait %.1f ms, run %.1f ms),", $1, nc / nb, 1000 * ($4 - w[$1]) / nc, 1000 * ($5 - r[$1]) / nb) }
		END { print "mean batch size:" line }' "$1" "$2" | sed 's/,$//' | tee -a "$3"
}
echo "- 0 0 0 0" >"$work/batches.0"
batch_snapshot "$work/batches.1"
batch_report "$work/batches.0" "$work/batches.1" "$work/peak.out"
if [ "$STEPS" = peak ]; then
	exit 0
fi
half=${RATE:-$(awk -v p="$peak" 'BEGIN { printf "%d", p / 2 }')}
vacuum # the peak step left thousands of dead rows
echo "== 2. open loop at ${RATE:+RATE, not }half the peak: $half/s"
batch_snapshot "$work/batches.2"
load half -rate "$half" -concurrency "$CONCURRENCY" -timeline "$work/half.timeline"
batch_snapshot "$work/batches.3"
batch_report "$work/batches.2" "$work/batches.3" "$work/half.out"
if [ "$STEPS" = latency ]; then
	exit 0
fi
if [ "$WEBHOOKS" = 1 ]; then
	vacuum
	# The peak with deliveries on: closed loop as in step 1, with a webhook
	# endpoint, so the charges and their deliveries share the machine and
	# the rate is what both sustain. (An open loop at step 1's peak, which
	# had no deliveries to make, outruns the machine by definition.)
	echo "== 3. webhooks: closed loop, $CONCURRENCY in flight, with a webhook endpoint"
	load webhooks -concurrency "$CONCURRENCY" -webhooks
fi
if [ -n "${PPROF_SECONDS:-}" ] && [ "$PPROF" = 1 ]; then
	echo "== profiles ($PPROF_SECONDS s of closed loop) in $work"
	load profiled -concurrency "$CONCURRENCY" -duration "$((PPROF_SECONDS + 4))s" >/dev/null &
	lp=$!
	curl -s -o "$work/cpu.pprof" "http://127.0.0.1:17061/debug/pprof/profile?seconds=$PPROF_SECONDS"
	curl -s -o "$work/mutex.pprof" "http://127.0.0.1:17061/debug/pprof/mutex"
	curl -s -o "$work/block.pprof" "http://127.0.0.1:17061/debug/pprof/block"
	wait "$lp"
fi
cleanup
pids=()

pgbench_run() { # script, label: pgbench tps of script on a fresh database like the gateway's
	fresh_db "${DB_PREFIX}_pg"
	TOLLGATE_DATABASE_URL=$PGURL/${DB_PREFIX}_pg?sslmode=disable "$bin" migrate >/dev/null 2>>"$work/migrate.log"
	psql "$PGURL/${DB_PREFIX}_pg" -qc "INSERT INTO merchants (id, name, livemode, created_at) VALUES ('mer_bench', 'Bench', false, now())" \
		-c "INSERT INTO payment_methods (id, merchant_id, livemode, carrier, msisdn_enc, msisdn_index, msisdn_masked, status, created_at, updated_at)
			VALUES ('pm_bench', 'mer_bench', false, 'skt', 'v1.sealed', repeat(md5('1'), 2), '+82 10-****-0001', 'active', now(), now())"
	pgbench -n -c "$CONCURRENCY" -j 2 -T "${DURATION%s}" -f "bench/$1.sql" "$PGURL/${DB_PREFIX}_pg" 2>&1 | tee "$work/$2.out" | grep -E "tps|latency|failed" >&2
	sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$work/$2.out" | head -n 1
}
echo "== 4. pgbench: the same durable writes, $CONCURRENCY clients"
tps=$(pgbench_run charge_writes pgbench)
echo "== 5. pgbench: every statement the gateway runs for a charge, $CONCURRENCY clients"
own=$(pgbench_run charge_statements pgbench-statements)
if [ "$WHATIF" = 1 ]; then
	echo "== 6. pgbench: the same statements with the results of 8 charges written together, $CONCURRENCY clients"
	batched=$(pgbench_run charge_statements_batched_results pgbench-whatif)
	echo "== 7. pgbench: all of those statements for 8 charges of 8 numbers written together, $CONCURRENCY clients"
	all=$(pgbench_run charge_statements_batched pgbench-whatif-all)
fi

echo "== result ($STORE, $GATEWAYS gateway(s); logs and outputs in $work)"
awk -v g="$peak" -v p="$tps" 'BEGIN { printf "gateway %.0f charges/s / pgbench %.0f tps = %.3f\n", g, p, g / p }'
# The ceiling the gateway's own statements set, with nothing else on the
# machine: how much of the distance is the statements, how much the rest.
awk -v g="$peak" -v p="$tps" -v o="$own" 'BEGIN { printf "PostgreSQL alone, the gateway'"'"'s statements: %.0f charges/s = %.2f of pgbench; the gateway reached %.2f of that\n", o, o / p, g / o }'
if [ "$WHATIF" = 1 ]; then
	awk -v p="$tps" -v o="$own" -v b="$batched" 'BEGIN { printf "what if results were batched by 8: %.0f charges/s = %.2f of pgbench (%+.0f %% over one at a time)\n", 8 * b, 8 * b / p, 100 * (8 * b / o - 1) }'
	awk -v p="$tps" -v o="$own" -v b="$all" 'BEGIN { printf "what if every statement were batched by 8: %.0f charges/s = %.2f of pgbench (%+.0f %% over one at a time)\n", 8 * b, 8 * b / p, 100 * (8 * b / o - 1) }'
fi
