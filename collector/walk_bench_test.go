package collector

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/leveldb/leveldbtest"
)

// BenchmarkWalk measures the walk's own cost on records the Node app wrote
// (the committed testdata/leveldb/sigils-db); the per-record verification
// benchmarks are in collector/verify. Run:
//
//	go test -run '^$' -bench Walk -benchmem ./collector

// newBenchVerifier is the walk benchmarks' verifier: the two test keys, no schema.
func newBenchVerifier(tb testing.TB, mode canonical.Mode) *verify.Verifier {
	tb.Helper()
	keys, _, err := verify.LoadSigningKeys([]string{"../testdata/keys/current.key", "../testdata/keys/previous.key"})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := verify.NewVerifier(verify.VerifierConfig{Canonical: mode, Keys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// memStore is an in-memory store.Store: sorted keys, no I/O, so that the
// walk's own cost shows.
type memStore struct {
	keys, values [][]byte
}

func (m *memStore) Name() string            { return "mem" }
func (m *memStore) Compare(a, b []byte) int { return bytes.Compare(a, b) }
func (m *memStore) Close() error            { return nil }
func (m *memStore) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	i := 0
	if after != nil {
		i = sort.Search(len(m.keys), func(i int) bool { return bytes.Compare(m.keys[i], after) > 0 })
	}
	for ; i < len(m.keys); i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(store.Record{Key: m.keys[i], Value: m.values[i]}); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Get(_ context.Context, key []byte) ([]byte, bool, error) {
	i := sort.Search(len(m.keys), func(i int) bool { return bytes.Compare(m.keys[i], key) >= 0 })
	if i < len(m.keys) && bytes.Equal(m.keys[i], key) {
		return m.values[i], true, nil
	}
	return nil, false, nil
}

// benchStore builds n valid records from the Node-written ones: record i
// is Node record i%len with its id (which the signature does not cover)
// renamed to its new key, so every record is distinct and valid in js mode.
func benchStore(tb testing.TB, n int) (*memStore, int64) {
	tb.Helper()
	recs := leveldbtest.NodeRecords(tb)
	m := &memStore{}
	var size int64
	for i := 0; i < n; i++ {
		src := recs[i%len(recs)]
		key := fmt.Sprintf("sigil-%07d", i)
		if len(key) != len(src.Key) {
			tb.Fatalf("node key %q and bench key %q differ in length", src.Key, key)
		}
		v := bytes.Replace(src.Value, []byte(`"id":"`+string(src.Key)+`"`), []byte(`"id":"`+key+`"`), 1)
		m.keys = append(m.keys, []byte(key))
		m.values = append(m.values, v)
		size += int64(len(v))
	}
	return m, size
}

// BenchmarkWalk is a full walk of an in-memory store of 20,000 Node-style
// records with two keys in js mode (one op = one walk). "count" only counts
// the outcomes; "consumer" feeds them to the Consumer that check uses
// (duplicate check, pass accounting). It reports records/s, ns/record and
// allocs/record.
func BenchmarkWalk(b *testing.B) {
	const n = 20000
	st, size := benchStore(b, n)
	v := newBenchVerifier(b, canonical.JS)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, sinkName := range []string{"count", "consumer"} {
			b.Run(fmt.Sprintf("workers=%d/sink=%s", workers, sinkName), func(b *testing.B) {
				w := &Walker{Store: st, Verifier: v, Workers: workers}
				walk := func() {
					ok := 0
					var sink func(Result) error
					var cons *Consumer
					if sinkName == "count" {
						sink = func(r Result) error {
							if r.Outcome.OK() {
								ok++
							}
							return nil
						}
					} else {
						cons = &Consumer{Store: st, Verifier: v, KeyPrefix: "!sigils!", Pass: NewPass("mem", time.Now(), v.KeyCount(), 1000)}
						sink = cons.Sink(context.Background())
					}
					if err := w.Walk(context.Background(), nil, sink); err != nil {
						b.Fatal(err)
					}
					if cons != nil {
						ok = int(cons.Pass.Checked - cons.Pass.Failed())
					}
					if ok != n {
						b.Fatalf("%d of %d records verified", ok, n)
					}
				}
				b.SetBytes(size)
				b.ReportAllocs()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				for b.Loop() {
					walk()
				}
				el := time.Since(start)
				runtime.ReadMemStats(&after)
				recs := float64(n) * float64(b.N)
				b.ReportMetric(recs/el.Seconds(), "records/s")
				b.ReportMetric(float64(el.Nanoseconds())/recs, "ns/record")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/recs, "allocs/record")
			})
		}
	}
}

// TestBenchStore keeps BenchmarkWalk's input honest in the ordinary test
// run: the walk verifies every record of the benchmark store, in key order.
func TestBenchStore(t *testing.T) {
	st, _ := benchStore(t, 1000)
	v := newBenchVerifier(t, canonical.JS)
	n := 0
	err := (&Walker{Store: st, Verifier: v}).Walk(context.Background(), nil, func(r Result) error {
		if want := fmt.Sprintf("sigil-%07d", n); string(r.Key) != want || !r.Outcome.OK() {
			t.Errorf("result %d: key %s, check %q (%s); want key %s, ok", n, r.Key, r.Outcome.Check, r.Outcome.Detail, want)
		}
		n++
		return nil
	})
	if err != nil || n != 1000 {
		t.Fatalf("walk: %d records, %v; want 1000, nil", n, err)
	}
}

func mustVerifier(t *testing.T, cfg verify.VerifierConfig) *verify.Verifier {
	t.Helper()
	v, err := verify.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
