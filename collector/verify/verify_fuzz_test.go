package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// FuzzVerify feeds arbitrary (key, value) pairs through the whole record
// verifier. The seed corpus (every stored document of the Node vectors and
// every record of the Node-written LevelDB in testdata, odd ones included)
// runs in a plain `go test`; explore with
//
//	go test ./collector -run '^$' -fuzz FuzzVerify -fuzztime 120s
//
// Properties: no panic; the outcome is "" or a per-record check name; the
// detail is one valid UTF-8 line that never holds key material; a reused
// Scratch gives the same outcome as a fresh one; a record that passes is
// valid JSON, its id equals its key, and its signature is the HMAC of
// JSON.stringify(data || {}) computed independently of the verifier; a
// valid shallow JSON object never fails `decode`; a record over the size
// limit always does.
func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s[0], s[1])
	}
	fv := newFuzzVerifiers(f)
	f.Fuzz(func(t *testing.T, key, value []byte) {
		fv.check(t, key, value)
	})
}

// fuzzKeyFiles are the HMAC keys the fuzz verifiers hold: the ones the
// Node-written testdata is signed with, and a distinctive one. No key's
// bytes (or their hex) may surface in a detail.
var fuzzKeyFiles = []string{"testdata/keys/current.key", "testdata/keys/previous.key", ""}

const fuzzDistinctKey = "FUZZ-SECRET-7c1e9b04d2"

type fuzzVerifiers struct {
	all      []*Verifier // js+keys, raw, jcs+sha512/base64, js+schema
	limited  *Verifier   // js with MaxRecordBytes
	limit    int
	keyed    *Verifier // all[0]
	scratch  []*Scratch
	material [][]byte
	keys     []string // trimmed key material, in key-index order
}

func newFuzzVerifiers(tb testing.TB) *fuzzVerifiers {
	tb.Helper()
	dir := tb.TempDir()
	distinct := filepath.Join(dir, "distinct.key")
	if err := os.WriteFile(distinct, []byte(fuzzDistinctKey+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	var keyPaths, material []string
	for _, f := range fuzzKeyFiles {
		p := distinct
		if f != "" {
			p = filepath.Join("..", "..", f)
		}
		b := testutil.ReadFile(tb, p)
		keyPaths = append(keyPaths, p)
		material = append(material, strings.TrimSpace(string(b)))
	}
	keys, _, err := LoadSigningKeys(keyPaths)
	if err != nil {
		tb.Fatal(err)
	}
	schema, err := LoadSchema(filepath.Join("..", "..", "deploy", "schema", "sigil-record.schema.json"), FormatAssert)
	if err != nil {
		tb.Fatal(err)
	}
	mk := func(c VerifierConfig) *Verifier {
		v, err := NewVerifier(c)
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	fv := &fuzzVerifiers{limit: 200, keys: material}
	fv.all = []*Verifier{
		mk(VerifierConfig{Canonical: canonical.JS, Keys: keys}),
		mk(VerifierConfig{Canonical: canonical.Raw, Keys: keys[1:], Signature: SignatureConfig{Payload: "checksum"}}),
		mk(VerifierConfig{Canonical: canonical.JCS, Keys: keys, Signature: SignatureConfig{Algorithm: "sha512", Encoding: "base64"}}),
		mk(VerifierConfig{Canonical: canonical.JS, Schema: schema, RequiredFields: []string{"id", "signature", "data"}}),
	}
	fv.keyed = fv.all[0]
	fv.limited = mk(VerifierConfig{Canonical: canonical.JS, Keys: keys, MaxRecordBytes: fv.limit})
	for _, v := range fv.all {
		fv.scratch = append(fv.scratch, v.NewScratch())
	}
	for _, k := range material {
		fv.material = append(fv.material, []byte(k), []byte(hex.EncodeToString([]byte(k))))
	}
	return fv
}

// recordChecks are the outcomes Verify may give: the set-level checks
// (duplicate, missing) are the walk's, and read needs a store error.
var recordChecks = []string{"", CheckDecode, CheckFields, CheckKey, CheckChecksum, CheckSignature, CheckSchema}

func (fv *fuzzVerifiers) check(t *testing.T, key, value []byte) {
	rec := store.Record{Key: key, Value: value}
	for i, v := range fv.all {
		fresh := v.Verify(rec, v.NewScratch())
		reused := v.Verify(rec, fv.scratch[i])
		if fresh != reused {
			t.Fatalf("verifier %d: a reused Scratch gives %+v, a fresh one %+v", i, reused, fresh)
		}
		fv.checkOutcome(t, i, key, value, fresh)
	}
	out := fv.keyed.Verify(rec, fv.scratch[0])
	if out.OK() {
		fv.checkPassed(t, value, out)
	}
	if out.Check == CheckDecode {
		trimmed := bytes.TrimLeft(value, " \t\r\n")
		shallow := bytes.Count(value, []byte("["))+bytes.Count(value, []byte("{")) < canonical.MaxDepth-10
		if json.Valid(value) && utf8.Valid(value) && shallow && len(trimmed) > 0 && trimmed[0] == '{' {
			t.Fatalf("a valid JSON object failed decode: %q: %s", value, out.Detail)
		}
	}
	lim := fv.limited.Verify(rec, fv.limited.NewScratch())
	if len(value) > fv.limit {
		if lim.Check != CheckDecode || !strings.Contains(lim.Detail, "max-record-bytes") {
			t.Fatalf("a %d-byte record over the %d-byte limit gave %q %q", len(value), fv.limit, lim.Check, lim.Detail)
		}
	} else if lim != out {
		t.Fatalf("under the size limit the limited verifier gives %+v, the unlimited %+v", lim, out)
	}
}

func (fv *fuzzVerifiers) checkOutcome(t *testing.T, i int, key, value []byte, out Outcome) {
	if !slices.Contains(recordChecks, out.Check) {
		t.Fatalf("verifier %d: unknown outcome check %q for %q", i, out.Check, value)
	}
	if out.OK() != (out.Detail == "") {
		t.Fatalf("verifier %d: check %q with detail %q", i, out.Check, out.Detail)
	}
	if strings.ContainsAny(out.Detail, "\n\r") || !utf8.ValidString(out.Detail) {
		t.Fatalf("verifier %d: detail is not one UTF-8 line: %q", i, out.Detail)
	}
	for _, m := range fv.material {
		if bytes.Contains([]byte(out.Detail), m) && !bytes.Contains(key, m) && !bytes.Contains(value, m) {
			t.Fatalf("verifier %d: detail holds key material: %q", i, out.Detail)
		}
	}
	// A failing record past the key check names its id, which is its key;
	// a passing one carries no id (its key is its id).
	if out.Check == CheckSignature && out.ID != string(key) || out.OK() && out.ID != "" {
		t.Fatalf("verifier %d: got to %q with id %q under key %q", i, out.Check, out.ID, key)
	}
}

// checkPassed re-derives, without the verifier, that a passing record is
// what Node would accept: valid JSON, id == key, signature == HMAC-SHA256
// (hex) of JSON.stringify(data || {}) with one of the keys.
func (fv *fuzzVerifiers) checkPassed(t *testing.T, value []byte, out Outcome) {
	if !json.Valid(value) || !utf8.Valid(value) {
		t.Fatalf("invalid JSON passed: %q", value)
	}
	var doc canonical.Doc
	if err := doc.Parse(value); err != nil {
		t.Fatalf("passed but does not parse: %v", err)
	}
	data, _ := doc.Get("data")
	canon, err := canonical.JS.Append(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	if out.Sum != sha256.Sum256(canon) {
		t.Fatalf("Sum is not the SHA-256 of the canonical data for %q", value)
	}
	sigRaw, _ := doc.Get("signature")
	sig, _ := canonical.StringValue(sigRaw)
	got, err := hex.DecodeString(sig)
	if err != nil {
		t.Fatalf("passed with a non-hex signature %q", sig)
	}
	if out.KeyIndex < 0 || out.KeyIndex >= len(fv.keys) {
		t.Fatalf("passed with key index %d", out.KeyIndex)
	}
	mac := hmac.New(sha256.New, []byte(fv.keys[out.KeyIndex]))
	mac.Write(canon)
	if !hmac.Equal(mac.Sum(nil), got) {
		t.Fatalf("passed, but the signature is not key %d's HMAC of %q", out.KeyIndex, canon)
	}
}

// fuzzSeeds are the Node vectors' stored documents (under their id, and
// under a wrong key) and every record of testdata/leveldb/sigils-db, read
// from a copy.
func fuzzSeeds(tb testing.TB) [][2][]byte {
	tb.Helper()
	vf := readNodeVectors(tb)
	var seeds [][2][]byte
	for _, v := range vf.Vectors {
		seeds = append(seeds, [2][]byte{[]byte("v"), []byte(v.Stored)}, [2][]byte{[]byte("other"), []byte(v.Stored)})
	}
	if len(vf.Vectors) == 0 {
		tb.Fatal("no vectors in testdata/canonical/vectors.json")
	}
	n := len(seeds)
	db := testutil.CopyDir(tb, filepath.Join("..", "..", "testdata", "leveldb", "sigils-db"))
	ldb, err := leveldb.OpenFile(db, &opt.Options{ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer ldb.Close()
	it := ldb.NewIterator(nil, nil)
	defer it.Release()
	prefix := []byte("!sigils!")
	for it.Next() {
		k := bytes.TrimPrefix(it.Key(), prefix)
		seeds = append(seeds, [2][]byte{slices.Clone(k), slices.Clone(it.Value())})
	}
	if len(seeds)-n < 300 {
		tb.Fatalf("only %d records in testdata/leveldb/sigils-db", len(seeds)-n)
	}
	return seeds
}

// TestFuzzSeedsPass: the fuzz verifier is not vacuous: among the seeds,
// the Node vectors' signed documents pass and the testdata's planted bad
// records fail with their check.
func TestFuzzSeedsPass(t *testing.T) {
	fv := newFuzzVerifiers(t)
	counts := map[string]int{}
	for _, s := range fuzzSeeds(t) {
		fv.check(t, s[0], s[1])
		counts[fv.keyed.Verify(store.Record{Key: s[0], Value: s[1]}, fv.scratch[0]).Check]++
	}
	for _, c := range []string{CheckDecode, CheckFields, CheckKey, CheckChecksum, CheckSignature} {
		if counts[c] == 0 {
			t.Errorf("no seed fails %q: %v", c, counts)
		}
	}
	if counts[""] < 100 {
		t.Errorf("only %d seeds pass: %v", counts[""], counts)
	}
}
