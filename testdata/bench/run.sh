#!/usr/bin/env bash
# run.sh: the end-to-end benchmark of docs/PERFORMANCE.md.
#
#   testdata/bench/run.sh [SCRATCH_DIR]        (default /tmp/sigil-bench)
#
# 1. Generates, once, Node-written LevelDBs (testdata/node/make-leveldb.js:
#    classic-level, ~1 KiB records, sublevel "sigils") of each count in
#    $COUNTS into SCRATCH_DIR/db-<count>/sigils-db; a finished database is
#    marked with SCRATCH_DIR/db-<count>/.done and reused by later runs.
# 2. Builds the exporter and the floor program (testdata/bench/floor).
# 3. For each database, $RUNS times each: the floor program, then `check`
#    with every check but schema (2 key files, js mode, state and reports in
#    a fresh dir), under /usr/bin/time -v: wall time, user+sys CPU, peak RSS.
# 4. `serve` over the $SERVE_COUNT database with --scan.pass-duration=
#    $SERVE_PASS: the CPU seconds (utime+stime from /proc/PID/stat) of one
#    full paced pass, per million records, against check's CPU seconds.
#
# 5. `serve` at the rate a real night gives a million records (1M / 24 h),
#    sampled for $SERVE_SAMPLE seconds: CPU per record at that pace.
#
# Environment: COUNTS (default "200000 2000000"), RUNS (3), SERVE_COUNT
# (200000, must be one of COUNTS), SERVE_PASS (60s), SERVE_SAMPLE (180),
# SERVE_PORT (29961),
# GOGC / GOMEMLIMIT are passed through to the exporter.
# Needs: go, node (testdata/node/node_modules installed: npm ci), GNU time.
set -euo pipefail

scratch=${1:-/tmp/sigil-bench}
counts=${COUNTS:-"200000 2000000"}
runs=${RUNS:-3}
serve_count=${SERVE_COUNT:-200000}
serve_pass=${SERVE_PASS:-60s}
serve_port=${SERVE_PORT:-29961}
serve_sample=${SERVE_SAMPLE:-180}
repo=$(cd "$(dirname "$0")/../.." && pwd)
prefix='!sigils!'
keys=(--verify.key-file="$repo/testdata/keys/current.key" --verify.key-file="$repo/testdata/keys/previous.key")

if [ ! -x /usr/bin/time ]; then
	echo "run.sh: GNU time is missing: apt-get install -y time" >&2
	exit 2
fi
mkdir -p "$scratch"
exec > >(tee "$scratch/summary.txt") # the table, also kept beside the raw runs

# --- 1. databases -----------------------------------------------------------
for n in $counts; do
	d="$scratch/db-$n"
	if [ ! -e "$d/.done" ]; then
		echo "generating $n Node-written records in $d/sigils-db ..." >&2
		rm -rf "$d" && mkdir -p "$d"
		start=$(date +%s)
		node "$repo/testdata/node/make-leveldb.js" "$d/sigils-db" --count "$n" >"$d/gen.log" 2>&1
		echo "  done in $(($(date +%s) - start)) s" >&2
		touch "$d/.done"
	fi
done

# --- 2. binaries --------------------------------------------------------------
(cd "$repo" && go build -o "$scratch/sie" ./exporter && go build -o "$scratch/floor" ./testdata/bench/floor)

# secs converts /usr/bin/time's "h:mm:ss" or "m:ss.ss" to seconds.
secs() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"; }
# field NAME FILE: a value from /usr/bin/time -v output.
field() { grep -F "$1" "$2" | head -1 | sed 's/.*: //'; }

results="$scratch/results.tsv"
printf 'records\tprogram\trun\twall_s\tuser_s\tsys_s\trss_mib\tload1\n' >"$results"

# measure N PROGRAM RUN CMD...: one run under /usr/bin/time -v.
measure() {
	local n=$1 prog=$2 run=$3
	shift 3
	local tf="$scratch/time.out" rc=0 load
	load=$(cut -d' ' -f1 /proc/loadavg) # other work on the machine skews the run
	/usr/bin/time -v -o "$tf" "$@" >"$scratch/last.out" 2>"$scratch/last.err" || rc=$?
	local bad=$((rc != 0))
	if [ "$prog" = check ]; then
		bad=$((rc > 1)) # check exits 1 for the planted failures
	fi
	if [ $bad -ne 0 ]; then
		echo "run.sh: $prog failed (exit $rc):" >&2
		cat "$scratch/last.err" >&2
		exit 1
	fi
	local wall user sys rss
	wall=$(secs "$(field 'Elapsed (wall clock)' "$tf")")
	user=$(field 'User time' "$tf")
	sys=$(field 'System time' "$tf")
	rss=$(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(field 'Maximum resident set size' "$tf")")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$prog" "$run" "$wall" "$user" "$sys" "$rss" "$load" >>"$results"
	printf '  %-6s run %s: %7.2f s wall, %6.2f s user, %5.2f s sys, %6.1f MiB peak RSS (load %s before)\n' "$prog" "$run" "$wall" "$user" "$sys" "$rss" "$load" >&2
}

# --- 3. floor vs check ----------------------------------------------------------
for n in $counts; do
	db="$scratch/db-$n/sigils-db"
	cat "$db"/* >/dev/null # warm the page cache: every run reads from memory
	echo "== $n records ($(du -sh "$db" | cut -f1) on disk)" >&2
	for run in $(seq 1 "$runs"); do
		measure "$n" floor "$run" "$scratch/floor" -prefix "$prefix" "$db"
		floor_line=$(cat "$scratch/last.out")
		work="$scratch/work-$n"
		rm -rf "$work" && mkdir -p "$work"
		measure "$n" check "$run" "$scratch/sie" check --store.leveldb.path="$db" --store.leveldb.prefix="$prefix" \
			"${keys[@]}" --report.dir="$work/reports" --state.path="$work/state"
		check_line=$(grep -m1 '^Checked' "$scratch/last.out" || true)
	done
	echo "  $floor_line" >&2
	echo "  check: $check_line" >&2
	# records and bytes under the prefix, from the floor's own count
	read -r recs bytes < <(sed -E 's/^floor: ([0-9]+) records, ([0-9]+) bytes.*/\1 \2/' <<<"$floor_line")
	printf '%s\t%s\n' "$recs" "$bytes" >"$scratch/db-$n/size"
done

# --- 4. serve: CPU of one paced pass -----------------------------------------------
serve_db="$scratch/db-$serve_count/sigils-db"
# start_serve WORK PASS_DURATION: serve on $serve_db in a fresh WORK
# directory (reports, state, serve.log), in the background; sets pid.
start_serve() {
	rm -rf "$1" && mkdir -p "$1"
	"$scratch/sie" serve --store.leveldb.path="$serve_db" --store.leveldb.prefix="$prefix" "${keys[@]}" \
		--report.dir="$1/reports" --state.path="$1/state" --scan.pass-duration="$2" \
		--web.listen-address="127.0.0.1:$serve_port" >"$1/serve.log" 2>&1 &
	pid=$!
}
work="$scratch/work-serve"
echo "== serve: one paced pass over $serve_count records, --scan.pass-duration=$serve_pass" >&2
start_serve "$work" "$serve_pass"
start=$(date +%s.%N)
tck=$(getconf CLK_TCK)
while ! ls "$work/reports"/integrity-report-leveldb-*.json >/dev/null 2>&1; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "run.sh: serve exited early:" >&2
		cat "$work/serve.log" >&2
		exit 1
	fi
	sleep 0.1
done
end=$(date +%s.%N)
# fields 14 and 15 of /proc/PID/stat (after the ")" of the command name)
read -r utime stime < <(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12, $13 }')
hwm=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || true
serve_cpu=$(awk -v u="$utime" -v s="$stime" -v t="$tck" 'BEGIN { printf "%.2f", (u + s) / t }')
serve_wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
printf '%s\tserve\t1\t%s\t%s\t%s\t%s\t%s\n' "$serve_count" "$serve_wall" \
	"$(awk -v u="$utime" -v t="$tck" 'BEGIN { printf "%.2f", u / t }')" \
	"$(awk -v s="$stime" -v t="$tck" 'BEGIN { printf "%.2f", s / t }')" "$hwm" "$(cut -d' ' -f1 /proc/loadavg)" >>"$results"

# --- 4b. serve at a real nightly rate ------------------------------------------------
# A 60 s pass runs at thousands of records/s; a real night spreads a million
# records over 24 h (11.6/s), where fixed costs (a wake-up, an iterator and a
# seek per chunk, checkpoints, the runtime) weigh more. Sample serve at that
# rate: pass duration = records / (1e6 / 86400 s), CPU and records verified
# between two scrapes $SERVE_SAMPLE seconds apart, after a 15 s start-up.
nightly_pass=$(awk -v r="$(cut -f1 "$scratch/db-$serve_count/size")" 'BEGIN { printf "%ds", r / (1e6 / 86400) }')
work="$scratch/work-nightly"
echo "== serve at the nightly rate of 1M records/24h: --scan.pass-duration=$nightly_pass, sampled ${serve_sample}s" >&2
start_serve "$work" "$nightly_pass"
sleep 15
# sample prints "cpu_seconds records_verified" from the process and its metrics.
sample() {
	local t v
	t=$(sed 's/.*) //' "/proc/$pid/stat" | awk -v t="$tck" '{ printf "%.2f", ($12 + $13) / t }')
	v=$(curl -fsS "http://127.0.0.1:$serve_port/metrics" | awk '/^sigil_integrity_records_verified_total/ { print $2 }')
	echo "$t $v"
}
read -r cpu1 rec1 < <(sample)
sleep "$serve_sample"
read -r cpu2 rec2 < <(sample)
kill -TERM "$pid"
wait "$pid" || true
nightly=$(awk -v c1="$cpu1" -v c2="$cpu2" -v r1="$rec1" -v r2="$rec2" -v s="$serve_sample" 'BEGIN {
	printf "serve at the nightly rate: %d records in %d s (%.1f/s), %.2f CPU s: %.0f us per record, %.2f ms CPU per second\n", r2 - r1, s, (r2 - r1) / s, c2 - c1, (c2 - c1) / (r2 - r1) * 1e6, (c2 - c1) / s * 1e3
	printf "  a nightly pass of 1M records at this rate: %.0f CPU s (%.3f%% of one core over 24 h)\n", (c2 - c1) / (r2 - r1) * 1e6, (c2 - c1) / s * 100
}')

# --- table -------------------------------------------------------------------------
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(free -g | awk '/Mem:/ { print $2 }') GiB RAM, $(go version | cut -d' ' -f3)"
echo "GOGC=${GOGC:-default} GOMEMLIMIT=${GOMEMLIMIT:-default}; warm page cache; $runs runs each"
echo
printf '%-9s %-6s %7s %7s %11s %8s %7s %8s %7s %9s\n' records program best_s median_s records/s MB/s cpu_s rss_MiB ratio cpu_bound
awk -F'\t' -v scratch="$scratch" -v counts="$counts" -v ncpu="$(nproc)" '
	NR == 1 || $2 == "serve" { next }
	{ k = $1 SUBSEP $2; n[k]++; w[k, n[k]] = $4; c[k, n[k]] = $5 + $6; r[k, n[k]] = $7 }
	function sorted(a, k, cnt, v,   i, j, t) {
		for (i = 1; i <= cnt; i++) v[i] = a[k, i] + 0
		for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	}
	function median(a, k, cnt,   v) { sorted(a, k, cnt, v); return v[int((cnt + 1) / 2)] }
	function best(a, k, cnt,   v) { sorted(a, k, cnt, v); return v[1] }
	function worst(a, k, cnt,   v) { sorted(a, k, cnt, v); return v[cnt] }
	function row(cnt, prog, k, extra) {
		printf "%-9s %-6s %7.2f %7.2f %11.0f %8.1f %7.2f %8.1f%s\n", cnt, prog, best(w, k, n[k]), median(w, k, n[k]),
			recs[cnt] / best(w, k, n[k]), bytes[cnt] / best(w, k, n[k]) / 1e6, median(c, k, n[k]), worst(r, k, n[k]), extra
	}
	END {
		cmd = "ls -d " scratch "/db-*/size"
		while ((cmd | getline f) > 0) { getline line < f; split(line, p, "\t"); sub(/.*db-/, "", f); sub(/\/size$/, "", f); recs[f] = p[1]; bytes[f] = p[2] }
		nc = split(counts, list, " ")
		for (ci = 1; ci <= nc; ci++) {
			cnt = list[ci]
			fk = cnt SUBSEP "floor"; ck = cnt SUBSEP "check"
			row(cnt, "floor", fk, "")
			row(cnt, "check", ck, sprintf(" %7.2f %9.2f", best(w, fk, n[fk]) / best(w, ck, n[ck]), ncpu * median(c, fk, n[fk]) / median(c, ck, n[ck])))
		}
	}' "$results"
cat <<'EOT'
best_s/median_s: wall seconds, best and median run; records/s and MB/s from the best run (other work on
the machine only ever adds time); cpu_s: user+sys, median; rss_MiB: the largest peak of the runs.
ratio: check records/s over floor records/s, best runs (target >= 0.5). cpu_bound: nproc x floor CPU /
check CPU, the ratio an otherwise idle machine allows when check keeps every core busy.
EOT
echo
check_cpu=$(awk -F'\t' -v n="$serve_count" '$1 == n && $2 == "check" { s += $5 + $6; c++ } END { printf "%.2f", s / c }' "$results")
serve_recs=$(cut -f1 "$scratch/db-$serve_count/size")
awk -v sc="$serve_cpu" -v cc="$check_cpu" -v r="$serve_recs" -v w="$serve_wall" -v h="$hwm" -v p="$serve_pass" 'BEGIN {
	printf "serve, one paced pass of %d records (--scan.pass-duration=%s): %.1f s wall, %.2f CPU s, peak RSS %.1f MiB\n", r, p, w, sc, h
	printf "  CPU per million records: serve %.2f s, check %.2f s (mean of its runs); serve/check %.2f\n", sc * 1e6 / r, cc * 1e6 / r, sc / cc
}'
echo "$nightly"
echo "raw runs: $results"
