// Package canonical turns a stored sigil record into the exact bytes the
// checksum and the signature cover: `data || {}` in one of three canonical
// forms.
//
// The default form, JS, reproduces byte for byte what Node computes when it
// verifies a stored record:
//
//	JSON.stringify(JSON.parse(stored).data || {})
//
// It is produced by a hand-written scanner over the stored bytes, not by a
// map round trip: keys keep their stored order except that array-index keys
// come first in ascending order (as V8 orders them), a duplicate key keeps
// its first position with its last value, strings are escaped exactly as
// JSON.stringify escapes them (lone surrogates included) and numbers are
// printed as JavaScript prints the nearest double.
//
// Raw is the stored bytes of data as they are; JCS is RFC 8785.
//
// The vectors in testdata/canonical/vectors.json come from a real Node run of
// testdata/node/gen-vectors.js; see that script for how to regenerate them.
//
// It imports only the standard library: no checks, no stores.
package canonical

import (
	"errors"
	"fmt"
)

// Mode selects the canonical form of a record's data.
type Mode uint8

const (
	// JS is JSON.stringify(JSON.parse(stored).data || {}) as V8 computes it.
	JS Mode = iota
	// Raw is the stored bytes of data exactly, or {} when data is falsy.
	Raw
	// JCS is the RFC 8785 JSON Canonicalization Scheme of data || {}.
	// Duplicate keys, lone surrogates and numbers that overflow to
	// Infinity have no RFC 8785 form and are errors.
	JCS
)

var modeNames = [...]string{JS: "js", Raw: "raw", JCS: "jcs"}

// ParseMode parses a mode name: "js", "raw" or "jcs".
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if s == name {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("unknown canonical form %q: use one of js, raw, jcs", s)
}

// String returns the mode's name as ParseMode accepts it.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// errMalformed is returned by Append for input that Parse would have
// rejected. Append does not re-validate; it only guarantees not to panic.
var errMalformed = errors.New("canonical: malformed JSON value (validate the document with Doc.Parse first)")

// Append appends the canonical bytes of `data || {}` for this mode to dst
// and returns the extended slice. raw is the stored data value (a
// Member.Value, or nil when the record has no data member) and must have
// been validated by Doc.Parse. On error dst is returned unextended.
//
// In JS mode, data already in JSON.stringify's form (as the app writes it)
// is copied as is after one quick check; anything else is re-encoded.
func (m Mode) Append(dst, raw []byte) ([]byte, error) {
	if m == JS && !Falsy(raw) && m.isCanonical(raw) {
		return append(dst, raw...), nil
	}
	return m.appendSlow(dst, raw)
}

// Canonical is Append without the copy when there is nothing to change: it
// returns raw itself when raw already is the canonical form (Raw mode, and
// JS mode for data as JSON.stringify writes it), and otherwise appends the
// canonical form to dst as Append does.
//
// The result may alias raw. It is capped at its length, so appending to it
// copies rather than overwriting what follows raw, but it must not be
// modified in place, and it is valid only as long as raw is.
func (m Mode) Canonical(dst, raw []byte) ([]byte, error) {
	if !Falsy(raw) && (m == Raw || m == JS && m.isCanonical(raw)) {
		return raw[:len(raw):len(raw)], nil
	}
	return m.appendSlow(dst, raw)
}

// CanonicalMember is Canonical for a data member found by Doc.Parse (the
// zero Member when the record has none): Parse already decided whether its
// value is in JS form, so it is not scanned again, and when Parse
// already encoded it (Doc.EncodeJS) that form is returned. The result may
// alias the record or the Doc: it is valid until the next Parse.
func (m Mode) CanonicalMember(dst []byte, data Member) ([]byte, error) {
	raw := data.Value
	if !Falsy(raw) {
		if m == Raw || m == JS && data.JS {
			return raw[:len(raw):len(raw)], nil
		}
		if m == JS && data.Canon != nil {
			return data.Canon, nil
		}
	}
	return m.appendSlow(dst, raw)
}

// isCanonical reports whether raw is already the JS form (see isJS).
func (m Mode) isCanonical(raw []byte) bool {
	e := getEncoder(raw, false)
	ok := isJS(raw, &e.fast)
	putEncoder(e)
	return ok
}

// appendSlow is Append without the JS fast path: every value is re-encoded.
func (m Mode) appendSlow(dst, raw []byte) ([]byte, error) {
	if Falsy(raw) {
		return append(dst, '{', '}'), nil
	}
	switch m {
	case Raw:
		return append(dst, raw...), nil
	case JS, JCS:
		e := getEncoder(raw, m == JCS)
		start := len(dst)
		out, err := e.value(dst, 0)
		if err == nil {
			e.ws()
			if e.i != len(e.b) {
				err = errMalformed
			}
		}
		putEncoder(e)
		if err != nil {
			return out[:start], err
		}
		return out, nil
	default:
		return dst, fmt.Errorf("canonical: unknown mode %d", uint8(m))
	}
}
