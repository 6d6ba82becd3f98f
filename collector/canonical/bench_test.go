package canonical

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// typicalRecord is a ~1 KiB record shaped like the app's: a few string
// fields, nested objects, an array, numbers, a non-ASCII name.
const typicalRecord = `{"id":"sigil-0000123456","data":{"owner":{"name":"Zoë Müller","email":"zoe.muller@example.org",` +
	`"roles":["admin","auditor","viewer"],"since":"2021-03-04T05:06:07.089Z"},"amount":1234.5,"currency":"EUR",` +
	`"items":[{"sku":"A-1001","qty":2,"price":19.99,"tags":["red","xl"]},{"sku":"B-2002","qty":1,"price":5,"tags":[]},` +
	`{"sku":"C-3003","qty":12,"price":0.35,"tags":["bulk"]}],"notes":"Delivered to the front desk; signed by J. Smith.",` +
	`"flags":{"fragile":false,"gift":true,"express":null},"geo":{"lat":52.520008,"lon":13.404954},"version":7,` +
	`"history":[{"at":1700000000000,"by":"system","what":"created"},{"at":1700000360000,"by":"ops","what":"approved"},` +
	`{"at":1700003600000,"by":"courier","what":"picked up"},{"at":1700090000000,"by":"courier","what":"delivered"}],` +
	`"ref":"ORD-2023-11-14-000042","channel":"web","locale":"de-DE"},` +
	`"checksum":"9f86d081884c7d659a2feb15c1f1d3b6f4f2a3c55b8f6e0b1f0e1d2c3b4a5968",` +
	`"signature":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","createdAt":"2023-11-14T22:13:20.000Z"}`

// nodeRecord is the first record of testdata/leveldb/sigils-db, as
// testdata/node/make-leveldb.js writes it (Node's JSON.stringify): what the
// end-to-end benchmark reads.
const nodeRecord = `{"id":"sigil-0000000","checksum":"3085e591155168abe839a514e4b4182967722631a6bd23dbedcc3409daefdbd4","signature":"fb003605a342273c1a1cd2f426d0747de33262e9753ad53b536eabac5bfc872f","createdAt":"2024-05-01T12:00:00.000Z","data":{"owner":{"name":"lumen amber","email":"jasper.0@example.org","tier":4},"title":"rune fjord lumen marrow harbor rune","description":"indigo indigo cinder harbor ember cinder indigo basalt harbor nickel fjord delta amber harbor kelp onyx fjord delta lumen jasper nickel delta marrow indigo nickel rune ember nickel cinder fjord harbor ember cinder nickel kelp cinder ember amber lumen pylon","tags":["rune","marrow"],"amounts":[4022.98,3023.73,6772.15,9526.31,9233.31,6927.44,9188.84,8344.22],"ratio":0.9338382876012474,"active":true,"parent":null,"history":[{"at":1700000000000,"by":"pylon","op":"fjord"},{"at":1700000000001,"by":"pylon","op":"jasper"},{"at":1700000000002,"by":"quartz","op":"marrow"}],"geo":{"lat":-60.073708,"lon":63.651242}}}`

func largeStringRecord() string {
	s := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 460)[:20480]
	return `{"id":"big","data":{"blob":"` + s + `","n":1},"signature":"s"}`
}

func benchParseAppend(b *testing.B, rec []byte) {
	var d Doc
	var dst []byte
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = parseAppend(&d, JS, rec, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// parseAppend parses rec into d and appends the canonical form of its
// data in mode m to dst: the per-record work the benchmarks measure.
func parseAppend(d *Doc, m Mode, rec, dst []byte) ([]byte, error) {
	if err := d.Parse(rec); err != nil {
		return dst, err
	}
	data, _ := d.Get("data")
	return m.Append(dst, data)
}

func BenchmarkParseAppend(b *testing.B) {
	b.Run("typical-1KiB", func(b *testing.B) { benchParseAppend(b, []byte(typicalRecord)) })
	b.Run("node-1KiB", func(b *testing.B) { benchParseAppend(b, []byte(nodeRecord)) })
	b.Run("string-20KB", func(b *testing.B) { benchParseAppend(b, []byte(largeStringRecord())) })
	b.Run("reorder-index-dup", func(b *testing.B) {
		benchParseAppend(b, []byte(`{"id":"x","data":{"b":1,"a":2,"2":3,"1":{"z":1,"0":2},"a":4,"c":[1,2,3]},"signature":"s"}`))
	})
}

// BenchmarkSHA256Floor is the cost of only hashing the same record, for
// comparison with the canonicalisation cost.
func BenchmarkSHA256Floor(b *testing.B) {
	rec := []byte(typicalRecord)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		sha256.Sum256(rec)
	}
}

// TestSteadyStateAllocs pins the zero-allocation promise: with a reused Doc
// and dst, parsing and canonicalising a record does not allocate.
func TestSteadyStateAllocs(t *testing.T) {
	records := map[string]string{
		"typical": typicalRecord,
		"node":    nodeRecord,
		"large":   largeStringRecord(),
		"reorder": `{"id":"x","data":{"b":1,"a":2,"2":3,"1":{"z":1,"0":2},"a":4,"c":[1,2,3]},"signature":"s"}`,
		"many-keys-dup": `{"id":"x","data":{` + strings.Repeat(`"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,`, 4) +
			`"9":0},"signature":"s"}`,
	}
	for name, rec := range records {
		for _, m := range []Mode{JS, JCS, Raw} {
			if m == JCS && (name == "many-keys-dup" || name == "reorder") { // duplicates: no JCS form
				continue
			}
			var d Doc
			dst := make([]byte, 0, 64<<10)
			b := []byte(rec)
			run := func() {
				var err error
				if dst, err = parseAppend(&d, m, b, dst[:0]); err != nil {
					t.Fatal(err)
				}
			}
			run() // warm the name cache and the encoder pool
			if n := testing.AllocsPerRun(100, run); n != 0 {
				t.Errorf("%s/%v: %v allocations per record, want 0", name, m, n)
			}
		}
	}
}

// BenchmarkAppendJS is the JS form of the typical record's data alone:
// Append (the fast path's check and a copy), Canonical (the check, no
// copy) and the slow path (the encoder) that both fall back to.
func BenchmarkAppendJS(b *testing.B) {
	for _, rec := range []struct{ name, doc string }{{"typical", typicalRecord}, {"node", nodeRecord}} {
		var d Doc
		if err := d.Parse([]byte(rec.doc)); err != nil {
			b.Fatal(err)
		}
		data, _ := d.Get("data")
		if !JS.isCanonical(data) {
			b.Fatalf("the %s record's data does not take the fast path", rec.name)
		}
		dst := make([]byte, 0, 4096)
		for _, c := range []struct {
			name string
			f    func(dst, raw []byte) ([]byte, error)
		}{{"Append", JS.Append}, {"Canonical", JS.Canonical}, {"slow", JS.appendSlow}} {
			b.Run(rec.name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.f(dst[:0], data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
