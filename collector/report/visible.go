package report

import (
	"fmt"
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// invisible reports whether a character should not reach a page as it
// is: controls, format characters (bidi overrides and isolates such as
// U+202E, zero-width ones such as U+200B, U+FEFF, the soft hyphen), line
// and paragraph separators, spaces other than U+0020, and variation
// selectors. Each can make two different ids look the same, or reorder
// what a reader sees.
func invisible(r rune) bool {
	switch {
	case r == ' ':
		return false
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs, unicode.Co):
		return true
	case unicode.Is(unicode.Variation_Selector, r), r == utf8.RuneError:
		return true
	}
	return false
}

// HasInvisible reports whether s has a character Visible escapes, or
// bytes that are not UTF-8.
func HasInvisible(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.IndexFunc(s, invisible) >= 0
}

// Visible renders s as HTML with every invisible character shown as a
// marked escape (<U+202E>) and invalid UTF-8 bytes as <0xNN>; the rest is
// HTML-escaped as html/template would.
func Visible(s string) template.HTML {
	if !HasInvisible(s) {
		return template.HTML(template.HTMLEscapeString(s))
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `<span class="esc" title="a byte that is not UTF-8">&lt;0x%02X&gt;</span>`, s[i])
		case invisible(r):
			fmt.Fprintf(&b, `<span class="esc" title="invisible character U+%04X">&lt;U+%04X&gt;</span>`, r, r)
		default:
			b.WriteString(template.HTMLEscapeString(s[i : i+size]))
		}
		i += size
	}
	return template.HTML(b.String())
}

// Escaped is Visible as plain text: what the page shows, for keys.txt
// and tests.
func Escaped(s string) string {
	if !HasInvisible(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "<0x%02X>", s[i])
		case invisible(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
