package collector

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/leveldb"
)

// The benchmarks measure the per-record cost of verification on records
// the Node app wrote: they are read from the committed Node-generated
// database testdata/leveldb/sigils-db (regenerate it with the command in
// testdata/node/make-leveldb.js). Run:
//
//	go test -run '^$' -bench 'Verify|Walk' -benchmem ./collector
//
// docs/PERFORMANCE.md has the figures and the end-to-end run.

const (
	benchDB     = "../testdata/leveldb/sigils-db"
	benchSchema = "../deploy/schema/sigil-record.schema.json"
)

var benchKeyFiles = []string{"../testdata/keys/current.key", "../testdata/keys/previous.key"}

// nodeRecords reads the app's ordinary records (sigil-NNNNNNN, about 1 KiB
// each) out of the committed Node-written database, in key order.
func nodeRecords(tb testing.TB) []store.Record {
	tb.Helper()
	s, err := leveldb.Open(benchDB, leveldb.Options{Prefix: []byte("!sigils!")})
	if err != nil {
		tb.Fatalf("open the committed Node database: %v", err)
	}
	defer s.Close()
	var recs []store.Record
	err = s.Scan(context.Background(), nil, func(r store.Record) error {
		if r.Err != nil {
			return r.Err
		}
		if bytes.HasPrefix(r.Key, []byte("sigil-")) {
			recs = append(recs, store.Record{Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)})
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("scan the committed Node database: %v", err)
	}
	if len(recs) < 20 {
		tb.Fatalf("the committed Node database holds %d ordinary records, want at least 20", len(recs))
	}
	return recs
}

func benchKeys(tb testing.TB) []SigningKey {
	tb.Helper()
	keys, _, err := LoadSigningKeys(benchKeyFiles)
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

func newBenchVerifier(tb testing.TB, mode canonical.Mode, schema bool) *Verifier {
	tb.Helper()
	cfg := VerifierConfig{Canonical: mode, Keys: benchKeys(tb)}
	if schema {
		s, err := LoadSchema(benchSchema, FormatAssert)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Schema = s
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// resign returns the record with its checksum and signature recomputed for
// mode with key k. In js and raw mode a Node-written record already holds
// these values; jcs sorts keys, so it needs new ones.
func resign(tb testing.TB, value []byte, mode canonical.Mode, k SigningKey) []byte {
	tb.Helper()
	var d canonical.Doc
	if err := d.Parse(value); err != nil {
		tb.Fatal(err)
	}
	data, _ := d.Get("data")
	canon, err := mode.Append(nil, data)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	m := hmac.New(sha256.New, k.material)
	m.Write(canon)
	oldSum, _ := d.Get("checksum")
	oldSig, _ := d.Get("signature")
	out := bytes.Replace(value, oldSum, []byte(`"`+hex.EncodeToString(sum[:])+`"`), 1)
	return bytes.Replace(out, oldSig, []byte(`"`+hex.EncodeToString(m.Sum(nil))+`"`), 1)
}

// BenchmarkVerify is one ~1 KiB Node-written record through Verify with two
// keys configured. "current" verifies with the first key (one HMAC);
// "previous" is the same record signed with the second key, which verifies
// after the first fails (two HMACs), as a record signed before a key
// rotation does. TestBenchRecords checks that Node's own previous-key
// records verify the same way.
func BenchmarkVerify(b *testing.B) {
	rec0 := nodeRecords(b)[0]
	keys := benchKeys(b)
	keyOf := map[string]SigningKey{"current": keys[0], "previous": keys[1]}
	wantIdx := map[string]int{"current": 0, "previous": 1}
	for _, mode := range []canonical.Mode{canonical.JS, canonical.Raw, canonical.JCS} {
		for _, schema := range []bool{false, true} {
			for _, which := range []string{"current", "previous"} {
				name := fmt.Sprintf("%s/key=%s/schema=%v", mode, which, schema)
				b.Run(name, func(b *testing.B) {
					rec := rec0
					if mode == canonical.JCS || which == "previous" {
						rec.Value = resign(b, rec.Value, mode, keyOf[which])
					}
					v := newBenchVerifier(b, mode, schema)
					s := v.NewScratch()
					if o := v.Verify(rec, s); !o.OK() || o.KeyIndex != wantIdx[which] {
						b.Fatalf("the benchmark record does not verify as expected: check %q (%s), key %d", o.Check, o.Detail, o.KeyIndex)
					}
					b.SetBytes(int64(len(rec.Value)))
					b.ReportAllocs()
					for b.Loop() {
						if o := v.Verify(rec, s); !o.OK() {
							b.Fatal(o.Detail)
						}
					}
				})
			}
		}
	}
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
	recs := nodeRecords(tb)
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
	v := newBenchVerifier(b, canonical.JS, false)
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

// TestBenchRecords keeps the benchmarks' inputs honest in the ordinary test
// run: the Node records verify in js and raw mode as stored, in jcs mode once
// re-signed, and the schema accepts them.
func TestBenchRecords(t *testing.T) {
	recs := nodeRecords(t)
	keys := benchKeys(t)
	for _, mode := range []canonical.Mode{canonical.JS, canonical.Raw, canonical.JCS} {
		v := newBenchVerifier(t, mode, true)
		s := v.NewScratch()
		for i, r := range recs {
			want := 0
			if strings.HasSuffix(string(r.Key), "9") {
				want = 1
			}
			if mode == canonical.JCS {
				r.Value = resign(t, r.Value, mode, keys[want])
			}
			if o := v.Verify(r, s); !o.OK() || o.KeyIndex != want {
				t.Errorf("%s: record %d (%s): check %q (%s), key %d, want ok with key %d", mode, i, r.Key, o.Check, o.Detail, o.KeyIndex, want)
			}
		}
	}
	st, _ := benchStore(t, 1000)
	v := newBenchVerifier(t, canonical.JS, false)
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
