package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestBounded: ids, keys and details past their bounds are cut on a
// character boundary with a marker; a cut key keeps its full hash; short
// fields are untouched; a report of 1 MB ids of '<' stays small, without
// HTML escaping.
func TestBounded(t *testing.T) {
	huge := strings.Repeat("<", 1<<20)
	f := Failure{ID: huge, Key: "!sigils!" + huge, Reason: "signature", Detail: strings.Repeat("é", 2000)}.Bounded()
	for name, c := range map[string]struct {
		got string
		max int
	}{"id": {f.ID, MaxIDBytes}, "key": {f.Key, MaxKeyBytes}, "detail": {f.Detail, MaxDetailBytes}} {
		if !strings.Contains(c.got, TruncMarker) || len(c.got) > c.max || !utf8.ValidString(c.got) {
			t.Errorf("%s: %d bytes, marker %v, valid %v", name, len(c.got), strings.Contains(c.got, TruncMarker), utf8.ValidString(c.got))
		}
	}
	if !strings.HasSuffix(f.ID, TruncMarker+"1048367 more bytes]") {
		t.Errorf("id ends %q", f.ID[len(f.ID)-40:])
	}
	if again := f.Bounded(); again != f {
		t.Errorf("Bounded is not idempotent: %+v then %+v", f, again)
	}
	if f.KeySHA256 != KeySum("!sigils!"+huge) || f.Match() != MatchKey([]byte("!sigils!"+huge)) {
		t.Errorf("key hash %q does not match the full key", f.KeySHA256)
	}
	short := Failure{ID: "a", Key: "!sigils!a", Detail: "d"}
	if short.Bounded() != short || short.Match() != "!sigils!a" || MatchKey([]byte("!sigils!a")) != "!sigils!a" {
		t.Errorf("a short failure changed: %+v", short.Bounded())
	}
	r := &Report{Store: "leveldb", Failures: make([]Failure, 30)}
	for i := range r.Failures {
		r.Failures[i] = f
	}
	a, err := NewArchive(t.TempDir(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	path, err := a.Write(r)
	if err != nil {
		t.Fatal(err)
	}
	b := testutil.ReadFile(t, path)
	if len(b) > 30*2000 || strings.Contains(string(b), `\u003c`) {
		t.Errorf("report of 30 huge-id failures is %d bytes (escaped: %v)", len(b), strings.Contains(string(b), `\u003c`))
	}
}

// TestReadRefusesHugeReports: a report file over MaxReadBytes (one written
// before reports were bounded) is not decoded for the page or Latest: an
// error that says so, not gigabytes of memory.
func TestReadRefusesHugeReports(t *testing.T) {
	dir := t.TempDir()
	a, err := NewArchive(dir, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := "integrity-report-leveldb-20260101T000000Z.json"
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxReadBytes + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	if _, err := a.Latest("leveldb"); err == nil || !strings.Contains(err.Error(), "over the") {
		t.Errorf("Latest of a huge report: %v, want a refusal", err)
	}
}
