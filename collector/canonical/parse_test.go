package canonical

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		doc     string
		want    string
		wantOff int
	}{
		{`{"a":1,]`, `invalid JSON at byte 7: unexpected ']'`, 7},
		{`[1,2]`, `not a JSON object (top level is an array)`, 0},
		{` "x"`, `not a JSON object (top level is a string)`, 1},
		{`null`, `not a JSON object (top level is null)`, 0},
		{`12`, `not a JSON object (top level is a number)`, 0},
		{`[1,2`, `invalid JSON at byte 4: unexpected end of input`, 4},
		{"{\"a\":\"\xff\"}", `invalid UTF-8 at byte 6`, 6},
		{"{\"\xc3\x28\":1}", `invalid UTF-8 at byte 2`, 2},
		{"{\"a\":\"\xed\xa0\x80\"}", `invalid UTF-8 at byte 6`, 6}, // UTF-8 encoded surrogate
		{"{\"a\":1}\xff", `invalid UTF-8 at byte 7`, 7},
		{"{\"a\":\"x\ty\"}", `invalid JSON at byte 7: control character U+0009 in a string must be escaped`, 7},
		{``, `empty document: expected a JSON object`, 0},
		{`   `, `invalid JSON at byte 3: unexpected end of input`, 3},
		{`{"a":1}}`, `invalid JSON at byte 7: unexpected '}'`, 7},
		{`{"a":01}`, `invalid JSON at byte 6: unexpected '1'`, 6},
		{`{"a":-}`, `invalid JSON at byte 6: unexpected '}'`, 6},
		{`{"a":tru}`, `invalid JSON at byte 8: unexpected '}'`, 8},
		{`{"a":"\u12G4"}`, `invalid JSON at byte 10: unexpected 'G'`, 10},
		{`{"a":"\a"}`, `invalid JSON at byte 7: unexpected 'a'`, 7},
		{"\ufeff{}", `invalid JSON at byte 0: unexpected '\ufeff'`, 0},
		{"{\v}", `invalid JSON at byte 1: unexpected '\v'`, 1},
		{`{"a" 1}`, `invalid JSON at byte 5: unexpected '1'`, 5},
		{`{"a":[1 2]}`, `invalid JSON at byte 8: unexpected '2'`, 8},
		{`{"a":{"b"}}`, `invalid JSON at byte 9: unexpected '}'`, 9},
		{`{"a":{1:2}}`, `invalid JSON at byte 6: unexpected '1'`, 6},
	}
	var d Doc
	for _, tt := range tests {
		err := d.Parse([]byte(tt.doc))
		if err == nil {
			t.Errorf("Parse(%q) = nil, want %q", tt.doc, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.doc, err, tt.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != tt.wantOff {
			t.Errorf("Parse(%q) offset = %+v, want %d", tt.doc, se, tt.wantOff)
		}
	}
}

func TestParseDepth(t *testing.T) {
	var d Doc
	ok := `{"d":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`
	if err := d.Parse([]byte(ok)); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	data, _ := d.Get("d")
	out, err := JS.Append(nil, data)
	if err != nil || len(out) != 2*(MaxDepth-1) {
		t.Fatalf("JS.Append at depth %d: len %d, %v", MaxDepth, len(out), err)
	}
	// A million levels must fail cleanly, not exhaust the stack.
	deep := `{"d":` + strings.Repeat(`{"a":[`, 500000)
	err = d.Parse([]byte(deep))
	if err == nil || !strings.Contains(err.Error(), "nesting deeper than 10000 levels") {
		t.Fatalf("Parse(1e6 levels) = %v, want a nesting error", err)
	}
	if _, err := JS.Append(nil, []byte(deep[5:])); err == nil {
		t.Fatalf("JS.Append(1e6 levels) succeeded")
	}
}

func TestParseMembers(t *testing.T) {
	doc := " {\"id\" : \"a\",\n\"data\":{ \"x\" : [1, 2] },\"\\u0069d\":\"b\",\"e\\n\":null, \"data\":\t0 }\r\n"
	var d Doc
	for round := 0; round < 2; round++ { // the second round reuses the Doc
		if err := d.Parse([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range d.Members {
			got = append(got, m.Name+"="+string(m.Value))
		}
		want := []string{`id="a"`, `data={ "x" : [1, 2] }`, `id="b"`, "e\n=null", `data=0`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("members (-want +got):\n%s", diff)
		}
	}
	for _, tt := range []struct{ name, want string }{{"id", `"b"`}, {"data", "0"}, {"e\n", "null"}} {
		if got, ok := d.Get(tt.name); !ok || string(got) != tt.want {
			t.Errorf("Get(%q) = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
	if got, ok := d.Get("signature"); ok || got != nil {
		t.Errorf("Get(signature) = %q, %v; want absent", got, ok)
	}
	if err := d.Parse([]byte(`{}`)); err != nil || len(d.Members) != 0 {
		t.Errorf("Parse({}) = %v, %d members", err, len(d.Members))
	}
}

func TestStringValue(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		ok   bool
	}{
		{`"abc"`, "abc", true},
		{`""`, "", true},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", true},
		{`"\u0041\u00e9\u4E2D"`, "Aé中", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"\ud800x"`, "\uFFFDx", true},
		{`"\udc00\ud800"`, "\uFFFD\uFFFD", true},
		{`"é😀"`, "é😀", true},
		{`abc`, "", false},
		{`1`, "", false},
		{`"`, "", false},
		{`"\x"`, "", false},
		{`"\u12"`, "", false},
	}
	for _, tt := range tests {
		got, ok := StringValue([]byte(tt.raw))
		if got != tt.want || ok != tt.ok {
			t.Errorf("StringValue(%s) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFalsy(t *testing.T) {
	falsy := []string{"", "null", "false", `""`, "0", "-0", "0.0", "-0.000", "0e5", "0E-5", "-0e+99", "1e-400", "-1e-400", "2e-324", "0.0000e999"}
	truthy := []string{"true", `"0"`, `" "`, `"false"`, "[]", "{}", "1", "-1", "5e-324", "3e-324", "1e400", "0.1", "1e-5", "10"}
	for _, s := range falsy {
		var raw []byte
		if s != "" {
			raw = []byte(s)
		}
		if !Falsy(raw) {
			t.Errorf("Falsy(%q) = false, want true", s)
		}
		for _, m := range []Mode{JS, Raw, JCS} {
			if out, err := m.Append(nil, raw); err != nil || string(out) != "{}" {
				t.Errorf("%v.Append(%q) = %q, %v; want {}", m, s, out, err)
			}
		}
	}
	for _, s := range truthy {
		if Falsy([]byte(s)) {
			t.Errorf("Falsy(%q) = true, want false", s)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{JS, Raw, JCS} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	_, err := ParseMode("JSON")
	if err == nil || !strings.Contains(err.Error(), "js, raw, jcs") {
		t.Errorf("ParseMode(JSON) error = %v, want one listing js, raw, jcs", err)
	}
	if _, err := Mode(9).Append(nil, []byte(`{"a":1}`)); err == nil {
		t.Errorf("Mode(9).Append succeeded")
	}
}

func TestAppendMalformedDoesNotPanic(t *testing.T) {
	for _, s := range []string{`{`, `{"a"`, `{"a":`, `[1,`, `"abc`, `"\u12`, `"\`, `tru`, `-`, `{"a":1]`, `[1}`, `1 2`, `{"a" 1}`, `"\ud800\u`} {
		for _, m := range []Mode{JS, JCS} {
			out, err := m.Append([]byte("keep"), []byte(s))
			if err == nil {
				t.Errorf("%v.Append(%q) = %q, want an error", m, s, out)
			} else if string(out) != "keep" {
				t.Errorf("%v.Append(%q) error left dst = %q, want it unextended", m, s, out)
			}
		}
	}
}
