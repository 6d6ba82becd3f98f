package canonical

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// StringValue decodes a raw JSON string value (as Parse validated it) into
// a Go string. A lone surrogate escape becomes U+FFFD. ok is false when raw
// is not a well-formed JSON string.
func StringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	simple := true
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			simple = false
			break
		}
	}
	if simple {
		return string(body), true
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c == '"' || c < 0x20 {
			return "", false
		}
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return "", false
		}
		switch body[i+1] {
		case '"', '\\', '/':
			out = append(out, body[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			u, ok := hex4(body, i+2)
			if !ok {
				return "", false
			}
			r := rune(u)
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
				if u < 0xDC00 {
					if lo, ok := lowSurrogateAt(body, i+6); ok {
						r = utf16.DecodeRune(rune(u), rune(lo))
						i += 6
					}
				}
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(out), true
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (uint16, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var u uint16
	for _, c := range b[i : i+4] {
		v := hexVal(c)
		if v < 0 {
			return 0, false
		}
		u = u<<4 | uint16(v)
	}
	return u, true
}

// lowSurrogateAt reports whether b[i:] starts with a \uDC00-\uDFFF escape.
func lowSurrogateAt(b []byte, i int) (uint16, bool) {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	u, ok := hex4(b, i+2)
	if !ok || u < 0xDC00 || u > 0xDFFF {
		return 0, false
	}
	return u, true
}

// Falsy reports whether a raw JSON value is falsy in JavaScript: null,
// false, "", and any number equal to zero (0, -0, 0.0, 0e5, and literals
// such as 1e-400 that underflow to zero). nil (an absent member) is falsy
// too. Everything else, "0" and [] and {} included, is truthy.
func Falsy(raw []byte) bool {
	if len(raw) == 0 {
		return true
	}
	switch raw[0] {
	case 'n', 'f':
		return true
	case '"':
		return len(raw) == 2 && raw[1] == '"'
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return zeroNumber(raw)
	}
	return false
}

// zeroNumber reports whether a JSON number literal's nearest double is ±0.
func zeroNumber(raw []byte) bool {
	if !isDigit(raw[len(raw)-1]) {
		return false // malformed; not a number
	}
	exp := false
	for _, c := range raw {
		switch {
		case c >= '1' && c <= '9':
			// A nonzero digit: zero only when it underflows, which needs
			// an exponent or, without one, a fraction whose first nonzero
			// digit comes after 323 zeros (0.000…0001 is 1e-324, below
			// half the smallest double).
			for _, c := range raw {
				if c == 'e' || c == 'E' {
					exp = true
				}
			}
			if !exp && !tinyFraction(raw) {
				return false
			}
			f, err := strconv.ParseFloat(unsafeString(raw), 64)
			return err == nil && f == 0
		case c == 'e' || c == 'E':
			return true // every mantissa digit was 0
		}
	}
	return true
}

// tinyFraction reports whether a literal without exponent is -?0.ddd with
// at least 323 zeros before its first nonzero digit: small enough that it
// may round to zero.
func tinyFraction(raw []byte) bool {
	if raw[0] == '-' {
		raw = raw[1:]
	}
	if len(raw) < 2+323 || raw[0] != '0' || raw[1] != '.' {
		return false
	}
	for _, c := range raw[2 : 2+323] {
		if c != '0' {
			return false
		}
	}
	return true
}

// unsafeString views b as a string without copying. The string must not be
// retained beyond the call it is passed to.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
