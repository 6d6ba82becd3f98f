#!/usr/bin/env bash
# postgres.sh: the PostgreSQL benchmark of docs/PERFORMANCE.md.
#
#   testdata/bench/postgres.sh [SCRATCH_DIR]     (default /tmp/sigil-pgbench)
#
# 1. Starts, once, a PostgreSQL cluster in SCRATCH_DIR/pgdata (initdb
#    --locale=C.UTF-8, default settings but port and socket; as root the
#    server runs as the `postgres` user) and creates the database `bench_c`
#    with LC_COLLATE 'C.UTF-8' (and `bench_en` with en_US.UTF-8 when the
#    operating system has that locale).
# 2. Creates, once per database, the tables as an app creates them, with
#    only the primary key: sigils_text (id text PRIMARY KEY), sigils_bigint
#    (id bigint PRIMARY KEY), sigils_uuid (id uuid PRIMARY KEY); columns
#    data json, checksum, signature, type, created_at; $COUNT rows each,
#    about 1 KiB a row, signed by real Node crypto
#    (testdata/node/make-postgres-bench.js), then VACUUM ANALYZE.
# 3. Builds the exporter and testdata/bench/pgfloor.
# 4. For each table, $RUNS times each: the floor (one streaming row_to_json
#    query + SHA-256 of each row in Go), then `check` with every check but
#    schema (js mode, one key file, fresh state and report directories)
#    under /usr/bin/time -v: wall time, user+sys CPU, peak RSS. check must
#    print "Checked N sigils. 0 failures."
# 5. For each table: EXPLAIN (ANALYZE, BUFFERS) of the walk's page in the
#    middle of the table (pgfloor -explain), as the exporter runs it: a page
#    of 500 rows (full speed) and of 13 (a paced chunk at 1M records / 24 h).
#
# Environment: COUNT (default 200000), RUNS (3), PGBENCH_PORT (55439),
# KEYTYPES ("text bigint uuid"),
# PAGE_SIZE (the exporter's default when empty). Stop the cluster with
#   pg_ctl -D SCRATCH_DIR/pgdata stop     (as the postgres user when root)
# Needs: go, node, PostgreSQL 14+ server binaries, psql, GNU time, bc.
set -euo pipefail

scratch=${1:-/tmp/sigil-pgbench}
count=${COUNT:-200000}
runs=${RUNS:-3}
port=${PGBENCH_PORT:-55439}
keytypes=${KEYTYPES:-"text bigint uuid"}
repo=$(cd "$(dirname "$0")/../.." && pwd)

if [ ! -x /usr/bin/time ]; then
	echo "postgres.sh: GNU time is missing: apt-get install -y time" >&2
	exit 2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || bin=$(dirname "$(command -v initdb)")
mkdir -p "$scratch"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$scratch"; fi

# --- 1. cluster and databases ---------------------------------------------
if [ ! -e "$scratch/pgdata/PG_VERSION" ]; then
	as_pg "$bin/initdb" -D "$scratch/pgdata" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$scratch/initdb.log"
	printf "port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" "$port" "$scratch" >>"$scratch/pgdata/postgresql.conf"
fi
if ! as_pg "$bin/pg_ctl" -D "$scratch/pgdata" status >/dev/null 2>&1; then
	as_pg "$bin/pg_ctl" -D "$scratch/pgdata" -l "$scratch/server.log" -w start >/dev/null
fi
psql_in() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$1" "${@:2}"; }
dbs="bench_c:C.UTF-8"
if locale -a 2>/dev/null | grep -qix 'en_US.utf8'; then dbs="$dbs bench_en:en_US.UTF-8"; fi
for spec in $dbs; do
	db=${spec%%:*} loc=${spec#*:}
	if [ "$(psql_in postgres -tAc "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
		psql_in postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE '$loc' LC_CTYPE '$loc'"
	fi
done

# --- 2. tables ----------------------------------------------------------------
for spec in $dbs; do
	db=${spec%%:*}
	for kt in $keytypes; do
		t=sigils_$kt
		have=$(psql_in "$db" -tAc "SELECT coalesce((SELECT reltuples::bigint FROM pg_class WHERE relname = '$t'), -1)")
		if [ "$have" != "$count" ]; then
			echo "loading $count rows into $db.$t ..." >&2
			psql_in "$db" -c "DROP TABLE IF EXISTS $t" -c "CREATE TABLE $t (id $kt PRIMARY KEY, data json, checksum text, signature text, type text, created_at timestamptz)"
			node "$repo/testdata/node/make-postgres-bench.js" "$kt" "$count" |
				psql_in "$db" -c "\\copy $t (id, data, checksum, signature, type, created_at) FROM STDIN"
			psql_in "$db" -c "VACUUM ANALYZE $t"
		fi
	done
done

# --- 3. binaries --------------------------------------------------------------
(cd "$repo" && go build -o "$scratch/sie" ./exporter && go build -o "$scratch/pgfloor" ./testdata/bench/pgfloor)

# --- 4. floor and check -------------------------------------------------------
results="$scratch/results.tsv"
printf 'db\ttable\tprogram\trun\twall_s\tcpu_s\tpeak_rss_kib\trecords\tserver_cpu_s\n' >"$results"
# server_cpu: CPU seconds of the cluster's processes (the postmaster's own
# and its exited children's: the backend that served the run), from
# /proc/PID/stat utime+stime+cutime+cstime of the postmaster.
postmaster=$(head -1 "$scratch/pgdata/postmaster.pid")
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15+$16+$17)/hz}' "/proc/$postmaster/stat"; }
timed() { # timed OUT CMD...: runs CMD under GNU time, prints wall cpu rss
	/usr/bin/time -v -o "$1.time" "${@:2}" >"$1" 2>&1 || true
	awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); w=(n==3)?a[1]*3600+a[2]*60+a[3]:a[1]*60+a[2]}
		/User time/{u=$2} /System time/{s=$2} /Maximum resident/{r=$2}
		END{printf "%.2f\t%.2f\t%d", w, u+s, r}' "$1.time"
}
page=()
if [ -n "${PAGE_SIZE:-}" ]; then page=(--store.postgres.page-size="$PAGE_SIZE"); fi
for spec in $dbs; do
	db=${spec%%:*}
	dsn="postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
	for kt in $keytypes; do
		t=sigils_$kt
		psql_in "$db" -tAc "SELECT count(*) FROM $t" >/dev/null # warm the page cache
		for r in $(seq "$runs"); do
			out="$scratch/floor-$db-$t-$r"
			s0=$(server_cpu)
			line=$(timed "$out" "$scratch/pgfloor" -dsn "$dsn" -table "$t")
			sleep 0.2 # the backend exits and is reaped
			printf '%s\t%s\tfloor\t%d\t%s\t%s\t%.2f\n' "$db" "$t" "$r" "$line" "$(sed -n 's/.*records=\([0-9]*\).*/\1/p' "$out")" "$(echo "$(server_cpu) - $s0" | bc)" >>"$results"
			out="$scratch/check-$db-$t-$r"
			rm -rf "$scratch/state" "$scratch/reports"
			s0=$(server_cpu)
			line=$(timed "$out" "$scratch/sie" check --store.postgres.dsn="$dsn" --store.postgres.table="$t" "${page[@]}" \
				--verify.key-file="$repo/testdata/keys/current.key" --report.dir="$scratch/reports" --state.path="$scratch/state" --log.level=warn)
			if ! grep -q "^Checked $count sigils. 0 failures." "$out"; then
				echo "check on $db.$t did not report $count clean records:" >&2
				cat "$out" >&2
				exit 1
			fi
			sleep 0.2
			printf '%s\t%s\tcheck\t%d\t%s\t%s\t%.2f\n' "$db" "$t" "$r" "$line" "$count" "$(echo "$(server_cpu) - $s0" | bc)" >>"$results"
		done
	done
done

# --- 5. one page on the server ----------------------------------------------
for spec in $dbs; do
	db=${spec%%:*}
	for kt in $keytypes; do
		for rows in 500 13; do # a full-speed page; a paced one at 1M records / 24 h
			echo "== $db.sigils_$kt, page of $rows rows"
			"$scratch/pgfloor" -explain -page "$rows" -dsn "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable" -table "sigils_$kt"
		done
	done
done >"$scratch/explain.txt"

# --- summary ------------------------------------------------------------------
{
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'db\ttable\tfloor_best_s\tcheck_best_s\tratio\tfloor_cpu_s(client+server)\tcheck_cpu_s(client+server)\tcpu_ratio\tcheck_peak_rss_mib\n'
	awk -F'\t' 'NR>1{k=$1"\t"$2; if($3=="floor"){if(!(k in f)||$5<f[k]){f[k]=$5;fc[k]=$6;fs[k]=$9}}
		else{if(!(k in c)||$5<c[k]){c[k]=$5;cc[k]=$6;cs[k]=$9} if($7>rss[k])rss[k]=$7}}
		END{for(k in c)printf "%s\t%.2f\t%.2f\t%.2f\t%.2f+%.2f\t%.2f+%.2f\t%.2f\t%.1f\n",k,f[k],c[k],f[k]/c[k],fc[k],fs[k],cc[k],cs[k],(fc[k]+fs[k])/(cc[k]+cs[k]),rss[k]/1024}' "$results" | sort
	echo
	grep -E '^==|Buffers|Sort|Scan|Execution Time|Planning Time' "$scratch/explain.txt" | sed 's/^/  /'
} | tee "$scratch/summary.txt"
