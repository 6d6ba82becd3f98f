#!/usr/bin/env bash
# shapes.sh: `check` against the floor on Node-written LevelDBs of each
# record shape (docs/PERFORMANCE.md, "By record shape").
#
#   testdata/bench/shapes.sh [SCRATCH_DIR]        (default /tmp/sigil-shapes)
#
# 1. Generates, once, a LevelDB of $COUNT records per shape with
#    testdata/node/make-shapes.js (classic-level, sublevel "sigils",
#    JSON.stringify, HMAC with testdata/keys/current.key); reused later.
# 2. Builds the exporter and the floor program (testdata/bench/floor).
# 3. Per shape, $RUNS pairs: floor and `check` (two keys, js mode, every
#    check but schema) back to back, the order alternating between pairs,
#    each under /usr/bin/time -v. The machine may be shared: a pair's two
#    runs see about the same load, so the ratio is taken per pair and the
#    table shows medians (ratio, wall, CPU per record) and the largest peak
#    RSS.
#
# Environment: SHAPES (default: all six), COUNT (200000), RUNS (5), BASE
# (optional: another exporter binary, e.g. one built from an older commit,
# run as a third member of every pair: its ratio is shown beside).
# Needs: go, node (testdata/node/node_modules: npm ci), GNU time.
set -euo pipefail

scratch=${1:-/tmp/sigil-shapes}
shapes=${SHAPES:-"number-dense long-ascii non-ascii many-keys deep non-canonical"}
count=${COUNT:-200000}
runs=${RUNS:-5}
repo=$(cd "$(dirname "$0")/../.." && pwd)
prefix='!sigils!'
keys=(--verify.key-file="$repo/testdata/keys/current.key" --verify.key-file="$repo/testdata/keys/previous.key")

mkdir -p "$scratch"
for s in $shapes; do
	d="$scratch/$s-$count"
	if [ ! -e "$d/.done" ]; then
		echo "generating $count $s records in $d/db ..." >&2
		rm -rf "$d" && mkdir -p "$d"
		node "$repo/testdata/node/make-shapes.js" "$d/db" --shape "$s" --count "$count"
		touch "$d/.done"
	fi
done
(cd "$repo" && go build -o "$scratch/sie" ./exporter && go build -o "$scratch/floor" ./testdata/bench/floor)

field() { grep -F "$1" "$2" | head -1 | sed 's/.*: //'; }
secs() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.3f", s }' <<<"$1"; }
results="$scratch/results.tsv"
: >"$results"
# one SHAPE RUN PROG CMD...: appends "shape run prog wall cpu rss_mib load" to results.
one() {
	local shape=$1 run=$2 prog=$3 tf="$scratch/time.out" rc=0 load
	shift 3
	load=$(cut -d' ' -f1 /proc/loadavg)
	/usr/bin/time -v -o "$tf" "$@" >"$scratch/last.out" 2>"$scratch/last.err" || rc=$?
	if [ $rc -ne 0 ]; then
		echo "shapes.sh: $prog on $shape exited $rc:" >&2
		cat "$scratch/last.out" "$scratch/last.err" >&2
		exit 1
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$shape" "$run" "$prog" "$(secs "$(field 'Elapsed (wall clock)' "$tf")")" \
		"$(awk -v u="$(field 'User time' "$tf")" -v s="$(field 'System time' "$tf")" 'BEGIN { printf "%.2f", u + s }')" \
		"$(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(field 'Maximum resident set size' "$tf")")" "$load" >>"$results"
}
passed() {
	grep -q "^Checked $count sigils. 0 failures." "$scratch/last.out" ||
		{ echo "shapes.sh: check on $1 did not pass every record:" >&2; cat "$scratch/last.out" >&2; exit 1; }
}
for s in $shapes; do
	db="$scratch/$s-$count/db"
	cat "$db"/* >/dev/null
	for run in $(seq 1 "$runs"); do
		work="$scratch/work" && rm -rf "$work" && mkdir -p "$work"
		floor=("$scratch/floor" -prefix "$prefix" "$db")
		check=("$scratch/sie" check --store.leveldb.path="$db" --store.leveldb.prefix="$prefix" "${keys[@]}" --report.dir="$work/r" --state.path="$work/s" --log.level=error)
		if [ $((run % 2)) -eq 1 ]; then
			one "$s" "$run" floor "${floor[@]}"
			one "$s" "$run" check "${check[@]}"
			passed "$s"
		else
			one "$s" "$run" check "${check[@]}"
			passed "$s"
			one "$s" "$run" floor "${floor[@]}"
		fi
		if [ -n "${BASE:-}" ]; then
			rm -rf "$work" && mkdir -p "$work"
			one "$s" "$run" base "$BASE" "${check[@]:1}"
			passed "$s"
		fi
	done
done

echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3); $count records per shape, $runs pairs, load before runs $(cut -f7 "$results" | sort -n | head -1)..$(cut -f7 "$results" | sort -n | tail -1)"
printf '| shape | bytes/record | floor s | check s | ratio (median of pairs) | floor CPU µs/rec | check CPU µs/rec | 2 x floor CPU / check CPU | check peak RSS MiB | base ratio | base CPU µs/rec |\n|---|---|---|---|---|---|---|---|---|---|---|\n'
for s in $shapes; do
	bytes=$(du -sb "$scratch/$s-$count/db" | cut -f1)
	awk -F'\t' -v s="$s" -v n="$count" -v b="$bytes" '
		function med(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
		$1 == s && $3 == "floor" { fw[$2] = $4; fc[$2] = $5 }
		$1 == s && $3 == "check" { cw[$2] = $4; cc[$2] = $5; if ($6 > rss) rss = $6 }
		$1 == s && $3 == "base" { bw[$2] = $4; bc[$2] = $5 }
		END {
			for (r in fw) { k++; r1[k] = fw[r] / cw[r]; w1[k] = fw[r]; w2[k] = cw[r]; c1[k] = fc[r]; c2[k] = cc[r]; if (r in bw) { kb++; r2[kb] = fw[r] / bw[r]; c3[kb] = bc[r] } }
			base = kb ? sprintf("%.2f | %.2f", med(r2, kb), med(c3, kb) / n * 1e6) : "- | -"
			printf "| %s | %d | %.2f | %.2f | **%.2f** | %.2f | %.2f | %.2f | %.1f | %s |\n", s, b / n, med(w1, k), med(w2, k), med(r1, k), med(c1, k) / n * 1e6, med(c2, k) / n * 1e6, 2 * med(c1, k) / med(c2, k), rss, base
		}' "$results"
done
echo "bytes/record: the database on disk over the records (compressed by LevelDB); raw runs: $results"
