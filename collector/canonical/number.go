package canonical

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// maxExactDigits is the longest integer literal copied as is: every integer
// of up to 15 digits is below 2^53, so it is its own nearest double and
// JavaScript prints it unchanged.
const maxExactDigits = 15

// number appends the number literal at e.b[e.i] as JavaScript prints the
// nearest double (Number.prototype.toString). A literal that overflows to
// Infinity is printed as null, as JSON.stringify does (an error in JCS).
func (e *encoder) number(dst []byte) ([]byte, error) {
	b := e.b
	start := e.i
	if e.strict {
		return e.strictNumber(dst)
	}
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := 0
	for i < len(b) && isDigit(b[i]) {
		i++
		digits++
	}
	if digits == 0 {
		return dst, errMalformed
	}
	simple := true
	if i < len(b) && b[i] == '.' {
		simple = false
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		simple = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	e.i = i
	return e.appendLiteral(dst, start, i, simple && digits <= maxExactDigits)
}

// strictNumber is number for the strict encoder: it reads the literal with
// the grammar Doc.Parse's validator checks (scanNumber's), in the same
// pass, and rejects a digit right after it (0123, which the validator
// rejects as a whole too).
func (e *encoder) strictNumber(dst []byte) ([]byte, error) {
	b := e.b
	start := e.i
	i := start
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
		return dst, errMalformed
	}
	digits := i - intStart
	simple := true
	short := false // a fraction that prints as it is written
	if i < len(b) && b[i] == '.' {
		simple = false
		i++
		fracStart := i
		if i >= len(b) || !isDigit(b[i]) {
			return dst, errMalformed
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		// As appendShortDecimal decides (and fastNum): no trailing zero,
		// at most 15 significant digits, not below 1e-6.
		if b[i-1] != '0' {
			sig := digits + i - fracStart
			if b[intStart] == '0' {
				z := 0
				for b[fracStart+z] == '0' {
					z++
				}
				sig = i - fracStart - z
				if z > 5 {
					sig = maxExactDigits + 1
				}
			}
			short = sig <= maxExactDigits
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		simple, short = false, false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return dst, errMalformed
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && isDigit(b[i]) { // after a leading 0
		return dst, errMalformed
	}
	e.i = i
	if short {
		return append(dst, b[start:i]...), nil
	}
	return e.appendLiteral(dst, start, i, simple && digits <= maxExactDigits)
}

// appendLiteral appends the literal e.b[start:end]: as written when exact
// (an integer of up to maxExactDigits digits, its own nearest double;
// "-0" prints as 0), else as JavaScript prints its nearest double.
func (e *encoder) appendLiteral(dst []byte, start, end int, exact bool) ([]byte, error) {
	lit := e.b[start:end]
	if !exact {
		return appendNumber(dst, lit, start, e.jcs)
	}
	if lit[0] == '-' && lit[1] == '0' { // -0 prints as 0
		return append(dst, '0'), nil
	}
	return append(dst, lit...), nil
}

// appendNumber appends a number literal other than a short integer as
// JavaScript prints its nearest double; at is its offset, for errors.
func appendNumber(dst, lit []byte, at int, jcs bool) ([]byte, error) {
	if out, ok := appendShortDecimal(dst, lit); ok {
		return out, nil
	}
	f, err := strconv.ParseFloat(unsafeString(lit), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
			if jcs {
				return dst, fmt.Errorf("jcs: number at byte %d of data overflows to Infinity, which has no RFC 8785 form (use --verify.canonical=js)", at)
			}
			return append(dst, "null"...), nil
		}
		return dst, errMalformed
	}
	return appendJSNumber(dst, f), nil
}

// appendJSNumber appends a finite double as ECMAScript Number::toString
// prints it: the shortest digits that round-trip, in fixed notation for
// 1e-6 <= |x| < 1e21 (so 1e-7 prints as 1e-7) and as d.ddde±n otherwise; -0 prints as 0.
func appendJSNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // -d.ddde±xx
	if s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
	}
	// Split into the digit string and the exponent.
	var digitBuf [24]byte
	digits := append(digitBuf[:0], s[0])
	p := 1
	if p < len(s) && s[p] == '.' {
		for p++; s[p] != 'e'; p++ {
			digits = append(digits, s[p])
		}
	}
	p++ // 'e'
	negExp := s[p] == '-'
	exp := 0
	for _, c := range s[p+1:] {
		exp = exp*10 + int(c-'0')
	}
	if negExp {
		exp = -exp
	}
	k := len(digits)
	n := exp + 1 // the value is 0.d1d2...dk × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for ; k < n; k++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for z := n; z < 0; z++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendShortDecimal handles the common fraction literal without exponent
// and with at most 15 significant digits (such as 19.99, -0.35, 1.50): a
// decimal of 15 digits or fewer survives the round trip through a double, so
// JavaScript prints the literal's own digits, trailing fraction zeros
// dropped. It reports false when the literal needs the general path.
func appendShortDecimal(dst, lit []byte) ([]byte, bool) {
	neg := lit[0] == '-'
	body := lit
	if neg {
		body = lit[1:]
	}
	dot := -1
	for k, c := range body {
		switch {
		case c == '.':
			dot = k
		case !isDigit(c):
			return dst, false // exponent
		}
	}
	if dot <= 0 {
		return dst, false
	}
	intPart, frac := body[:dot], body[dot+1:]
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	sig := len(intPart) + len(frac)
	if len(intPart) == 1 && intPart[0] == '0' {
		if len(frac) == 0 {
			return append(dst, '0'), true // 0.0, -0.000
		}
		z := 0
		for z < len(frac) && frac[z] == '0' {
			z++
		}
		if z > 5 { // below 1e-6: exponent notation
			return dst, false
		}
		sig = len(frac) - z
	}
	if sig > maxExactDigits {
		return dst, false
	}
	if neg {
		dst = append(dst, '-')
	}
	dst = append(dst, intPart...)
	if len(frac) > 0 {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	return dst, true
}

// AppendNumberText appends a JSON number literal (as Doc.Parse validated
// it) as JavaScript's String() prints its nearest double: the text of a
// numeric record id. 1.50 is "1.5", 1e21 "1e+21", 1e3 "1000", -0 "0",
// 9007199254740993 "9007199254740992", and a literal that overflows is
// "Infinity" or "-Infinity". ok is false for a malformed literal, and dst
// is then returned unextended.
func AppendNumberText(dst, lit []byte) (out []byte, ok bool) {
	if len(lit) == 0 {
		return dst, false
	}
	body := lit
	if body[0] == '-' {
		body = body[1:]
	}
	digits := 0
	for digits < len(body) && isDigit(body[digits]) {
		digits++
	}
	if digits == 0 {
		return dst, false
	}
	if digits == len(body) && digits <= maxExactDigits {
		if body[0] == '0' {
			if len(body) != 1 {
				return dst, false // a leading zero
			}
			return append(dst, '0'), true // -0 prints as 0
		}
		return append(dst, lit...), true
	}
	start := len(dst)
	out, err := appendNumber(dst, lit, 0, false)
	if err != nil {
		return dst, false
	}
	if string(out[start:]) == "null" { // overflow: JSON.stringify's null is String()'s Infinity
		out = out[:start]
		if lit[0] == '-' {
			out = append(out, '-')
		}
		out = append(out, "Infinity"...)
	}
	return out, true
}
