package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// VerifierConfig says what a valid record is.
type VerifierConfig struct {
	Canonical      canonical.Mode
	RequiredFields []string // default: id, signature
	Keys           []SigningKey
	Signature      SignatureConfig
	Schema         *Schema // nil: no schema check
	MaxRecordBytes int     // 0: no limit
}

// Verifier runs every per-record check. It is safe for concurrent use:
// each goroutine passes its own Scratch.
type Verifier struct {
	cfg VerifierConfig
}

// NewVerifier checks the configuration and builds a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.RequiredFields) == 0 {
		cfg.RequiredFields = []string{"id", "signature"}
	}
	if err := cfg.Signature.validate(); err != nil {
		return nil, err
	}
	return &Verifier{cfg: cfg}, nil
}

// KeyCount is the number of configured signing keys.
func (v *Verifier) KeyCount() int { return len(v.cfg.Keys) }

// Scratch holds one goroutine's reusable buffers.
type Scratch struct {
	doc    canonical.Doc
	canon  []byte
	sumHex [64]byte // in the Scratch, not on the stack: the HMAC's Write would make it escape
	signer *signer
}

// NewScratch makes the buffers for one goroutine.
func (v *Verifier) NewScratch() *Scratch {
	s := &Scratch{signer: newSigner(v.cfg.Signature, v.cfg.Keys)}
	// Data not in JS form is validated and re-encoded in one pass.
	s.doc.EncodeJS = v.cfg.Canonical == canonical.JS
	return s
}

// Outcome is what verifying one record found.
type Outcome struct {
	ID       string // the record's id, for a failing record whose id could be read
	Check    string // "" when every check passed, else the first failing check
	Detail   string // why, for the report; never key material
	KeyIndex int    // the signing key that verified it, -1 if none
	// Sum is the SHA-256 of the canonical data, for cross-store
	// comparison; zero when the record did not get that far.
	Sum [32]byte
	// Unread marks a record too large to read: it is not re-read either.
	Unread bool
}

// OK reports whether the record passed.
func (o Outcome) OK() bool { return o.Check == "" }

func fail(id, check, detail string) Outcome {
	return Outcome{ID: id, Check: check, Detail: detail, KeyIndex: -1}
}

// Verify runs the checks (README "What is checked") on one record, in order, and
// stops at the first that fails. The duplicate check needs the walk's
// order and is applied by the caller between key and checksum: Verify
// reports later checks as if the record were not a duplicate.
func (v *Verifier) Verify(rec store.Record, s *Scratch) Outcome {
	if rec.Err != nil {
		return fail("", CheckRead, oneLine(rec.Err))
	}
	if rec.Value == nil {
		return fail("", CheckDecode, "the stored value is NULL")
	}
	if v.cfg.MaxRecordBytes > 0 && len(rec.Value) > v.cfg.MaxRecordBytes {
		return v.oversized(len(rec.Value))
	}
	doc := &s.doc
	if err := doc.Parse(rec.Value); err != nil {
		return fail("", CheckDecode, err.Error())
	}
	// fields
	for _, name := range v.cfg.RequiredFields {
		raw, ok := doc.Get(name)
		if !ok {
			return fail(idOf(doc), CheckFields, fmt.Sprintf("required field %q is missing", name))
		}
		if detail := fieldProblem(name, raw); detail != "" {
			return fail(idOf(doc), CheckFields, detail)
		}
	}
	// key: compared as bytes; the id is only made a string for a failure
	idRaw, _ := doc.Get("id")
	if !idMatches(idRaw, rec.Key) {
		id := idOf(doc)
		return fail(id, CheckKey, fmt.Sprintf("stored under key %s but its id is %s", quoteKey(rec.Key), idForDetail(idRaw, id)))
	}
	// checksum
	dataMember, _ := doc.GetMember("data")
	data := dataMember.Value
	// Data the app wrote with JSON.stringify usually is canonical already
	// (Parse found out while validating it): then canon is the stored
	// bytes themselves, not a copy; otherwise Parse usually encoded it
	// while validating it (dataMember.Canon, the Doc's buffer).
	canon, err := v.cfg.Canonical.CanonicalMember(s.canon[:0], dataMember)
	if len(canon) > 0 && (len(data) == 0 || &canon[0] != &data[0]) && dataMember.Canon == nil {
		s.canon = canon // keep the grown buffer, not an alias of the record
	}
	if err != nil {
		return fail(idOf(doc), CheckChecksum, fmt.Sprintf("cannot canonicalize data (%s mode): %v", v.cfg.Canonical, err))
	}
	sum := sha256.Sum256(canon)
	sumHex := s.sumHex[:]
	hex.Encode(sumHex, sum[:])
	out := Outcome{KeyIndex: -1, Sum: sum}
	if raw, ok := doc.Get("checksum"); ok && string(raw) != "null" {
		if !checksumEqual(raw, sumHex) {
			return withSum(fail(idOf(doc), CheckChecksum, checksumDetail(raw, sumHex, v.cfg.Canonical)), sum)
		}
	}
	// signature
	if len(v.cfg.Keys) > 0 {
		sigRaw, _ := doc.Get("signature")
		sig, simple := plainString(sigRaw)
		if !simple {
			str, isStr := canonical.StringValue(sigRaw)
			if !isStr {
				return withSum(fail(idOf(doc), CheckSignature, "signature is missing or not a string"), sum)
			}
			sig = []byte(str)
		}
		payload := canon
		if v.cfg.Signature.Payload == "checksum" {
			payload = sumHex
		}
		idx, detail := s.signer.verify(sig, payload)
		if idx < 0 {
			return withSum(fail(idOf(doc), CheckSignature, detail), sum)
		}
		out.KeyIndex = idx
	}
	// schema
	if v.cfg.Schema != nil {
		if detail := v.cfg.Schema.validate(rec.Value); detail != "" {
			f := withSum(fail(idOf(doc), CheckSchema, detail), sum)
			f.KeyIndex = out.KeyIndex
			return f
		}
	}
	return out
}

// oversized is the outcome of a record over --verify.max-record-bytes: a
// decode failure, left unread (and not re-read) to bound memory.
func (v *Verifier) oversized(size int) Outcome {
	o := fail("", CheckDecode, fmt.Sprintf("record is %d bytes, over --verify.max-record-bytes=%d: not read", size, v.cfg.MaxRecordBytes))
	o.Unread = true
	return o
}

// checksumDetail says why a stored checksum (raw JSON) does not match.
func checksumDetail(raw, computed []byte, mode canonical.Mode) string {
	stored, isStr := canonical.StringValue(raw)
	switch {
	case !isStr:
		return "checksum is not a string"
	case !isLowerHex64(stored):
		return fmt.Sprintf("checksum is malformed: want 64 lowercase hex digits, got %d characters", len(stored))
	}
	return fmt.Sprintf("checksum mismatch: stored %s, computed %s (%s mode)", stored, computed, mode)
}

// checksumEqual reports whether the stored checksum (raw JSON) is the
// computed hex: as bytes when it is written without escapes (the common
// case, no allocation), else decoded, as JSON.parse reads it.
func checksumEqual(raw, computed []byte) bool {
	if stored, simple := plainString(raw); simple {
		return bytes.Equal(stored, computed)
	}
	stored, isStr := canonical.StringValue(raw)
	return isStr && stored == string(computed)
}

// plainString returns the content of a raw JSON string without escapes,
// as a sub-slice (no allocation); simple is false for anything else (not
// a string, or a string with escapes to decode).
func plainString(raw []byte) (content []byte, simple bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	content = raw[1 : len(raw)-1]
	if bytes.IndexByte(content, '\\') >= 0 {
		return nil, false
	}
	return content, true
}

func withSum(o Outcome, sum [32]byte) Outcome {
	o.Sum = sum
	return o
}

// fieldProblem says why a required field's raw value does not do, or "".
// The id must be truthy as JavaScript judges it (a non-empty string or a
// non-zero number), the signature a non-empty string, any other required
// field neither null nor "".
func fieldProblem(name string, raw []byte) string {
	switch name {
	case "id":
		if raw[0] != '"' && !isNumberStart(raw[0]) {
			return `field "id" must be a string or a number`
		}
		if canonical.Falsy(raw) {
			return fmt.Sprintf(`required field "id" is empty (%.40s is falsy in JavaScript)`, raw)
		}
	case "signature":
		if raw[0] != '"' {
			return `field "signature" must be a string`
		}
		if len(raw) == 2 {
			return `required field "signature" is empty`
		}
	default:
		if (len(raw) == 2 && raw[0] == '"') || string(raw) == "null" {
			return fmt.Sprintf("required field %q is empty", name)
		}
	}
	return ""
}

func isNumberStart(c byte) bool { return c == '-' || c >= '0' && c <= '9' }

// idMatches reports whether key is the id as text: the string, or the
// number as JavaScript prints it. An escape-free string id (the common
// case) and a numeric id are compared without allocating.
func idMatches(idRaw, key []byte) bool {
	if len(idRaw) == 0 {
		return false
	}
	if idBytes, simple := plainString(idRaw); simple {
		return bytes.Equal(idBytes, key)
	}
	if isNumberStart(idRaw[0]) {
		var buf [32]byte
		text, ok := canonical.AppendNumberText(buf[:0], idRaw)
		return ok && bytes.Equal(text, key)
	}
	s, ok := canonical.StringValue(idRaw)
	return ok && s == string(key)
}

// idOf returns the record's id as text when it is a string or a number
// (as JavaScript prints it), else "".
func idOf(doc *canonical.Doc) string {
	raw, ok := doc.Get("id")
	if !ok || len(raw) == 0 {
		return ""
	}
	if isNumberStart(raw[0]) {
		text, _ := canonical.AppendNumberText(nil, raw)
		return string(text)
	}
	s, _ := canonical.StringValue(raw)
	return s
}

// idForDetail prints the id for a key failure: quoted when it is a string,
// as text when it is a number (so 1.50 shows as 1.5, the text compared).
func idForDetail(raw []byte, id string) string {
	if len(raw) > 0 && isNumberStart(raw[0]) {
		return "the number " + id
	}
	if len(raw) == 0 {
		return "missing"
	}
	return quoteKey([]byte(id))
}

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// quoteKey prints a key for a report detail: quoted when it is UTF-8 text,
// hex otherwise.
func quoteKey(k []byte) string {
	if utf8.Valid(k) {
		return fmt.Sprintf("%q", k)
	}
	return "0x" + hex.EncodeToString(k)
}
