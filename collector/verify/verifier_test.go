package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// nodeVectors is testdata/canonical/vectors.json, written by
// testdata/node/gen-vectors.js: canonical forms, digests and HMACs as Node
// computes them, and whole records with Node's verdict.
type nodeVectors struct {
	HMACKey string `json:"hmac_key"`
	Vectors []struct {
		Name, Stored, JS string
		JSSHA256         string `json:"js_sha256"`
		JSHMAC           string `json:"js_hmac_sha256"`
	} `json:"vectors"`
	Records []struct {
		Name, Key, Stored, Verdict string
		IDText                     *string `json:"id_text"`
	} `json:"records"`
}

func readNodeVectors(tb testing.TB) nodeVectors {
	tb.Helper()
	return testutil.ReadJSON[nodeVectors](tb, testutil.Path(tb, "testdata", "canonical", "vectors.json"))
}

// TestVerifyNodeVectors: every Node vector whose stored text is a record
// with data verifies, with the checksum and HMAC Node computed.
func TestVerifyNodeVectors(t *testing.T) {
	file := readNodeVectors(t)
	v := mustVerifier(t, VerifierConfig{Canonical: canonical.JS, RequiredFields: []string{"id"}, Keys: []SigningKey{{file: "k", material: []byte(file.HMACKey)}}})
	s := v.NewScratch()
	n := 0
	for _, vec := range file.Vectors {
		if vec.JS == "" || vec.JSHMAC == "" {
			continue
		}
		// Wrap the vector's data into a record with Node's checksum and
		// signature and the stored data bytes exactly as Node stored them.
		var probe canonical.Doc
		if probe.Parse([]byte(vec.Stored)) != nil {
			continue
		}
		data, ok := probe.Get("data")
		dataText := "null"
		if ok {
			dataText = string(data)
		}
		rec := fmt.Sprintf(`{"id":"v","data":%s,"checksum":%q,"signature":%q}`, dataText, vec.JSSHA256, vec.JSHMAC)
		o := v.Verify(store.Record{Key: []byte("v"), Value: []byte(rec)}, s)
		if !o.OK() || o.KeyIndex != 0 {
			t.Errorf("%s: %s %s", vec.Name, o.Check, o.Detail)
		}
		n++
	}
	if n < 50 {
		t.Fatalf("only %d vectors exercised", n)
	}
}

// TestVerifyNodeRecords: whole records made by Node (string, numeric and
// falsy ids, ...) get Node's verdict, and a failing record's id is reported
// as the text String(rec.id) gives.
func TestVerifyNodeRecords(t *testing.T) {
	file := readNodeVectors(t)
	if len(file.Records) < 20 {
		t.Fatalf("only %d record vectors", len(file.Records))
	}
	v := mustVerifier(t, VerifierConfig{Canonical: canonical.JS, Keys: []SigningKey{{file: "k", material: []byte(file.HMACKey)}}})
	s := v.NewScratch()
	for _, r := range file.Records {
		t.Run(r.Name, func(t *testing.T) {
			o := v.Verify(store.Record{Key: []byte(r.Key), Value: []byte(r.Stored)}, s)
			if o.Check != r.Verdict {
				t.Fatalf("check %q (%s), Node's verdict %q", o.Check, o.Detail, r.Verdict)
			}
			if r.IDText != nil && !o.OK() && o.ID != *r.IDText {
				t.Errorf("reported id %q, want %q", o.ID, *r.IDText)
			}
		})
	}
}

// TestVerifyAllocs: a valid record with a string id, or a numeric one,
// verifies without allocating.
func TestVerifyAllocs(t *testing.T) {
	key := []byte("k")
	v := mustVerifier(t, VerifierConfig{Canonical: canonical.JS, Keys: []SigningKey{{file: "k", material: key}}})
	data := `{"glyph":"a","n":3,"tags":["x","y"],"strokes":[{"x":1,"y":2,"p":0.5}]}`
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	sig := hex.EncodeToString(mac.Sum(nil))
	for _, id := range []string{`"rec-1"`, `123`, `1.5`} {
		idText := strings.Trim(id, `"`)
		rec := store.Record{Key: []byte(idText), Value: []byte(fmt.Sprintf(`{"id":%s,"data":%s,"checksum":%q,"signature":%q}`, id, data, sha256Hex(data), sig))}
		s := v.NewScratch()
		if o := v.Verify(rec, s); !o.OK() {
			t.Fatalf("id %s: %s %s", id, o.Check, o.Detail)
		}
		if n := testing.AllocsPerRun(100, func() { v.Verify(rec, s) }); n != 0 {
			t.Errorf("id %s: %v allocations per record, want 0", id, n)
		}
	}
}

func mustVerifier(t *testing.T, cfg VerifierConfig) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVerifyChecks: one row a rule of the README's "What is checked" and
// of the signature options (--verify.signature-*).
func TestVerifyChecks(t *testing.T) {
	cur, prev := []byte("current-key"), []byte("previous-key")
	keys := []SigningKey{{file: "cur", material: cur}, {file: "prev", material: prev}}
	data := `{"b":1,"a":[true,null]}`
	sum := sha256.Sum256([]byte(data))
	sumHex := hex.EncodeToString(sum[:])
	mac := func(key []byte, payload string, sha512Hash bool) []byte {
		h := hmac.New(sha256.New, key)
		if sha512Hash {
			h = hmac.New(sha512.New, key)
		}
		h.Write([]byte(payload))
		return h.Sum(nil)
	}
	rec := func(fields string) string { return "{" + fields + "}" }
	good := func(sig string) string {
		return rec(fmt.Sprintf(`"id":"r1","data":%s,"checksum":%q,"signature":%q`, data, sumHex, sig))
	}
	hexSig := hex.EncodeToString(mac(cur, data, false))
	cases := []struct {
		name   string
		cfg    VerifierConfig
		key    string
		value  string
		check  string
		keyIdx int
	}{
		{"valid", VerifierConfig{Keys: keys}, "r1", good(hexSig), "", 0},
		{"rotated key", VerifierConfig{Keys: keys}, "r1", good(hex.EncodeToString(mac(prev, data, false))), "", 1},
		{"unknown key", VerifierConfig{Keys: keys}, "r1", good(hex.EncodeToString(mac([]byte("x"), data, false))), CheckSignature, -1},
		{"signature not hex", VerifierConfig{Keys: keys}, "r1", good("zz"), CheckSignature, -1},
		{"uppercase hex signature", VerifierConfig{Keys: keys}, "r1", good(strings.ToUpper(hexSig)), "", 0},
		{"no keys: signature unchecked", VerifierConfig{}, "r1", good("whatever"), "", -1},
		{"sha512 base64", VerifierConfig{Keys: keys, Signature: SignatureConfig{Algorithm: "sha512", Encoding: "base64"}}, "r1", good(base64.StdEncoding.EncodeToString(mac(cur, data, true))), "", 0},
		{"payload checksum", VerifierConfig{Keys: keys, Signature: SignatureConfig{Payload: "checksum"}}, "r1", good(hex.EncodeToString(mac(cur, sumHex, false))), "", 0},
		{"payload checksum signed over data", VerifierConfig{Keys: keys, Signature: SignatureConfig{Payload: "checksum"}}, "r1", good(hexSig), CheckSignature, -1},
		{"not JSON", VerifierConfig{}, "r1", `{"id":`, CheckDecode, -1},
		{"array", VerifierConfig{}, "r1", `[1]`, CheckDecode, -1},
		{"invalid UTF-8", VerifierConfig{}, "r1", "{\"id\":\"r1\xff\",\"signature\":\"s\"}", CheckDecode, -1},
		{"too large", VerifierConfig{MaxRecordBytes: 10}, "r1", good(hexSig), CheckDecode, -1},
		{"missing id", VerifierConfig{}, "r1", rec(`"signature":"s"`), CheckFields, -1},
		{"empty signature", VerifierConfig{}, "r1", rec(`"id":"r1","signature":""`), CheckFields, -1},
		{"numeric id", VerifierConfig{}, "1", rec(`"id":1,"signature":"s"`), "", -1},
		{"numeric id zero", VerifierConfig{}, "0", rec(`"id":0,"signature":"s"`), CheckFields, -1},
		{"boolean id", VerifierConfig{}, "true", rec(`"id":true,"signature":"s"`), CheckFields, -1},
		{"numeric signature", VerifierConfig{}, "r1", rec(`"id":"r1","signature":5`), CheckFields, -1},
		{"custom required field null", VerifierConfig{RequiredFields: []string{"id", "owner"}}, "r1", rec(`"id":"r1","owner":null`), CheckFields, -1},
		{"custom required field present", VerifierConfig{RequiredFields: []string{"id", "owner"}}, "r1", rec(`"id":"r1","owner":"me"`), "", -1},
		{"key mismatch", VerifierConfig{}, "r2", good(hexSig), CheckKey, -1},
		{"duplicate id key: last wins", VerifierConfig{}, "r1", rec(`"id":"zz","id":"r1","signature":"s"`), "", -1},
		{"checksum wrong", VerifierConfig{}, "r1", rec(fmt.Sprintf(`"id":"r1","signature":"s","data":%s,"checksum":%q`, data, strings.Repeat("0", 64))), CheckChecksum, -1},
		{"checksum uppercase", VerifierConfig{}, "r1", rec(fmt.Sprintf(`"id":"r1","signature":"s","data":%s,"checksum":%q`, data, strings.ToUpper(sumHex))), CheckChecksum, -1},
		{"checksum not a string", VerifierConfig{}, "r1", rec(fmt.Sprintf(`"id":"r1","signature":"s","data":%s,"checksum":5`, data)), CheckChecksum, -1},
		{"checksum null is absent", VerifierConfig{}, "r1", rec(fmt.Sprintf(`"id":"r1","signature":"s","data":%s,"checksum":null`, data)), "", -1},
		{"falsy data is {}", VerifierConfig{}, "r1", rec(fmt.Sprintf(`"id":"r1","signature":"s","data":0,"checksum":%q`, sha256Hex("{}"))), "", -1},
		{"checksum over reordered data fails", VerifierConfig{}, "r1", rec(fmt.Sprintf(`"id":"r1","signature":"s","data":{"a":[true,null],"b":1},"checksum":%q`, sumHex)), CheckChecksum, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := mustVerifier(t, c.cfg)
			o := v.Verify(store.Record{Key: []byte(c.key), Value: []byte(c.value)}, v.NewScratch())
			if o.Check != c.check || o.KeyIndex != c.keyIdx {
				t.Errorf("got check %q key %d (%s), want %q key %d", o.Check, o.KeyIndex, o.Detail, c.check, c.keyIdx)
			}
			for _, k := range [][]byte{cur, prev} {
				if strings.Contains(o.Detail, string(k)) {
					t.Errorf("detail leaks key material: %s", o.Detail)
				}
			}
		})
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestLoadSigningKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		testutil.Must(t, os.Chmod(p, mode))
		return p
	}
	private := write("private.key", "  secret-one\n", 0o600)
	public := write("public.key", "secret-two", 0o644)
	keys, warnings, err := LoadSigningKeys([]string{private, public})
	if err != nil {
		t.Fatal(err)
	}
	if string(keys[0].material) != "secret-one" || string(keys[1].material) != "secret-two" {
		t.Errorf("keys not trimmed as expected")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "public.key") {
		t.Errorf("warnings = %q, want one for public.key", warnings)
	}
	for _, s := range []string{fmt.Sprint(keys[0]), fmt.Sprintf("%v %+v %#v", keys, keys, keys)} {
		if strings.Contains(s, "secret") {
			t.Errorf("printing a key shows its material: %s", s)
		}
	}
	if _, _, err := LoadSigningKeys([]string{write("empty.key", "\n\t ", 0o600)}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty key file: %v", err)
	}
}
