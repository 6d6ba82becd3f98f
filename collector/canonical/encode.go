package canonical

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
)

// encoder streams the JS or JCS form of one validated JSON value.
//
// Objects are written in stored order as they are scanned, and each member's
// output span is remembered. Only when an object turns out to hold
// array-index keys or duplicate keys (JS), or keys out of UTF-16 order
// (JCS), are its members rewritten in the right order from a copy. The common
// case is a single pass with no copy.
type encoder struct {
	b   []byte // the value being encoded
	i   int    // read offset in b
	jcs bool
	// strict makes the encoder a validator too: it rejects (errMalformed)
	// everything Doc.Parse's validator rejects, so that data can be
	// validated and re-encoded in one pass (see Doc.EncodeJS).
	strict   bool
	maxDepth int // containers allowed around a value: MaxDepth, one less when strict

	// prefixEnd and open come from the fast scan that rejected this value
	// (strict encoding from Doc.Parse): an array or object that starts
	// before prefixEnd, is not one of open (the containers open where the
	// scan stopped) and ends before prefixEnd was accepted by the scan,
	// so it is copied as it is (see prefix). 0 and nil otherwise.
	prefixEnd int
	open      []fastFrame

	segs []seg   // members of the objects being written, innermost last
	perm []int32 // scratch ordering of one object's members
	tmp  []byte  // scratch copy of one object's body while reordering

	fast fastScratch // scratch for isJS, the fast path's check
}

// seg is one object member's output span in dst: dst[start:keyEnd] is the
// quoted key and dst[keyEnd] is the ':' before the value.
type seg struct {
	start, keyEnd, end int
	src                int32  // member whose value this position emits (duplicates)
	index              uint32 // numeric value of an array-index key
	isIndex            bool
	dead               bool // a later duplicate, emitted at the first one's place
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

func getEncoder(b []byte, jcs bool) *encoder {
	e := encoders.Get().(*encoder)
	e.b, e.i, e.jcs, e.strict, e.maxDepth = b, 0, jcs, false, MaxDepth
	e.prefixEnd, e.open = 0, nil
	return e
}

// maxPooledScratch keeps one huge record from pinning its scratch memory.
const maxPooledScratch = 1 << 20

func putEncoder(e *encoder) {
	e.b, e.open = nil, nil
	e.segs = e.segs[:0]
	if cap(e.tmp) > maxPooledScratch {
		e.tmp = nil
	}
	if cap(e.segs) > maxPooledScratch/64 {
		e.segs = nil
		e.perm = nil
	}
	if cap(e.fast.keys) > maxPooledScratch/16 || cap(e.fast.stack) > maxPooledScratch/32 {
		e.fast = fastScratch{}
	}
	encoders.Put(e)
}

func (e *encoder) ws() {
	if e.i < len(e.b) && e.b[e.i] <= ' ' {
		e.skipIndent()
	}
}

// skipIndent moves past the whitespace at e.b[e.i]. Pretty-printed text
// is mostly a line feed and an indentation of spaces, or one space after a
// colon: after each whitespace byte, the spaces that follow go eight bytes
// at a time and their run ends without a byte loop. (Not inlined, so that
// ws is, and costs a compare where there is no whitespace.)
//
//go:noinline
func (e *encoder) skipIndent() {
	b, i := e.b, e.i
	for i < len(b) && b[i] <= ' ' && isWS(b[i]) {
		i++
		for i+8 <= len(b) {
			if x := binary.LittleEndian.Uint64(b[i:]) ^ ones*' '; x != 0 {
				i += bits.TrailingZeros64(x) >> 3
				break
			}
			i += 8
		}
	}
	e.i = i
}

// value appends the canonical form of the value at e.b[e.i:]. depth counts
// the enclosing containers; recursion is bounded by MaxDepth.
func (e *encoder) value(dst []byte, depth int) ([]byte, error) {
	e.ws()
	if e.i >= len(e.b) {
		return dst, errMalformed
	}
	switch c := e.b[e.i]; c {
	case '{', '[':
		if depth >= e.maxDepth {
			return dst, fmt.Errorf("canonical: nesting deeper than %d levels", MaxDepth)
		}
		if e.i < e.prefixEnd {
			if end := e.prefix(); end > 0 {
				dst = append(dst, e.b[e.i:end]...)
				e.i = end
				return dst, nil
			}
		}
		if c == '{' {
			return e.object(dst, depth+1)
		}
		return e.array(dst, depth+1)
	case '"':
		return e.str(dst)
	case 't':
		return e.literal(dst, "true")
	case 'f':
		return e.literal(dst, "false")
	case 'n':
		return e.literal(dst, "null")
	}
	// A short positive integer (the most common number) is its own form;
	// the rest in number.
	if c := e.b[e.i]; c >= '1' && c <= '9' {
		j := e.i + 1
		for j < len(e.b) && isDigit(e.b[j]) {
			j++
		}
		if j-e.i <= maxExactDigits && (j == len(e.b) || e.b[j] != '.' && e.b[j] != 'e' && e.b[j] != 'E') {
			dst = append(dst, e.b[e.i:j]...)
			e.i = j
			return dst, nil
		}
	}
	return e.number(dst)
}

// prefix returns the offset after the array or object at e.b[e.i] when
// the fast scan accepted it whole, so that its JS form is its text, and -1
// when it must be encoded: it was open where the scan stopped (then it is
// the next of e.open, as the encoder meets containers in order), or it does
// not end before e.prefixEnd.
func (e *encoder) prefix() int {
	for len(e.open) > 0 && int(e.open[0].start) <= e.i {
		if int(e.open[0].start) == e.i {
			e.open = e.open[1:]
			return -1
		}
		e.open = e.open[1:]
	}
	return containerEnd(e.b[:e.prefixEnd-1], e.i)
}

// containerEnd returns the offset after the array or object at b[i], by
// matching brackets outside strings, or -1 when b ends first. It does not
// validate: b must be JSON as far as it goes (here, text the fast scan
// accepted).
func containerEnd(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		c := structural[b[i]]
		i++
		switch c {
		case 0:
			continue
		case '[':
			depth++
			continue
		case ']':
			if depth--; depth == 0 {
				return i
			}
			continue
		}
		// A string: to its closing quote, eight bytes at a time.
		for {
			if i+8 <= len(b) {
				x := binary.LittleEndian.Uint64(b[i:])
				q, bs := x^(ones*'"'), x^(ones*'\\')
				m := ((q-ones)&^q | (bs-ones)&^bs) & highs // the lowest bit is exact
				if m == 0 {
					i += 8
					continue
				}
				i += bits.TrailingZeros64(m) >> 3
			} else {
				for i < len(b) && b[i] != '"' && b[i] != '\\' {
					i++
				}
				if i >= len(b) {
					return -1
				}
			}
			if b[i] == '"' {
				i++
				break
			}
			i += 2 // an escape: the byte after the backslash never ends the string
		}
	}
	return -1
}

// structural maps the bytes containerEnd stops at: '[' for an opening
// bracket or brace, ']' for a closing one, '"' for a quote; 0 for others.
var structural = [256]byte{'[': '[', '{': '[', ']': ']', '}': ']', '"': '"'}

func (e *encoder) literal(dst []byte, lit string) ([]byte, error) {
	if len(e.b)-e.i < len(lit) || string(e.b[e.i:e.i+len(lit)]) != lit {
		return dst, errMalformed
	}
	e.i += len(lit)
	return append(dst, lit...), nil
}

func (e *encoder) array(dst []byte, depth int) ([]byte, error) {
	dst = append(dst, '[')
	e.i++
	e.ws()
	if e.i < len(e.b) && e.b[e.i] == ']' {
		e.i++
		return append(dst, ']'), nil
	}
	for {
		var err error
		if dst, err = e.value(dst, depth); err != nil {
			return dst, err
		}
		e.ws()
		if e.i >= len(e.b) {
			return dst, errMalformed
		}
		switch e.b[e.i] {
		case ',':
			e.i++
			dst = append(dst, ',')
		case ']':
			e.i++
			return append(dst, ']'), nil
		default:
			return dst, errMalformed
		}
	}
}

func (e *encoder) object(dst []byte, depth int) ([]byte, error) {
	dst = append(dst, '{')
	body := len(dst)
	base := len(e.segs)
	e.i++
	e.ws()
	if e.i < len(e.b) && e.b[e.i] == '}' {
		e.i++
		return append(dst, '}'), nil
	}
	// JS: whether the members may need orderJS, decided as they are
	// written: an array-index key after the first member, or two keys
	// alike by orderJS's duplicate filter (a superset of the duplicates).
	// Most objects have neither and are not looked at again.
	var seen uint64
	reorder := false
	for {
		e.ws()
		if e.i >= len(e.b) || e.b[e.i] != '"' {
			return dst, errMalformed
		}
		start := len(dst)
		// A key of printable ASCII (most are) is copied here, the rest by
		// str: JSON.stringify writes those bytes as they are.
		j := e.i + 1
		for j < len(e.b) && keyPlain[e.b[j]] {
			j++
		}
		var err error
		if j < len(e.b) && e.b[j] == '"' {
			dst = append(dst, e.b[e.i:j+1]...)
			e.i = j + 1
		} else if dst, err = e.str(dst); err != nil {
			return dst, err
		}
		keyEnd := len(dst)
		if !e.jcs && !reorder {
			k := dst[start+1 : keyEnd-1]
			bit := keyBit(k)
			if seen&bit != 0 {
				reorder = true
			} else if len(k) > 0 && isDigit(k[0]) && len(e.segs) > base {
				_, reorder = arrayIndex(k)
			}
			seen |= bit
		}
		e.ws()
		if e.i >= len(e.b) || e.b[e.i] != ':' {
			return dst, errMalformed
		}
		e.i++
		dst = append(dst, ':')
		if dst, err = e.value(dst, depth); err != nil {
			return dst, err
		}
		e.segs = append(e.segs, seg{start: start, keyEnd: keyEnd, end: len(dst)})
		e.ws()
		if e.i >= len(e.b) {
			return dst, errMalformed
		}
		if e.b[e.i] == ',' {
			e.i++
			dst = append(dst, ',')
			continue
		}
		if e.b[e.i] != '}' {
			return dst, errMalformed
		}
		e.i++
		break
	}
	var err error
	if e.jcs {
		dst, err = e.orderJCS(dst, body, base)
	} else if reorder {
		dst = e.orderJS(dst, body, base)
	}
	e.segs = e.segs[:base]
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}
