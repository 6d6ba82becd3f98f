package canonical

import (
	"bytes"
	"encoding/binary"
)

// The fast path of the JS form. The app writes every record with
// JSON.stringify, so the stored bytes of data are almost always already
// JSON.stringify(JSON.parse(data)). isJS recognises such text in one cheap
// pass, and Append then copies it instead of re-encoding it.
//
// isJS accepts a strict subset of JSON, and only text that the encoder
// (the slow path) would copy unchanged:
//   - no whitespace outside strings;
//   - in strings, no byte below 0x20 and no escape but \" \\ \b \f \n \r \t
//     and \u00xx (lowercase hex) for the other control characters below
//     0x20: exactly the escapes JSON.stringify writes (lone surrogates,
//     which it writes as \udxxx, take the slow path). Other bytes, non-ASCII
//     included, are copied by both paths alike;
//   - numbers: an integer of at most 15 digits (not -0), or a fraction with
//     no exponent, no trailing zero and at most 15 significant digits (not
//     below 1e-6): what appendShortDecimal prints unchanged;
//   - in objects, no array-index key after the first member (V8 would move
//     it first), no duplicate key, at most fastMaxKeys members.
//
// Anything else is not an error: it takes the slow path, which decides.
// Since isJS is a recogniser of that grammar, not a reading of validated
// input, a false positive on malformed input cannot happen either: what it
// accepts is well-formed JSON the encoder copies as is (fast_test.go checks
// this against the slow path on the vectors, the fuzz corpus and random
// documents; FuzzAppend does on arbitrary bytes).

// fastMaxKeys is the largest object isJS checks for duplicate keys (pairwise,
// behind a 64-bit filter); a larger one takes the slow path.
const fastMaxKeys = 32

// keySpan is a key's body (without quotes) as offsets into the input.
type keySpan struct{ start, end int }

// fastScan is the state of one isJS pass. keys holds the keys of the
// objects being scanned, innermost last.
type fastScan struct {
	b    []byte
	i    int
	keys []keySpan
}

// isJS reports whether b is exactly one JSON value that the JS encoder
// would reproduce byte for byte. keys is scratch whose capacity is reused.
func isJS(b []byte, keys *[]keySpan) bool {
	s := fastScan{b: b, keys: (*keys)[:0]}
	ok := s.value(0) && s.i == len(b)
	*keys = s.keys[:0]
	return ok
}

func (s *fastScan) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '{':
		return depth < MaxDepth && s.object(depth+1)
	case '[':
		return depth < MaxDepth && s.array(depth+1)
	case '"':
		return s.str()
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	return s.number()
}

func (s *fastScan) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

func (s *fastScan) array(depth int) bool {
	s.i++ // '['
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) || s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *fastScan) object(depth int) bool {
	s.i++ // '{'
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	base := len(s.keys)
	var seen uint64 // filter on (length, first byte, last byte) of the keys
	for n := 0; ; n++ {
		if n == fastMaxKeys || s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		start := s.i + 1
		if !s.str() {
			return false
		}
		k := s.b[start : s.i-1]
		if len(k) > 0 && isDigit(k[0]) && n > 0 {
			if _, idx := arrayIndex(k); idx {
				return false // V8 moves it before the other keys
			}
		}
		var bit uint64 = 1
		if len(k) > 0 {
			bit = 1 << ((len(k)*7 + int(k[0])*3 + int(k[len(k)-1])) & 63)
		}
		if seen&bit != 0 {
			for _, o := range s.keys[base:] {
				if bytes.Equal(s.b[o.start:o.end], k) {
					return false // a duplicate key
				}
			}
		}
		seen |= bit
		s.keys = append(s.keys, keySpan{start, s.i - 1})
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if !s.value(depth) || s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.keys = s.keys[:base]
			return true
		default:
			return false
		}
	}
}

// quoteBackslashOrControl reports whether some byte of x is '"', '\\' or
// below 0x20.
func quoteBackslashOrControl(x uint64) bool {
	return (x-ones*0x20)&^x&highs != 0 || quoteOrBackslash(x)
}

// str accepts the string at b[i] == '"' if JSON.stringify would write its
// decoded text with the same bytes.
func (s *fastScan) str() bool {
	b := s.b
	i := s.i + 1
	for {
		for i+8 <= len(b) && !quoteBackslashOrControl(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) || b[i] < 0x20 {
			return false
		}
		if b[i] == '"' {
			s.i = i + 1
			return true
		}
		// A backslash.
		if i+1 >= len(b) {
			return false
		}
		switch b[i+1] {
		case '"', '\\', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			// \u00xx, lowercase, for a control character without a
			// short escape.
			if i+6 > len(b) || b[i+2] != '0' || b[i+3] != '0' || (b[i+4] != '0' && b[i+4] != '1') {
				return false
			}
			lo := hexLower(b[i+5])
			if lo < 0 {
				return false
			}
			switch u := int(b[i+4]-'0')<<4 | lo; u {
			case '\b', '\f', '\n', '\r', '\t':
				return false
			}
			i += 6
		default:
			return false // \/ and anything else
		}
	}
}

// hexLower is the value of a lowercase hex digit, or -1.
func hexLower(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// number accepts the number literal at b[i] if JavaScript prints its
// nearest double with the same bytes and the encoder knows it without
// converting (see encoder.number and appendShortDecimal).
func (s *fastScan) number() bool {
	b := s.b
	start := s.i
	i := start
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	intStart := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false
	}
	intDigits := i - intStart
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		return false
	}
	if i >= len(b) || b[i] != '.' {
		// An integer: copied when short, -0 prints as 0.
		s.i = i
		return intDigits <= maxExactDigits && !(neg && b[intStart] == '0')
	}
	i++
	fracStart := i
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	frac := b[fracStart:i]
	if len(frac) == 0 || frac[len(frac)-1] == '0' || (i < len(b) && (b[i] == 'e' || b[i] == 'E')) {
		return false // malformed, a trailing zero to drop, or an exponent
	}
	sig := intDigits + len(frac)
	if b[intStart] == '0' { // 0.000ddd: the leading zeros are not significant
		z := 0
		for frac[z] == '0' {
			z++
		}
		if z > 5 { // below 1e-6: exponent notation
			return false
		}
		sig = len(frac) - z
	}
	s.i = i
	return sig <= maxExactDigits
}
