package canonical

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects that Parse accepts
// (the top-level record object is depth 1).
//
// Node's JSON.stringify is recursive and throws "Maximum call stack size
// exceeded" at a few thousand levels (about 4,500 on Node 20 with the
// default stack), so the app can never have written data nested deeper than
// that, and such a record cannot verify in Node either. 10,000 leaves room
// for larger Node stacks while bounding the work and the recursion of
// Append (Parse itself uses an explicit stack).
const MaxDepth = 10000

// maxCachedNames bounds Doc's cache of member-name strings.
const maxCachedNames = 32

// Member is one top-level member of the record object, in stored order
// (duplicates kept).
type Member struct {
	// Name is the decoded member name.
	Name string
	// Value is the raw value bytes, a sub-slice of the parsed input with no
	// surrounding whitespace. It is valid as long as the input is.
	Value []byte
	// JS is true for a member named "data" whose value is already in the
	// JS canonical form (JSON.stringify's output for it), as the same scan
	// that validated it found; Mode.CanonicalMember then hashes it as is.
	JS bool
	// Canon is, for a member named "data" that is not in JS form, its JS
	// form, when Doc.EncodeJS is set: Parse encoded it in the pass that
	// validated it, and Mode.CanonicalMember returns it. It is nil
	// otherwise, and valid until the next Parse.
	Canon []byte
}

// Doc is a parsed record document. It is reusable across records (Parse
// resets it), which avoids allocating per record. A Doc is not safe for
// concurrent use.
type Doc struct {
	// Members are the top-level members in stored order.
	Members []Member
	// EncodeJS makes Parse re-encode data that is not already in JS form
	// (Member.Canon) with a validating encoder, in one pass instead of
	// validating it and then encoding it. Set it for the JS mode.
	EncodeJS bool

	canon []byte // the Canon of the data members of the last Parse

	stack []byte   // open containers during Parse: '{' or '['
	names []string // recently seen member names, reused to avoid allocation
	fast  fastScratch
}

// SyntaxError describes why a document was rejected.
type SyntaxError struct {
	// Offset is the 0-based byte offset in the document where the problem
	// was found.
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string { return e.msg }

func syntaxErr(b []byte, i int) error {
	if i >= len(b) {
		return &SyntaxError{Offset: len(b), msg: fmt.Sprintf("invalid JSON at byte %d: unexpected end of input", len(b))}
	}
	c := b[i]
	if c >= utf8.RuneSelf {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return utf8Err(i)
		}
		return &SyntaxError{Offset: i, msg: fmt.Sprintf("invalid JSON at byte %d: unexpected %q", i, r)}
	}
	return &SyntaxError{Offset: i, msg: fmt.Sprintf("invalid JSON at byte %d: unexpected %q", i, rune(c))}
}

func utf8Err(i int) error {
	return &SyntaxError{Offset: i, msg: fmt.Sprintf("invalid UTF-8 at byte %d", i)}
}

// Parse validates the whole document and records its top-level members.
// It checks UTF-8 everywhere, the strict JSON grammar of RFC 8259 (which is
// what JSON.parse accepts: no comments, no trailing commas, no byte order
// mark), that the top level is an object, and that nesting stays within
// MaxDepth. Errors are one short line with a byte offset.
func (d *Doc) Parse(b []byte) error {
	d.Members = d.Members[:0]
	d.canon = d.canon[:0]
	i := skipWS(b, 0)
	if i >= len(b) {
		if len(b) == 0 {
			return &SyntaxError{Offset: 0, msg: "empty document: expected a JSON object"}
		}
		return syntaxErr(b, i)
	}
	if b[i] != '{' {
		// Report a syntax error first, then the wrong kind.
		end, err := d.value(b, i)
		if err != nil {
			return err
		}
		if end = skipWS(b, end); end != len(b) {
			return syntaxErr(b, end)
		}
		return &SyntaxError{Offset: i, msg: fmt.Sprintf("not a JSON object (top level is %s)", kindOf(b[i]))}
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return syntaxErr(b, i)
			}
			nameStart := i
			end, err := scanString(b, i)
			if err != nil {
				return err
			}
			name := b[nameStart:end]
			i = skipWS(b, end)
			if i >= len(b) || b[i] != ':' {
				return syntaxErr(b, i)
			}
			i = skipWS(b, i+1)
			valStart := i
			// data: one scan validates it and decides whether it is in
			// the JS form already; only data that is not is read again,
			// by the general validator.
			js := false
			var canon []byte
			if string(name) == `"data"` {
				var end int
				if end, js = d.fast.scan(b, i); js {
					i = end
				} else if d.EncodeJS {
					if canon, end = d.encodeJS(b, i, end); canon != nil {
						i = end
					}
				}
			}
			if !js && canon == nil {
				if i, err = d.value(b, i); err != nil {
					return err
				}
			}
			d.Members = append(d.Members, Member{Name: d.name(name), Value: b[valStart:i], JS: js, Canon: canon})
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return syntaxErr(b, i)
		}
	}
	if i = skipWS(b, i); i != len(b) {
		return syntaxErr(b, i)
	}
	return nil
}

// encodeJS validates the value at b[i] and encodes its JS form in the same
// pass, and returns the form and the offset after the value; nil when the
// strict encoder rejects the value (Parse's validator then says why).
// prefixEnd is where the fast scan, which rejected the value, stopped: the
// containers it accepted before that are copied, not read again.
func (d *Doc) encodeJS(b []byte, i, prefixEnd int) ([]byte, int) {
	e := getEncoder(b, false)
	e.i, e.strict, e.maxDepth = i, true, MaxDepth-1 // the record object is one level
	// The scan's frames hold 32-bit offsets.
	if len(b) <= math.MaxUint32 {
		e.prefixEnd, e.open = prefixEnd, d.fast.openFrames()
	}
	start := len(d.canon)
	out, err := e.value(d.canon, 0)
	end := e.i
	putEncoder(e)
	if err != nil {
		d.canon = out[:start]
		return nil, 0
	}
	d.canon = out
	return out[start:len(out):len(out)], end
}

// GetMember returns the last member with that name (the one JSON.parse
// keeps), and ok=false when there is none.
func (d *Doc) GetMember(name string) (m Member, ok bool) {
	for k := len(d.Members) - 1; k >= 0; k-- {
		if d.Members[k].Name == name {
			return d.Members[k], true
		}
	}
	return Member{}, false
}

// Get returns the raw value of the last member with that name (the one
// JSON.parse keeps), and ok=false when there is none.
func (d *Doc) Get(name string) (raw []byte, ok bool) {
	for k := len(d.Members) - 1; k >= 0; k-- {
		if d.Members[k].Name == name {
			return d.Members[k].Value, true
		}
	}
	return nil, false
}

// name returns the decoded member name for a raw JSON string, reusing a
// cached string when this name was seen before (records share their field
// names, so steady-state parsing does not allocate).
func (d *Doc) name(raw []byte) string {
	body := raw[1 : len(raw)-1]
	for _, s := range d.names {
		if s == string(body) {
			return s
		}
	}
	s, _ := StringValue(raw)
	if len(d.names) < maxCachedNames && string(body) == s {
		d.names = append(d.names, s)
	}
	return s
}

func kindOf(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// value validates one JSON value starting at b[i] (no leading whitespace)
// and returns the offset just after it. Containers are tracked on an
// explicit stack, so hostile nesting cannot exhaust the goroutine stack.
func (d *Doc) value(b []byte, i int) (int, error) {
	i, err := valueLoop(b, i, &d.stack)
	d.stack = d.stack[:0]
	return i, err
}

// valueLoop is Doc.value's loop; *stackp keeps the stack's capacity for
// the next call.
func valueLoop(b []byte, i int, stackp *[]byte) (int, error) {
	stack := (*stackp)[:0]
	defer func() { *stackp = stack }()
	var err error
	for {
		// Here a value is expected at b[i].
		if i >= len(b) {
			return i, syntaxErr(b, i)
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(stack)+2 > MaxDepth { // +1 for the record object itself
				return i, &SyntaxError{Offset: i, msg: fmt.Sprintf("invalid JSON at byte %d: nesting deeper than %d levels", i, MaxDepth)}
			}
			stack = append(stack, c)
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' == '{'+2, ']' == '['+2
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				if i, err = memberName(b, i); err != nil {
					return i, err
				}
			}
			continue
		case '"':
			if i, err = scanString(b, i); err != nil {
				return i, err
			}
		case 't':
			if i, err = literal(b, i, "true"); err != nil {
				return i, err
			}
		case 'f':
			if i, err = literal(b, i, "false"); err != nil {
				return i, err
			}
		case 'n':
			if i, err = literal(b, i, "null"); err != nil {
				return i, err
			}
		default:
			if i, err = scanNumber(b, i); err != nil {
				return i, err
			}
		}
		// A value ended at i: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, syntaxErr(b, i)
			}
			top := stack[len(stack)-1]
			if b[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return i, syntaxErr(b, i)
			}
			i = skipWS(b, i+1)
			if top == '{' {
				if i, err = memberName(b, i); err != nil {
					return i, err
				}
			}
			break
		}
	}
}

// memberName validates `"name" :` at b[i] and returns the offset of the
// member's value.
func memberName(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, syntaxErr(b, i)
	}
	i, err := scanString(b, i)
	if err != nil {
		return i, err
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, syntaxErr(b, i)
	}
	return skipWS(b, i+1), nil
}

func literal(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) || b[i+k] != lit[k] {
			return i + k, syntaxErr(b, i+k)
		}
	}
	return i + len(lit), nil
}

// isWS reports JSON whitespace: space, tab, line feed, carriage return.
func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isWS(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func scanNumber(b []byte, i int) (int, error) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, syntaxErr(b, i)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, syntaxErr(b, i)
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, syntaxErr(b, i)
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

// plain marks bytes that may appear unescaped in a JSON string and need no
// further check: printable ASCII except '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString validates the JSON string starting at b[i] == '"' and returns
// the offset just after its closing quote.
func scanString(b []byte, i int) (int, error) {
	i++
	for {
		i = skipPlain(b, i)
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, syntaxErr(b, i)
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i + 1, syntaxErr(b, i+1)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) || hexVal(b[k]) < 0 {
						return k, syntaxErr(b, k)
					}
				}
				i += 6
			default:
				return i + 1, syntaxErr(b, i+1)
			}
		case c < 0x20:
			return i, &SyntaxError{Offset: i, msg: fmt.Sprintf("invalid JSON at byte %d: control character U+%04X in a string must be escaped", i, c)}
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return i, utf8Err(i)
			}
			i += size
		}
	}
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
