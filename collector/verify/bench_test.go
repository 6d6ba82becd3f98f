package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/store/leveldb/leveldbtest"
)

// The benchmarks measure the per-record cost of verification on records
// the Node app wrote: they are read from the committed Node-generated
// database testdata/leveldb/sigils-db (regenerate it with the command in
// testdata/node/make-leveldb.js). Run:
//
//	go test -run '^$' -bench Verify -benchmem ./collector/verify
//
// docs/PERFORMANCE.md has the figures and the end-to-end run.

const (
	benchSchema = "../../deploy/schema/sigil-record.schema.json"
)

var benchKeyFiles = []string{"../../testdata/keys/current.key", "../../testdata/keys/previous.key"}

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
	rec0 := leveldbtest.NodeRecords(b)[0]
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

// TestBenchRecords keeps the benchmarks' inputs honest in the ordinary test
// run: the Node records verify in js and raw mode as stored, in jcs mode once
// re-signed, and the schema accepts them.
func TestBenchRecords(t *testing.T) {
	recs := leveldbtest.NodeRecords(t)
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
}
