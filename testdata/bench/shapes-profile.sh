#!/usr/bin/env bash
# shapes-profile.sh: where Verify's CPU time goes, per record shape
# (docs/PERFORMANCE.md, "By record shape"). For each shape it runs
# BenchmarkVerifyShape/<shape> (Node-written records of
# testdata/bench/shapes.json, js mode, two keys) under the CPU profiler
# and sums pprof's flat time into: the one scan (canonical: validation and
# the JS-form check), the slow-path encoder (re-encoding non-canonical
# data), SHA-256 (checksum and HMAC), and the rest.
#
#   testdata/bench/shapes-profile.sh [OUT_DIR]      (default /tmp/sigil-shapes-prof)
set -euo pipefail
out=${1:-/tmp/sigil-shapes-prof}
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
(cd "$repo" && go test -c -o "$out/collector.test" ./collector)
printf '| shape | µs/record (benchmark) | scan (parse + JS-form check) | re-encode (slow path) | SHA-256 + HMAC | other |\n|---|---|---|---|---|---|\n'
for s in number-dense long-ascii non-ascii many-keys deep non-canonical; do
	(cd "$repo/collector" && "$out/collector.test" -test.run '^$' -test.bench "VerifyShape/$s\$" -test.benchtime 3s \
		-test.cpuprofile "$out/$s.prof" >"$out/$s.bench")
	ns=$(awk '/ns\/op/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "ns/op") print $i }' "$out/$s.bench")
	go tool pprof -top -nodecount=1000 "$out/collector.test" "$out/$s.prof" 2>/dev/null | awk -v s="$s" -v ns="$ns" '
		function ms(v) { if (v ~ /ms$/) return v + 0; if (v ~ /us$/) return v / 1000; if (v ~ /s$/) return v * 1000; return v + 0 }
		/^ *[0-9.]+(s|ms|us) / {
			f = ms($1); name = $6
			if (name ~ /canonical\.\(\*encoder\)|canonical\.appendSlow|canonical\.\(\*encoder\)|canonical\.sortMembers|canonical\.appendNumber|canonical\.appendJSNumber|strconv\./) enc += f
			else if (name ~ /canonical\./) scan += f
			else if (name ~ /sha256|hmac|sha512/) sha += f
			else if (name ~ /testing\.|runtime\./ && name !~ /memmove|memequal|morestack/) next
			else other += f
		}
		END { t = scan + enc + sha + other; if (t == 0) t = 1
			printf "| %s | %.2f | %.0f %% | %.0f %% | %.0f %% | %.0f %% |\n", s, ns / 1000, 100 * scan / t, 100 * enc / t, 100 * sha / t, 100 * other / t }'
done
echo "percentages of Verify's CPU samples (runtime and test harness excluded); profiles in $out"
