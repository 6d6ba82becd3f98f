package canonical

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
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
//   - numbers already printed as JavaScript prints them: an integer of at
//     most 15 digits (not -0) is, any other literal is compared with what
//     the encoder's appendNumber prints for it;
//   - in objects, no array-index key after the first member (V8 would move
//     it first), no duplicate key, at most fastMaxKeys members.
//
// Anything else is not an error: it takes the slow path, which decides.
// Since isJS is a recogniser of that grammar, not a reading of validated
// input, a false positive on malformed input cannot happen either: what it
// accepts is JSON the encoder copies as is (UTF-8 is not checked, but
// neither path changes bytes of 0x80 and above; Doc.Parse validates them).
// fast_test.go checks
// this against the slow path on the vectors, the fuzz corpus and random
// documents; FuzzAppend does on arbitrary bytes).

// fastMaxKeys is the largest object isJS checks for duplicate keys (pairwise,
// behind a 64-bit filter); a larger one takes the slow path.
const fastMaxKeys = 32

// keySpan is a key's body (without quotes) as offsets into the input.
type keySpan struct{ start, end int }

// fastFrame is one open container during isJS. For an object, keys[base:]
// are its keys so far, n their count and seen a filter on them.
type fastFrame struct {
	seen    uint64
	base    int
	n       int   // names (keys that are not array indices) so far
	lastIdx int64 // the last array-index key, -1 before the first
	names   bool  // a name came: no array-index key may follow
	obj     bool
	start   uint32 // offset of the '{' or '[' (in the padding: the frame stays 40 bytes)
}

// fastScratch is isJS's reusable memory.
type fastScratch struct {
	keys  []keySpan   // the keys of the open objects, innermost last
	stack []fastFrame // the open containers but the innermost
	// open is, after a scan that failed, how many containers were open
	// where it stopped: they are stack[:open], outermost first.
	open int
}

// isJS reports whether b is exactly one JSON value that the JS encoder
// would reproduce byte for byte.
func isJS(b []byte, sc *fastScratch) bool {
	end, ok := sc.scan(b, 0)
	return ok && end == len(b)
}

// scan runs scanJS on the value at b[i] and returns the offset after it;
// when the value is not in JS form, the offset where the scan stopped.
func (sc *fastScratch) scan(b []byte, i int) (int, bool) {
	end, ok, keys, stack := scanJS(b, i, sc.keys[:0], sc.stack[:0])
	sc.keys, sc.stack, sc.open = keys[:0], stack[:0], len(stack)
	return end, ok
}

// openFrames returns the containers open where the last scan stopped,
// outermost first (valid until the next scan).
func (sc *fastScratch) openFrames() []fastFrame { return sc.stack[:sc.open] }

// scanJS is isJS's loop: an explicit stack, the scan position in a local.
// It reads one value at b[i] and returns the offset after it; ok is false
// when that value is not in JS form (or not JSON, or not UTF-8). Since it
// checks UTF-8 and the JSON grammar of what it accepts, Doc.Parse uses it
// as its validator for data.
//
// When ok is false, the offset is where the scan stopped (the prefix):
// every array or object that starts at or after b[i] and closes before
// that offset, not at it, was read whole and accepted, so it already is in
// JS form; the returned stack then holds the containers open at that
// point, outermost first, with their start offsets. The strict encoder
// copies such containers instead of encoding them again (encoder.prefix).
// The offset is at or after the start of the token that failed, or 0 (for
// invalid UTF-8).
func scanJS(b []byte, i int, keys []keySpan, stack []fastFrame) (int, bool, []keySpan, []fastFrame) {
	var cur fastFrame // the innermost open container, when depth > 0
	depth := 0
	ok := false
	key := false // a member name comes first
	for {
		if key {
			// `"name":` of an object member. The common case here (a
			// short printable-ASCII name, not starting with a digit, not
			// seen by the filter); the rest in fastKey.
			key = false
			j := i + 1
			if j+1 < len(b) && b[i] == '"' && !isDigit(b[j]) && cur.n < fastMaxKeys {
				for j < len(b) && keyPlain[b[j]] {
					j++
				}
				if j+1 < len(b) && b[j] == '"' && b[j+1] == ':' && j > i+1 {
					bit := uint64(1) << (((j-i-1)*7 + int(b[i+1])*3 + int(b[j-1])) & 63)
					if cur.seen&bit == 0 {
						cur.seen |= bit
						cur.names = true
						cur.n++
						keys = append(keys, keySpan{i + 1, j})
						i = j + 2
						goto value
					}
				}
			}
			if i, keys, ok = fastKey(b, i, keys, &cur); !ok {
				goto fail
			}
		}
	value:
		// A value is expected at b[i].
		if i >= len(b) {
			goto fail
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth+2 > MaxDepth { // as Doc.Parse counts: the record object is one level
				goto fail
			}
			if i+1 < len(b) && b[i+1] == c+2 { // {} or []
				i += 2
				ok = true
				break
			}
			if depth > 0 {
				stack = append(stack, cur)
			}
			depth++
			cur = fastFrame{base: len(keys), lastIdx: -1, obj: c == '{', start: uint32(i)}
			i++
			key = c == '{'
			continue
		case '"':
			i, ok = fastStr(b, i)
		case 't':
			i, ok = fastLit(b, i, "true")
		case 'f':
			i, ok = fastLit(b, i, "false")
		case 'n':
			i, ok = fastLit(b, i, "null")
		default:
			// A short positive integer, the most common number, here;
			// anything else in fastNum.
			if c >= '1' && c <= '9' {
				j := i + 1
				for j < len(b) && isDigit(b[j]) {
					j++
				}
				if j-i <= maxExactDigits && (j == len(b) || b[j] != '.' && b[j] != 'e' && b[j] != 'E') {
					i, ok = j, true
					break
				}
			}
			i, ok = fastNum(b, i)
		}
		if !ok {
			goto fail
		}
		// A value ended at i: close containers or move to the next element.
		for {
			if depth == 0 {
				return i, true, keys, stack
			}
			if i >= len(b) {
				goto fail
			}
			c := b[i]
			i++
			if c == ',' {
				key = cur.obj
				break
			}
			if c != '}' && c != ']' || (c == '}') != cur.obj {
				goto fail
			}
			keys = keys[:cur.base]
			depth--
			if depth > 0 {
				cur = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
		}
	}
fail:
	// The containers open where the scan stopped, outermost first, for
	// the strict encoder (encoder.prefix).
	if depth > 0 {
		stack = append(stack, cur)
	}
	return i, false, keys, stack
}

// fastKey accepts `"key":` at b[i] if the key is canonical and where V8
// would put it (array-index keys first, ascending; then the names, none
// twice), and returns the offset of the member's value.
func fastKey(b []byte, i int, keys []keySpan, f *fastFrame) (int, []keySpan, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, keys, false
	}
	start := i + 1
	// Keys are mostly short printable ASCII: scan those here, the rest
	// with fastStr.
	j := start
	for j < len(b) && keyPlain[b[j]] {
		j++
	}
	if j < len(b) && b[j] == '"' {
		i = j + 1
	} else {
		var ok bool
		if i, ok = fastStr(b, i); !ok {
			return i, keys, false
		}
	}
	k := b[start : i-1]
	if i >= len(b) || b[i] != ':' {
		return i, keys, false
	}
	if len(k) > 0 && isDigit(k[0]) {
		if idx, isIdx := arrayIndex(k); isIdx {
			// Distinct and in V8's place only when ascending before
			// every name: then no duplicate check is needed.
			if f.names || int64(idx) <= f.lastIdx {
				return i, keys, false
			}
			f.lastIdx = int64(idx)
			return i + 1, keys, true
		}
	}
	if f.n == fastMaxKeys {
		return i, keys, false
	}
	var bit uint64 = 1
	if len(k) > 0 {
		bit = 1 << ((len(k)*7 + int(k[0])*3 + int(k[len(k)-1])) & 63)
	}
	if f.seen&bit != 0 {
		for _, o := range keys[f.base:] {
			if string(b[o.start:o.end]) == string(k) {
				return i, keys, false // a duplicate key
			}
		}
	}
	f.seen |= bit
	f.names = true
	f.n++
	keys = append(keys, keySpan{start, i - 1})
	return i + 1, keys, true
}

func fastLit(b []byte, i int, l string) (int, bool) {
	if len(b)-i < len(l) || string(b[i:i+len(l)]) != l {
		return i, false
	}
	return i + len(l), true
}

// specialMask flags, in the high bit of each byte, the bytes of x that are
// '"', '\\' or below 0x20. Bits above the lowest one may be false alarms
// (a borrow carries upwards), the lowest one is exact: the first special
// byte is byte bits.TrailingZeros64(mask)/8.
func specialMask(x uint64) uint64 {
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x) & highs
}

// keyPlain marks the printable ASCII bytes but '"' and '\\': a key made
// of them is copied as is.
var keyPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7F; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// fastPlain marks the bytes a string copies without a closer look: all but
// '"', '\\' and the control characters.
var fastPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x100; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// fastStr accepts the string at b[i] == '"' if JSON.stringify would write
// its decoded text with the same bytes, and returns the offset after it.
func fastStr(b []byte, i int) (int, bool) {
	i++
	for {
		for {
			if i+8 > len(b) {
				for i < len(b) && fastPlain[b[i]] && b[i] < utf8.RuneSelf {
					i++
				}
				break
			}
			x := binary.LittleEndian.Uint64(b[i:])
			if m := specialMask(x) | x&highs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) || b[i] < 0x20 {
			return i, false
		}
		if b[i] == '"' {
			return i + 1, true
		}
		if b[i] >= utf8.RuneSelf {
			if i = skipUTF8(b, i); i < 0 {
				return 0, false
			}
			continue
		}
		// A backslash.
		if i+1 >= len(b) {
			return i, false
		}
		switch b[i+1] {
		case '"', '\\', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			// \u00xx, lowercase, for a control character without a
			// short escape.
			if i+6 > len(b) || b[i+2] != '0' || b[i+3] != '0' || (b[i+4] != '0' && b[i+4] != '1') {
				return i, false
			}
			lo := hexLower(b[i+5])
			if lo < 0 {
				return i, false
			}
			switch u := int(b[i+4]-'0')<<4 | lo; u {
			case '\b', '\f', '\n', '\r', '\t':
				return i, false
			}
			i += 6
		default:
			return i, false // \/ and anything else
		}
	}
}

// skipUTF8 returns the offset after the run of valid UTF-8 sequences of
// non-ASCII characters at b[i], or -1 at an invalid one.
func skipUTF8(b []byte, i int) int {
	for i < len(b) && b[i] >= utf8.RuneSelf {
		c := b[i]
		// Two- and three-byte sequences inline (the common scripts), the
		// rest through the standard decoder.
		switch {
		case c >= 0xC2 && c <= 0xDF && i+1 < len(b) && b[i+1]&0xC0 == 0x80:
			i += 2
		case (c >= 0xE1 && c <= 0xEC || c == 0xEE || c == 0xEF) && i+2 < len(b) && b[i+1]&0xC0 == 0x80 && b[i+2]&0xC0 == 0x80:
			i += 3
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return -1
			}
			i += size
		}
	}
	return i
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

// fastNumMax is the longest number literal fastNum compares with its JS
// form; no double prints longer (-1.2345678901234567e-308 is 24 bytes).
const fastNumMax = 32

// fastNum accepts the number literal at b[i] if the encoder writes it
// unchanged, and returns the offset after it. Decided in the same pass
// that reads it for the common literals: an integer of at most 15 digits
// (not -0), and a fraction without exponent that appendShortDecimal prints
// as is (no trailing zero, at most 15 significant digits, not below 1e-6).
// Any other literal is printed by appendNumber, the encoder's own code,
// and compared.
func fastNum(b []byte, i int) (int, bool) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return i, false
	}
	intLen := i - intStart
	if i == len(b) || b[i] != '.' && b[i] != 'e' && b[i] != 'E' {
		if intLen <= maxExactDigits {
			return i, !(b[start] == '-' && b[intStart] == '0') // -0 prints as 0
		}
		return fastNumGeneral(b, start, i)
	}
	if b[i] == '.' {
		i++
		fracStart := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == fracStart {
			return i, false
		}
		if i == len(b) || b[i] != 'e' && b[i] != 'E' {
			if b[i-1] != '0' {
				sig := intLen + i - fracStart
				if b[intStart] == '0' { // 0.000ddd: the leading zeros are not significant
					z := 0
					for b[fracStart+z] == '0' {
						z++
					}
					sig = i - fracStart - z
					if z > 5 { // below 1e-6: exponent notation
						sig = maxExactDigits + 1
					}
				}
				if sig <= maxExactDigits {
					return i, true
				}
			}
			return fastNumGeneral(b, start, i)
		}
	}
	// An exponent.
	i++
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if i >= len(b) || !isDigit(b[i]) {
		return i, false
	}
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return fastNumGeneral(b, start, i)
}

// fastNumGeneral compares the literal b[start:end] with what appendNumber
// prints for it.
func fastNumGeneral(b []byte, start, end int) (int, bool) {
	lit := b[start:end]
	if len(lit) > fastNumMax {
		return end, false
	}
	var buf [fastNumMax]byte
	out, err := appendNumber(buf[:0], lit, start, false)
	return end, err == nil && string(out) == string(lit)
}
