package canonical

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The JS fast path (isJS, then a copy) must give exactly what the encoder
// gives. These tests run both paths on the same input; FuzzAppend does too.

// checkFastSlow runs Append, Canonical and the slow path on raw and fails
// unless they agree byte for byte. It reports whether the fast path was
// taken.
func checkFastSlow(t *testing.T, raw []byte) bool {
	t.Helper()
	slow, slowErr := JS.appendSlow([]byte("p:"), raw)
	fast, fastErr := JS.Append([]byte("p:"), raw)
	if !bytes.Equal(fast, slow) || (fastErr == nil) != (slowErr == nil) {
		t.Fatalf("JS fast path differs from the slow path on %q:\nfast: %q, %v\nslow: %q, %v", raw, fast, fastErr, slow, slowErr)
	}
	taken := !Falsy(raw) && JS.isCanonical(raw)
	canon, canonErr := JS.Canonical([]byte("p:"), raw)
	switch {
	case (canonErr == nil) != (slowErr == nil):
		t.Fatalf("Canonical(%q) = %q, %v; the slow path gave %q, %v", raw, canon, canonErr, slow, slowErr)
	case taken && (!bytes.Equal(canon, slow[2:]) || &canon[0] != &raw[0] || cap(canon) != len(raw)):
		t.Fatalf("Canonical(%q) = %q (cap %d), want raw itself, capped at its length", raw, canon, cap(canon))
	case !taken && !bytes.Equal(canon, slow):
		t.Fatalf("Canonical(%q) = %q, want %q", raw, canon, slow)
	}
	return taken
}

func TestFastPathVectors(t *testing.T) {
	var d Doc
	var fast, total int
	for _, v := range loadVectors(t).Vectors {
		if d.Parse([]byte(v.Stored)) != nil {
			continue
		}
		data, _ := d.Get("data")
		// The stored data, and Node's JS form fed back as stored data.
		for _, raw := range [][]byte{data, []byte(v.JS)} {
			total++
			if checkFastSlow(t, raw) {
				fast++
			}
		}
		checkFastSlow(t, []byte(v.Stored)) // a whole record is a value too
	}
	t.Logf("fast path taken for %d of %d values", fast, total)
	if fast < total/3 {
		t.Errorf("fast path taken for only %d of %d vector values", fast, total)
	}
}

func TestIsJS(t *testing.T) {
	many := func(n int) string {
		var sb strings.Builder
		sb.WriteByte('{')
		for k := range n {
			if k > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"k%d":%d`, k, k)
		}
		return sb.String() + "}"
	}
	cases := []struct {
		raw  string
		want bool
	}{
		{`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, true},
		{`"plain"`, true},
		{`[]`, true},
		{`{}`, true},
		{`0`, true},
		{`-7`, true},
		{`123456789012345`, true},
		{`1234567890123456`, true},  // 16 digits: converted, prints the same
		{`9007199254740993`, false}, // prints 9007199254740992
		{`100000000000000000000`, true},
		{`1000000000000000000000`, false}, // 1e+21
		{`1e+21`, true},
		{`1e21`, false},
		{`1e-7`, true},
		{`5e-324`, true},
		{`1e400`, false}, // null
		{`0.30000000000000004`, true},
		{`0.9338382876012474`, true},
		{`-0.0`, false},
		{`0e5`, false},
		{`-0`, false},
		{`[-0]`, false},
		{`01`, false},
		{`1.5`, true},
		{`-0.35`, true},
		{`0.000001`, true},
		{`0.0000001`, false}, // 1e-7
		{`1.50`, false},
		{`1.0`, false},
		{`1e3`, false},
		{`1E3`, false},
		{`1.5e-7`, true},
		{`1.5E-7`, false},
		{`1.50e-7`, false},
		{`12345678.9012345`, true},
		{`12345678.90123456`, true},
		{`12345678.901234567`, true},
		{`0.123456789012345`, true},
		{`0.1234567890123456`, true},
		{`0.12345678901234567`, false},
		{`1.`, false},
		{`.5`, false},
		{`{"a": 1}`, false},
		{` {"a":1}`, false},
		{`{"a":1} `, false},
		{"[1,\n2]", false},
		{`"a\"b\\c\b\f\n\r\t"`, true},
		{`"\u0000\u001f\u000b"`, true},
		{`"\u001F"`, false}, // uppercase hex
		{`"\u000a"`, false}, // \n
		{`"\u0008"`, false},
		{`"\u0009"`, false},
		{`"\u000c"`, false},
		{`"\u000d"`, false},
		{`"\u0020"`, false},
		{`"\u0041"`, false},
		{`"\u00e9"`, false},
		{`"\/"`, false},
		{`"\ud800"`, false}, // a lone surrogate: left to the slow path
		{`"\ud83d\ude00"`, false},
		{"\"Zo\u00eb \u2028 \U0001F600\"", true},
		{"\"a\x01b\"", false}, // a raw control character
		{`{"0":1,"a":2}`, true},
		{`{"a":1,"0":2}`, false},
		{`{"a":1,"4294967294":2}`, false},
		{`{"a":1,"4294967295":2}`, true},
		{`{"a":1,"01":2,"-1":3,"1.0":4}`, true},
		{`{"a":1,"a":2}`, false},
		{`{"a":{"a":1},"b":{"a":2}}`, true},
		{`{"ab":1,"ba":2,"aab":3,"abb":4}`, true},
		{`{"":1,"":2}`, false},
		{many(fastMaxKeys), true},
		{`{"0":0,"1":1,` + many(fastMaxKeys)[1:], true},
		{many(fastMaxKeys + 1), false},
		{`{"a":1,}`, false},
		{`[1,]`, false},
		{`{"a"}`, false},
		{`tru`, false},
		{`"abc`, false},
		{``, false},
		{`nulll`, false},
		// array-index keys: accepted first and ascending, as V8 orders them
		{`{"0":1,"1":2,"10":3,"a":4,"b":5}`, true},
		{`{"1":1,"0":2}`, false},
		{`{"0":1,"0":2}`, false},
		{`{"0":1,"a":2,"1":3}`, false},
		{`{"4294967294":1,"4294967295":2}`, true},
		{`{"0":1,"1":2,"01":3}`, true},
		{`{"0":{"1":1,"2":2},"1":[{"0":1}]}`, true},
		// UTF-8 is checked: the scan is also Parse's validator for data
		{"\"\xff\"", false},
		{"\"é中😀\"", true},
		{"\"\xed\xa0\x80\"", false}, // an encoded surrogate
		{"\"\xc3\"", false},
		{"\"abcdefgh\xc3(\"", false},
	}
	var sc fastScratch
	for _, c := range cases {
		if got := isJS([]byte(c.raw), &sc); got != c.want {
			t.Errorf("isJS(%q) = %v, want %v", c.raw, got, c.want)
		}
		checkFastSlow(t, []byte(c.raw))
	}
}

// TestFastPathRandom compares the paths on random JSON with every feature
// the fast path must recognise or refuse, and on the slow path's output fed
// back (canonical by construction, so mostly on the fast path).
func TestFastPathRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var d Doc
	fast, fedBack := 0, 0
	const n = 20000
	for range n {
		var g gen
		g.rng = rng
		g.value(0)
		doc := append(append([]byte(`{"data":`), g.b...), '}')
		if err := d.Parse(doc); err != nil {
			t.Fatalf("generator wrote invalid JSON %q: %v", g.b, err)
		}
		// The validating encoder (which copies what the fast scan accepted
		// before it stopped) gives the slow path's form and Parse's verdict.
		checkEncodeJS(t, doc, nil, &d)
		raw, _ := d.Get("data") // as the verifier sees it: no surrounding whitespace
		if m, _ := d.GetMember("data"); m.JS != JS.isCanonical(raw) {
			t.Fatalf("Parse marked data %q JS=%v, isJS disagrees", raw, m.JS)
		}
		checkFastSlow(t, raw)
		out, err := JS.appendSlow(nil, raw)
		if err != nil {
			t.Fatalf("slow path on %q: %v", raw, err)
		}
		if !loneSurrogateEscape.Match(raw) {
			if want := refJS(t, raw); string(out) != want {
				t.Fatalf("JS form of %q\n got: %q\nwant: %q (reference)", raw, out, want)
			}
		}
		if !Falsy(out) {
			fedBack++
			if checkFastSlow(t, out) {
				fast++
			}
		}
	}
	t.Logf("fast path taken for %d of %d canonical outputs fed back", fast, fedBack)
	if fast < fedBack/4 {
		t.Errorf("fast path taken for only %d of %d canonical outputs", fast, fedBack)
	}
}

// gen writes random JSON, biased towards the cases the fast path decides.
type gen struct {
	rng *rand.Rand
	b   []byte
}

func (g *gen) ws() {
	if g.rng.IntN(40) == 0 {
		g.b = append(g.b, " \t\n\r"[g.rng.IntN(4)])
	}
}

func (g *gen) value(depth int) {
	g.ws()
	k := g.rng.IntN(10)
	if depth > 4 {
		k = 3 + g.rng.IntN(7)
	}
	switch k {
	case 0, 1:
		g.object(depth + 1)
	case 2:
		g.b = append(g.b, '[')
		for i := range g.rng.IntN(5) {
			if i > 0 {
				g.ws()
				g.b = append(g.b, ',')
			}
			g.value(depth + 1)
		}
		g.ws()
		g.b = append(g.b, ']')
	case 3, 4, 5:
		g.str()
	case 6, 7:
		g.number()
	default:
		g.b = append(g.b, []string{"true", "false", "null"}[g.rng.IntN(3)]...)
	}
	g.ws()
}

var genKeys = []string{"a", "b", "id", "name", "0", "1", "7", "10", "01", "-1", "1.0",
	"4294967294", "4294967295", "", "ab", "ba", "k\\n", "k\\u000a", "\\u0061", "é"}

func (g *gen) object(depth int) {
	g.b = append(g.b, '{')
	n := g.rng.IntN(6)
	if g.rng.IntN(20) == 0 {
		n = 25 + g.rng.IntN(15) // around fastMaxKeys
	}
	for i := range n {
		if i > 0 {
			g.b = append(g.b, ',')
		}
		g.ws()
		if n > 6 || g.rng.IntN(3) == 0 {
			g.b = fmt.Appendf(g.b, `"f%d"`, g.rng.IntN(3*n+1))
		} else {
			g.b = append(append(append(g.b, '"'), genKeys[g.rng.IntN(len(genKeys))]...), '"')
		}
		g.ws()
		g.b = append(g.b, ':')
		g.value(depth)
	}
	g.ws()
	g.b = append(g.b, '}')
}

var genChars = []string{"a", "Z", " ", "é", "\u2028", "\U0001F600", `\"`, `\\`, `\/`, `\b`, `\f`,
	`\n`, `\r`, `\t`, `\u0000`, `\u001f`, `\u001F`, `\u000a`, `\u0041`, `\u00e9`, `\u2028`,
	`\ud800`, `\udc00`, `\uDBFF`, `\ud83d\ude00`, `\ud83d`, "'", "<", "0"}

func (g *gen) str() {
	g.b = append(g.b, '"')
	for range g.rng.IntN(12) {
		if g.rng.IntN(3) == 0 {
			g.b = append(g.b, genChars[g.rng.IntN(len(genChars))]...)
		} else {
			g.b = append(g.b, byte('a'+g.rng.IntN(26)))
		}
	}
	g.b = append(g.b, '"')
}

var genNumbers = []string{"0", "-0", "1", "-1", "42", "123456789012345", "1234567890123456",
	"-999999999999999", "9007199254740993", "1.5", "-0.35", "19.99", "1.50", "1.0", "-0.0",
	"0.000001", "0.0000001", "0.0000015", "1e3", "1E3", "1e+21", "1e21", "1e-7", "5e-324",
	"1e400", "-1e400", "0e5", "12345678.9012345", "12345678.90123456", "0.1", "0.30000000000000004",
	"100", "1000000000000000000000", "999999999999999999999"}

func (g *gen) number() {
	if g.rng.IntN(2) == 0 {
		g.b = append(g.b, genNumbers[g.rng.IntN(len(genNumbers))]...)
		return
	}
	// A random integer or decimal, sometimes long.
	if g.rng.IntN(4) == 0 {
		g.b = append(g.b, '-')
	}
	g.b = fmt.Appendf(g.b, "%d", g.rng.Int64N(1<<uint(g.rng.IntN(60)+1)))
	if g.rng.IntN(2) == 0 {
		g.b = append(g.b, '.')
		for range 1 + g.rng.IntN(17) {
			g.b = append(g.b, byte('0'+g.rng.IntN(10)))
		}
	}
}

// TestEncodeJSPrefix: data that the fast scan rejects late, after arrays
// and objects it accepted whole (which the validating encoder copies
// rather than encodes), or rejects in a way that a bracket count alone
// would not see. Each must give the slow path's form and Parse's verdict.
func TestEncodeJSPrefix(t *testing.T) {
	strokes := `[{"x":1,"y":2,"p":0.5},{"x":3,"y":4,"p":0.25}]`
	for _, data := range []string{
		`{"strokes":` + strokes + `,"tags":["a","b"],"n":1,"0":true}`, // an index key last (the bench shape)
		`{"a":[{"k":1},{"k":2,"1":3}],"b":{"c":[1,2]}}`,               // an index key last, nested in an array
		`{"a":[{"k":1},{"k":2}],"b":{"c":[1,2]},"a":0}`,               // a duplicate key last
		`{"a":["]}\"{[",{"q":"\\"}],"b":1.50}`,                        // brackets, quotes, backslashes in strings; a number late
		`{"a":[[1],[2]] ,"b":2}`,                                      // whitespace after a whole array
		`[[1],[2,[3]],{"x":{"y":[]}},1e3]`,                            // an array with a number late
		`{"a":[1,2],"b":"\u0041"}`,                                    // an escape late
		`{"a":[1,2],"b":"\ud800"}`,                                    // a lone surrogate late
		`{"a":{"b":[1,2],"c":{"d":[3]}},"e":[{"f":1}],"g":-0}`,        // -0 late
		`{"a":[1,2],"b":[3,4}`,                                        // a mismatched close: invalid
		`{"a":[1,2],"b":[3,4]]`,                                       // one close too many: invalid
		`{"a":[1,2],"b":[3,4],}`,                                      // a trailing comma: invalid
		`{"a":[1,2],"b":"\x"}`,                                        // a bad escape: invalid
		`{"a":[1,2],"b":"` + "\xff" + `"}`,                            // invalid UTF-8 late
		`{"a":[1,2],"b":[01]}`,                                        // a leading zero late: invalid
		`{"a":[[1],[2]],"b":"` + "\x01" + `"}`,                        // a raw control character late: invalid
	} {
		doc := []byte(`{"id":"x","data":` + data + `,"signature":"s"}`)
		var d Doc
		err := d.Parse(doc)
		checkEncodeJS(t, doc, err, &d)
		if err == nil {
			if m, _ := d.GetMember("data"); m.JS {
				t.Errorf("data %s: marked JS, want the encoder", data)
			}
		}
	}
}

// TestContainerEnd: the bracket match the validating encoder uses to copy
// what the fast scan accepted.
func TestContainerEnd(t *testing.T) {
	for _, c := range []struct {
		b    string
		want int
	}{
		{`[]`, 2},
		{`{}`, 2},
		{`[1,[2,[3]],4],5`, 13},
		{`{"a":"]}","b":"\"]"}x`, 20},
		{`["\\"]`, 6},
		{`["a very long string of more than eight bytes ] } still inside"],`, 64},
		{`[1,[2]`, -1},
		{`["]`, -1},
		{`["\`, -1},
	} {
		if got := containerEnd([]byte(c.b), 0); got != c.want {
			t.Errorf("containerEnd(%s) = %d, want %d", c.b, got, c.want)
		}
	}
}
