package canonical

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"unicode/utf8"
)

// pairwiseMax is the member count up to which duplicates are found by
// comparing every pair; larger objects sort an index instead.
const pairwiseMax = 16

// key returns a member's written key without its quotes. The written key is
// JSON.stringify's escaping of the decoded key, which is one-to-one, so
// equal written keys mean equal decoded keys.
func key(dst []byte, s *seg) []byte { return dst[s.start+1 : s.keyEnd-1] }

// arrayIndex reports whether a written key is an array index as V8 orders
// them: a canonical decimal integer from 0 to 2^32-2 ("4294967295" is an
// ordinary name, and so are "01", "-1" and "1.0").
func arrayIndex(k []byte) (uint32, bool) {
	if len(k) == 0 || len(k) > 10 || (k[0] == '0' && len(k) > 1) {
		return 0, false
	}
	var v uint64
	for _, c := range k {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > 4294967294 {
		return 0, false
	}
	return uint32(v), true
}

// keyBit is a written key's bit in a 64-bit filter on its length and end
// bytes: equal keys have equal bits.
func keyBit(k []byte) uint64 {
	if len(k) == 0 {
		return 1
	}
	return 1 << ((len(k)*7 + int(k[0])*3 + int(k[len(k)-1])) & 63)
}

// markDuplicates finds members with equal keys. For each key written more
// than once, the first member gets src = the last one's index and the later
// ones are marked dead. It reports whether any duplicate was found.
func (e *encoder) markDuplicates(dst []byte, segs []seg) bool {
	found := false
	if len(segs) <= pairwiseMax {
		// A 64-bit filter on length and end bytes skips the pairwise
		// comparison for keys that cannot have been seen before.
		var seen uint64
		for k := 0; k < len(segs); k++ {
			kk := key(dst, &segs[k])
			bit := keyBit(kk)
			if seen&bit == 0 {
				seen |= bit
				continue
			}
			for j := 0; j < k; j++ {
				if !segs[j].dead && bytes.Equal(key(dst, &segs[j]), kk) {
					segs[j].src = int32(k)
					segs[k].dead = true
					found = true
					break
				}
			}
		}
		return found
	}
	perm := e.perm[:0]
	for k := range segs {
		perm = append(perm, int32(k))
	}
	slices.SortFunc(perm, func(a, b int32) int {
		if c := bytes.Compare(key(dst, &segs[a]), key(dst, &segs[b])); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for r := 0; r < len(perm); {
		end := r + 1
		for end < len(perm) && bytes.Equal(key(dst, &segs[perm[r]]), key(dst, &segs[perm[end]])) {
			segs[perm[end]].dead = true
			end++
		}
		if end-r > 1 {
			segs[perm[r]].src = perm[end-1]
			found = true
		}
		r = end
	}
	e.perm = perm
	return found
}

// orderJS rewrites the object body dst[body:] in V8's order when needed:
// array-index keys first in ascending order, then the other keys in stored
// order, each duplicate key at its first place with its last value.
func (e *encoder) orderJS(dst []byte, body, base int) []byte {
	segs := e.segs[base:]
	reorder := false
	for k := range segs {
		s := &segs[k]
		s.src, s.dead = int32(k), false
		s.index, s.isIndex = arrayIndex(key(dst, s))
		if s.isIndex && k > 0 {
			reorder = true // a single index key first is already in place
		}
	}
	if len(segs) > 1 && e.markDuplicates(dst, segs) {
		reorder = true
	}
	if !reorder {
		return dst
	}
	perm := e.perm[:0]
	for k := range segs {
		if segs[k].isIndex && !segs[k].dead {
			perm = append(perm, int32(k))
		}
	}
	slices.SortFunc(perm, func(a, b int32) int { return cmp.Compare(segs[a].index, segs[b].index) })
	for k := range segs {
		if !segs[k].isIndex && !segs[k].dead {
			perm = append(perm, int32(k))
		}
	}
	e.perm = perm
	return e.rewrite(dst, body, segs, perm)
}

// rewrite replaces dst[body:] with the members listed in order, each
// emitting the span of its src member.
func (e *encoder) rewrite(dst []byte, body int, segs []seg, order []int32) []byte {
	e.tmp = append(e.tmp[:0], dst[body:]...)
	dst = dst[:body]
	for n, k := range order {
		if n > 0 {
			dst = append(dst, ',')
		}
		s := &segs[segs[k].src]
		dst = append(dst, e.tmp[s.start-body:s.end-body]...)
	}
	return dst
}

// orderJCS sorts the object body dst[body:] by key in UTF-16 code unit
// order (RFC 8785 section 3.2.3). Duplicate keys are an error.
func (e *encoder) orderJCS(dst []byte, body, base int) ([]byte, error) {
	segs := e.segs[base:]
	if len(segs) < 2 {
		return dst, nil
	}
	perm := e.perm[:0]
	for k := range segs {
		segs[k].src, segs[k].dead = int32(k), false
		perm = append(perm, int32(k))
	}
	e.perm = perm
	sorted := true
	for k := 1; k < len(segs); k++ {
		c := compareUTF16(key(dst, &segs[k-1]), key(dst, &segs[k]))
		if c == 0 {
			return dst, jcsDuplicate(e.i)
		}
		if c > 0 {
			sorted = false
		}
	}
	if sorted {
		return dst, nil
	}
	slices.SortFunc(perm, func(a, b int32) int { return compareUTF16(key(dst, &segs[a]), key(dst, &segs[b])) })
	for k := 1; k < len(perm); k++ {
		if compareUTF16(key(dst, &segs[perm[k-1]]), key(dst, &segs[perm[k]])) == 0 {
			return dst, jcsDuplicate(e.i)
		}
	}
	return e.rewrite(dst, body, segs, perm), nil
}

func jcsDuplicate(at int) error {
	return fmt.Errorf("jcs: duplicate key in the object ending at byte %d of data has no RFC 8785 form (use --verify.canonical=js)", at)
}

// compareUTF16 compares two written (JSON.stringify-escaped, surrogate-free)
// keys by the UTF-16 code units of their decoded text.
func compareUTF16(a, b []byte) int {
	for {
		if len(a) == 0 || len(b) == 0 {
			return cmp.Compare(len(a), len(b))
		}
		ra, na := writtenRune(a)
		rb, nb := writtenRune(b)
		a, b = a[na:], b[nb:]
		if ra == rb {
			continue
		}
		ua, ub := firstUnit(ra), firstUnit(rb)
		if ua != ub {
			return cmp.Compare(ua, ub)
		}
		return cmp.Compare(ra, rb) // both outside the BMP, same high surrogate
	}
}

// firstUnit is the first UTF-16 code unit of r.
func firstUnit(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}

// writtenRune decodes the first character of a written key: UTF-8, or one
// of the escapes JSON.stringify writes (\" \\ \b \f \n \r \t \u00xx).
func writtenRune(b []byte) (rune, int) {
	if b[0] != '\\' {
		r, n := utf8.DecodeRune(b)
		return r, n
	}
	if len(b) < 2 {
		return '\\', 1
	}
	switch b[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		if u, ok := hex4(b, 2); ok {
			return rune(u), 6
		}
	}
	return rune(b[1]), 2
}
