package verify

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// shapeRecords reads testdata/bench/shapes.json: records of each shape of
// docs/PERFORMANCE.md, written by Node (testdata/node/make-shapes.js).
func shapeRecords(tb testing.TB) map[string][]store.Record {
	tb.Helper()
	b := testutil.ReadFile(tb, "../../testdata/bench/shapes.json")
	var f struct {
		Shapes map[string][]string `json:"shapes"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	out := map[string][]store.Record{}
	for shape, values := range f.Shapes {
		for _, v := range values {
			var d canonical.Doc
			if err := d.Parse([]byte(v)); err != nil {
				tb.Fatalf("%s: %v", shape, err)
			}
			id, _ := d.Get("id")
			out[shape] = append(out[shape], store.Record{Key: id[1 : len(id)-1], Value: []byte(v)})
		}
	}
	if len(out) < 6 {
		tb.Fatalf("only %d shapes in testdata/bench/shapes.json", len(out))
	}
	return out
}

var benchShapes = []string{"number-dense", "long-ascii", "non-ascii", "many-keys", "deep", "non-canonical"}

// TestShapeRecords: every Node-written record of every shape verifies, and
// the canonical ones take the one-scan path (Parse marks data JS) while
// the non-canonical shape does not.
func TestShapeRecords(t *testing.T) {
	v := newBenchVerifier(t, canonical.JS, false)
	s := v.NewScratch()
	for shape, recs := range shapeRecords(t) {
		for _, r := range recs {
			if o := v.Verify(r, s); !o.OK() || o.KeyIndex != 0 {
				t.Fatalf("%s %s: %s %s", shape, r.Key, o.Check, o.Detail)
			}
			m, _ := s.doc.GetMember("data")
			if m.JS != (shape != "non-canonical") {
				t.Errorf("%s %s: data marked JS=%v", shape, r.Key, m.JS)
			}
		}
	}
}

// BenchmarkVerifyShape: Verify (js mode, two keys) per record of each shape,
// with SetBytes the stored size, so MB/s compares with BenchmarkFloorShape.
func BenchmarkVerifyShape(b *testing.B) {
	all := shapeRecords(b)
	v := newBenchVerifier(b, canonical.JS, false)
	for _, shape := range benchShapes {
		b.Run(shape, func(b *testing.B) { benchVerify(b, v, all[shape]) })
	}
}

// benchVerify verifies recs round and round, each record expected to pass.
func benchVerify(b *testing.B, v *Verifier, recs []store.Record) {
	s := v.NewScratch()
	b.SetBytes(meanSize(recs))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if o := v.Verify(recs[i%len(recs)], s); !o.OK() {
			b.Fatal(o.Check, o.Detail)
		}
	}
}

// BenchmarkFloorShape: the floor's per-record work on the same records,
// SHA-256 of the stored value (the floor program adds the LevelDB read,
// which check pays too).
func BenchmarkFloorShape(b *testing.B) {
	all := shapeRecords(b)
	for _, shape := range benchShapes {
		recs := all[shape]
		b.Run(shape, func(b *testing.B) {
			b.SetBytes(meanSize(recs))
			for i := 0; b.Loop(); i++ {
				sha256.Sum256(recs[i%len(recs)].Value)
			}
		})
	}
}

func meanSize(recs []store.Record) int64 {
	n := 0
	for _, r := range recs {
		n += len(r.Value)
	}
	return int64(n / len(recs))
}

// BenchmarkVerifyNonCanonical: the two halves of the non-canonical shape
// apart (make-shapes.js writes the even records pretty-printed, the odd
// ones with their members reordered), to see which costs what.
func BenchmarkVerifyNonCanonical(b *testing.B) {
	recs := shapeRecords(b)["non-canonical"]
	v := newBenchVerifier(b, canonical.JS, false)
	for half, name := range []string{"pretty", "reordered"} {
		var sub []store.Record
		for k := half; k < len(recs); k += 2 {
			sub = append(sub, recs[k])
		}
		b.Run(name, func(b *testing.B) { benchVerify(b, v, sub) })
	}
}
