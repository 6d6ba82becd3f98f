package canonical

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// str appends the string at e.b[e.i] as JSON.stringify writes it: the short
// escapes \b \f \n \r \t \" \\, \u00xx (lowercase) for the other controls,
// \udxxx for lone surrogates, and every other character as itself (so \/,
// \u0041 or \u2028 in the stored text come out unescaped). A string with no
// backslash is copied as is: valid JSON has no raw control characters, so
// there is nothing to rewrite.
func (e *encoder) str(dst []byte) ([]byte, error) {
	b := e.b
	start := e.i
	i := e.run(start + 1)
	if i >= len(b) {
		return dst, errMalformed
	}
	dst = append(dst, b[start:i]...) // opening quote and plain prefix
	for {
		if i >= len(b) {
			return dst, errMalformed
		}
		switch b[i] {
		case '"':
			e.i = i + 1
			return append(dst, '"'), nil
		case '\\':
			if i+1 >= len(b) {
				return dst, errMalformed
			}
			switch c := b[i+1]; c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '/':
				dst = append(dst, '/')
			case 'b', 'f', 'n', 'r', 't':
				dst = append(dst, '\\', c)
			case 'u':
				var err error
				if dst, i, err = e.unicodeEscape(dst, i); err != nil {
					return dst, err
				}
				continue
			default:
				return dst, errMalformed
			}
			i += 2
		default:
			j := e.run(i) // from b[i]: strict checks it too
			dst = append(dst, b[i:j]...)
			i = j
		}
	}
}

// run returns the offset of the first '"' or '\\' at or after e.b[i]. When
// the encoder is strict, a control character or invalid UTF-8 before it is
// an error, reported as the offset len(e.b) (which str rejects).
func (e *encoder) run(i int) int {
	if !e.strict {
		return skipToQuoteOrBackslash(e.b, i)
	}
	if i = strictRun(e.b, i); i < 0 {
		return len(e.b)
	}
	return i
}

// strictRun returns the offset of the first '"' or '\\' at or after b[i],
// or -1 when a control character, invalid UTF-8 or the end of b comes
// first: the string body as Doc.Parse's validator checks it.
func strictRun(b []byte, i int) int {
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
			return -1
		}
		if b[i] == '"' || b[i] == '\\' {
			return i
		}
		if i = skipUTF8(b, i); i < 0 {
			return -1
		}
	}
}

// unicodeEscape handles the \uXXXX escape at b[i] and returns the offset
// after it (and after its low surrogate, when it starts a pair).
func (e *encoder) unicodeEscape(dst []byte, i int) ([]byte, int, error) {
	u, ok := hex4(e.b, i+2)
	if !ok {
		return dst, i, errMalformed
	}
	switch {
	case u >= 0xD800 && u <= 0xDBFF:
		if lo, ok := lowSurrogateAt(e.b, i+6); ok {
			return utf8.AppendRune(dst, utf16.DecodeRune(rune(u), rune(lo))), i + 12, nil
		}
		fallthrough
	case u >= 0xDC00 && u <= 0xDFFF:
		if e.jcs {
			return dst, i, fmt.Errorf("jcs: lone surrogate \\u%04x at byte %d of data has no RFC 8785 form (use --verify.canonical=js)", u, i)
		}
		return appendU4(dst, u), i + 6, nil
	}
	return appendUnit(dst, u), i + 6, nil
}

// appendUnit appends one non-surrogate UTF-16 code unit as JSON.stringify
// writes it.
func appendUnit(dst []byte, u uint16) []byte {
	switch u {
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '"', '\\':
		return append(dst, '\\', byte(u))
	}
	if u < 0x20 {
		return appendU4(dst, u)
	}
	return utf8.AppendRune(dst, rune(u))
}

// appendU4 appends \uxxxx with lowercase hex digits.
func appendU4(dst []byte, u uint16) []byte {
	return append(dst, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xF], hexDigits[u>>4&0xF], hexDigits[u&0xF])
}
