package canonical

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets. The seed corpus (every Node vector) runs in a plain
// `go test`; explore with e.g.
//
//	go test ./collector/canonical -run '^$' -fuzz FuzzParse -fuzztime 60s
//	go test ./collector/canonical -run '^$' -fuzz FuzzAppend -fuzztime 60s

func FuzzParse(f *testing.F) {
	for _, v := range loadVectors(f).Vectors {
		f.Add([]byte(v.Stored))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkDocument(t, doc)
	})
}

func FuzzAppend(f *testing.F) {
	for _, v := range loadVectors(f).Vectors {
		f.Add([]byte(v.Raw))
		f.Add([]byte(v.JS)) // canonical: mutations probe the fast path's edges
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Unvalidated input must not panic.
		for _, m := range []Mode{JS, Raw, JCS} {
			_, _ = m.Append(nil, raw)
		}
		// On any bytes, the JS fast path gives what the slow path gives,
		// and the strict encoder accepts what the validator accepts.
		checkFastSlow(t, raw)
		checkStrict(t, raw)
		doc := append(append([]byte(`{"data":`), raw...), '}')
		checkDocument(t, doc)
	})
}

// checkEncodeJS checks that Parse with EncodeJS (the validating encoder
// for data not in JS form) gives the verdict err of Parse without it, the
// same members, and the slow path's JS form of data.
func checkEncodeJS(t *testing.T, doc []byte, err error, plain *Doc) {
	t.Helper()
	d := Doc{EncodeJS: true}
	err2 := d.Parse(doc)
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
		t.Fatalf("Parse(%q): %v without EncodeJS, %v with it", doc, err, err2)
	}
	if err != nil {
		return
	}
	if len(d.Members) != len(plain.Members) {
		t.Fatalf("Parse(%q) with EncodeJS: %d members, %d without", doc, len(d.Members), len(plain.Members))
	}
	for k, m := range d.Members {
		p := plain.Members[k]
		if m.Name != p.Name || !bytes.Equal(m.Value, p.Value) || m.JS != p.JS {
			t.Fatalf("Parse(%q) member %d with EncodeJS: %q %q %v; without: %q %q %v", doc, k, m.Name, m.Value, m.JS, p.Name, p.Value, p.JS)
		}
		if m.Canon != nil && (m.Name != "data" || m.JS) {
			t.Fatalf("Parse(%q) member %q has a Canon %q", doc, m.Name, m.Canon)
		}
	}
	m, _ := d.GetMember("data")
	slow, errSlow := JS.appendSlow(nil, m.Value)
	canon, errCanon := JS.CanonicalMember(nil, m)
	if (errSlow == nil) != (errCanon == nil) || !bytes.Equal(canon, slow) {
		t.Fatalf("CanonicalMember(%q, Canon=%q) = %q, %v; the slow path gives %q, %v", m.Value, m.Canon, canon, errCanon, slow, errSlow)
	}
}

// checkStrict checks the strict (validating) encoder against Doc.Parse's
// validator on any bytes: it accepts what the validator accepts, ending at
// the same offset, and writes what the lenient encoder writes.
func checkStrict(t *testing.T, raw []byte) {
	t.Helper()
	e := getEncoder(raw, false)
	e.i, e.strict, e.maxDepth = skipWS(raw, 0), true, MaxDepth-1
	out, err := e.value(nil, 0)
	end := e.i
	putEncoder(e)
	var stack []byte
	vend, verr := valueLoop(raw, skipWS(raw, 0), &stack)
	// Never more than the validator (a number followed by a digit, as in
	// 012, it rejects at once, where the validator stops after the 0 and
	// leaves the 12 to its caller), and all of a whole valid value.
	if err == nil && (verr != nil || end != vend) || err != nil && verr == nil && skipWS(raw, vend) == len(raw) {
		t.Fatalf("strict encoder on %q: end %d, %v; the validator: end %d, %v", raw, end, err, vend, verr)
	}
	if err != nil {
		return
	}
	lax := getEncoder(raw, false)
	lax.i = skipWS(raw, 0)
	want, lerr := lax.value(nil, 0)
	putEncoder(lax)
	if lerr != nil || !bytes.Equal(out, want) {
		t.Fatalf("strict encoder on %q wrote %q; the lenient one %q, %v", raw, out, want, lerr)
	}
}

// checkDocument checks Parse against encoding/json's validator and, for an
// accepted document, the JS form against an independent slow reference, its
// validity and its idempotence.
func checkDocument(t *testing.T, doc []byte) {
	var d Doc
	err := d.Parse(doc)
	checkEncodeJS(t, doc, err, &d)
	valid := json.Valid(doc) && utf8.Valid(doc)
	if err == nil && !valid {
		t.Fatalf("Parse accepted invalid JSON %q", doc)
	}
	if err != nil {
		shallow := bytes.Count(doc, []byte("["))+bytes.Count(doc, []byte("{")) < MaxDepth-10
		trimmed := bytes.TrimLeft(doc, " \t\r\n")
		if valid && shallow && len(trimmed) > 0 && trimmed[0] == '{' {
			t.Fatalf("Parse rejected valid JSON %q: %v", doc, err)
		}
		return
	}
	data, _ := d.Get("data")
	out, err := JS.Append(nil, data)
	if err != nil {
		t.Fatalf("JS.Append(%q): %v", data, err)
	}
	// Parse's one-scan verdict on data is the fast path's, and the member
	// it hands to CanonicalMember gives the slow path's bytes.
	m, _ := d.GetMember("data")
	if len(data) > 0 && m.JS != JS.isCanonical(data) {
		t.Fatalf("Parse marked data %q JS=%v, isJS says %v", data, m.JS, !m.JS)
	}
	slow, _ := JS.appendSlow(nil, data)
	if canon, err := JS.CanonicalMember(nil, m); err != nil || !bytes.Equal(canon, slow) {
		t.Fatalf("CanonicalMember(%q, JS=%v) = %q, %v; the slow path gives %q", data, m.JS, canon, err, slow)
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		t.Fatalf("JS.Append(%q) = %q: not valid JSON", data, out)
	}
	if !loneSurrogateEscape.Match(doc) {
		if want := refJS(t, data); string(out) != want {
			t.Fatalf("JS.Append(%q)\n got: %q\nwant: %q (reference)", data, out, want)
		}
	}
	// Idempotent, except that data overflowing to Infinity prints as null,
	// which is falsy the second time round.
	again, err := JS.Append(nil, reparse(t, out))
	if (err != nil || !bytes.Equal(again, out)) && string(out) != "null" {
		t.Fatalf("JS form is not idempotent: %q -> %q, %v", out, again, err)
	}
	if jcs, err := JCS.Append(nil, data); err == nil {
		again, err := JCS.Append(nil, reparse(t, jcs))
		if err != nil || !bytes.Equal(again, jcs) {
			t.Fatalf("JCS form is not idempotent: %q -> %q, %v", jcs, again, err)
		}
	}
}

func reparse(t *testing.T, out []byte) []byte {
	var d Doc
	if err := d.Parse(append(append([]byte(`{"data":`), out...), '}')); err != nil {
		t.Fatalf("Parse of canonical output %q: %v", out, err)
	}
	v, _ := d.Get("data")
	return v
}

// loneSurrogateEscape matches anything that may be a surrogate escape;
// encoding/json, which the reference uses, replaces lone ones with U+FFFD.
var loneSurrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

// refObject is a JavaScript object as JSON.parse builds it: own keys in
// insertion order, a duplicate key overwriting the value in place.
type refObject struct {
	keys []string
	vals map[string]any
}

// refJS is a slow, independent reference for the JS form, built on
// encoding/json's tokenizer.
func refJS(t *testing.T, data []byte) string {
	if refFalsy(t, data) {
		return "{}"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v := refDecode(t, dec)
	var sb strings.Builder
	refEncode(&sb, v)
	return sb.String()
}

// refFalsy is JavaScript's !value for a JSON value, through encoding/json
// and strconv (independent of Falsy): null, false, "" and numbers whose
// nearest double is zero.
func refFalsy(t *testing.T, data []byte) bool {
	if len(data) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("reference decoder: %v", err)
	}
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64) // ±Inf on overflow: truthy
		return f == 0
	}
	return false
}

func refDecode(t *testing.T, dec *json.Decoder) any {
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("reference decoder: %v", err)
	}
	switch tok {
	case json.Delim('{'):
		o := &refObject{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				t.Fatalf("reference decoder: %v", err)
			}
			k := kt.(string)
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = refDecode(t, dec)
		}
		_, _ = dec.Token()
		return o
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			a = append(a, refDecode(t, dec))
		}
		_, _ = dec.Token()
		return a
	}
	return tok
}

func refIndex(k string) (uint64, bool) {
	n, err := strconv.ParseUint(k, 10, 64)
	return n, err == nil && n < math.MaxUint32 && strconv.FormatUint(n, 10) == k
}

func refEncode(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case *refObject:
		var idx, names []string
		for _, k := range v.keys {
			if _, ok := refIndex(k); ok {
				idx = append(idx, k)
			} else {
				names = append(names, k)
			}
		}
		slices.SortFunc(idx, func(a, b string) int {
			x, _ := refIndex(a)
			y, _ := refIndex(b)
			return cmp.Compare(x, y)
		})
		sb.WriteByte('{')
		for n, k := range append(idx, names...) {
			if n > 0 {
				sb.WriteByte(',')
			}
			refString(sb, k)
			sb.WriteByte(':')
			refEncode(sb, v.vals[k])
		}
		sb.WriteByte('}')
	case []any:
		sb.WriteByte('[')
		for n, e := range v {
			if n > 0 {
				sb.WriteByte(',')
			}
			refEncode(sb, e)
		}
		sb.WriteByte(']')
	case string:
		refString(sb, v)
	case json.Number:
		refNumber(sb, string(v))
	case bool:
		sb.WriteString(strconv.FormatBool(v))
	case nil:
		sb.WriteString("null")
	}
}

func refString(sb *strings.Builder, s string) {
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			if r < 0x20 {
				sb.WriteString(`\u00`)
				sb.WriteByte("0123456789abcdef"[r>>4])
				sb.WriteByte("0123456789abcdef"[r&0xF])
			} else {
				sb.WriteRune(r)
			}
		}
	}
	sb.WriteByte('"')
}

// refNumber prints as JavaScript does, by way of strconv's 'f' and 'e'
// formats rather than the digit-placement code under test.
func refNumber(sb *strings.Builder, lit string) {
	f, err := strconv.ParseFloat(lit, 64)
	switch {
	case math.IsInf(f, 0):
		sb.WriteString("null")
		return
	case err != nil:
		panic(err)
	case f == 0:
		sb.WriteString("0")
		return
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		sb.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
		return
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e-07, 1e+21
	mant, exp, _ := strings.Cut(s, "e")
	sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
	sb.WriteString(mant + "e" + sign + digits)
}
