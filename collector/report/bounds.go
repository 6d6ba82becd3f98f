package report

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// Bounds on what a record can put into a report, the progress file and
// the pages: an id, key or detail longer than its bound is cut, on a
// character boundary, and ends with TruncMarker and the number of bytes
// left out. With them, one listed failure is at most about 1.6 KB of
// text (about 10 KB of JSON if every byte is a control character, which
// JSON escapes to six), whatever the store holds.
const (
	MaxIDBytes     = 256
	MaxKeyBytes    = 256
	MaxDetailBytes = 1024
	// MaxFixed caps the list of recently fixed failures.
	MaxFixed = 100
	// MaxReadBytes is the largest report file the archive decodes (for
	// the page and Latest): three times the bound of a report at the
	// default --report.max-failures (README, Reports). A larger file (one
	// written before reports were bounded, or with a very high
	// --report.max-failures) is still served as a file.
	MaxReadBytes = 64 << 20
	// TruncMarker starts the suffix of a truncated field.
	TruncMarker = "…[truncated, "
	// truncReserve is room for the suffix: the marker, 20 digits and
	// " more bytes]".
	truncReserve = len(TruncMarker) + 20 + len(" more bytes]")
)

// Truncate returns s unchanged when it fits in limit bytes; else cut on a
// UTF-8 boundary and ended with "…[truncated, N more bytes]", limit bytes
// at most in all (so truncating again changes nothing). limit must be at
// least truncReserve.
func Truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - truncReserve
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + TruncMarker + strconv.Itoa(len(s)-cut) + " more bytes]"
}

// Bounded returns f with its id, key and detail within their bounds. When
// the key is cut, KeySHA256 holds the hash of the full key, so that the
// record can still be recognised. Bounded of a bounded failure is itself.
func (f Failure) Bounded() Failure {
	if len(f.Key) > MaxKeyBytes && f.KeySHA256 == "" {
		f.KeySHA256 = KeySum(f.Key)
		f.Key = Truncate(f.Key, MaxKeyBytes)
	}
	f.ID = Truncate(f.ID, MaxIDBytes)
	f.Detail = Truncate(f.Detail, MaxDetailBytes)
	return f
}

// KeySum is the hex SHA-256 of a full key, as in Failure.KeySHA256.
func KeySum(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// Match is what identifies the failure's record, whether or not its key
// was truncated: the key, or "sha256:" and the full key's hash.
func (f Failure) Match() string {
	if f.KeySHA256 != "" {
		return "sha256:" + f.KeySHA256
	}
	return f.Key
}

// MatchKey is Match for a record's full key (prefix included).
func MatchKey(fullKey []byte) string {
	if len(fullKey) > MaxKeyBytes {
		s := sha256.Sum256(fullKey)
		return "sha256:" + hex.EncodeToString(s[:])
	}
	return string(fullKey)
}
