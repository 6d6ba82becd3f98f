package canonical

import "encoding/binary"

// Word-at-a-time scanning of string bodies: eight bytes per step while no
// byte needs a closer look (see "Bit Twiddling Hacks", hasless/haszero).

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasZeroByte reports whether some byte of x is zero.
func hasZeroByte(x uint64) bool { return (x-ones)&^x&highs != 0 }

// quoteOrBackslash reports whether some byte of x is '"' or '\\'.
func quoteOrBackslash(x uint64) bool {
	return hasZeroByte(x^(ones*'"')) || hasZeroByte(x^(ones*'\\'))
}

// needsCheck reports whether some byte of x is '"', '\\', a control
// character (< 0x20) or non-ASCII (>= 0x80).
func needsCheck(x uint64) bool {
	return (x-ones*0x20)&^x&highs != 0 || x&highs != 0 || quoteOrBackslash(x)
}

// skipPlain returns the first offset at or after i where b holds a byte that
// needsCheck would flag, or a position in the last 7 bytes of b.
func skipPlain(b []byte, i int) int {
	for i+8 <= len(b) && !needsCheck(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	return i
}

// skipToQuoteOrBackslash returns the offset of the first '"' or '\\' in
// b[i:], or len(b).
func skipToQuoteOrBackslash(b []byte, i int) int {
	for i+8 <= len(b) && !quoteOrBackslash(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}
