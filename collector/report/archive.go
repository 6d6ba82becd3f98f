package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/internal/atomicfile"
	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
)

// DefaultRetain is the default number of reports kept per store
// (--report.retain).
const DefaultRetain = 30

// ErrNoReport is returned by Latest when the archive holds no report for
// the store asked for.
var ErrNoReport = errors.New("no report archived yet")

const (
	fileMode = 0o640
	dirMode  = 0o750
	// timeLayout is the UTC timestamp in report file names.
	timeLayout = "20060102T150405Z"
)

// namePattern matches archived report names:
// integrity-report-<store>-<UTC timestamp>[-<n>].json, where -<n> (n >= 2)
// tells apart reports of one store finished within the same second.
var namePattern = regexp.MustCompile(`^integrity-report-([A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*?)-([0-9]{8}T[0-9]{6}Z)(?:-([2-9]|[1-9][0-9]+))?\.json$`)

// storePattern is what a store name must look like to be part of a file
// name.
var storePattern = regexp.MustCompile(`^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$`)

// Entry is one archived report file.
type Entry struct {
	// Name is the file name, without directory.
	Name string
	// Store is the store the report is about.
	Store string
	// Time is the timestamp in the name (the pass's finish, UTC, seconds).
	Time time.Time
	// Size is the file size in bytes.
	Size int64
	// seq orders reports of one store within one second (1, 2, ...).
	seq int
}

// parseName reads an archived report name; ok is false for any other file.
func parseName(name string) (e Entry, ok bool) {
	m := namePattern.FindStringSubmatch(name)
	if m == nil {
		return Entry{}, false
	}
	t, err := time.Parse(timeLayout, m[2])
	if err != nil {
		return Entry{}, false
	}
	seq := 1
	if m[3] != "" {
		if seq, err = strconv.Atoi(m[3]); err != nil {
			return Entry{}, false
		}
	}
	return Entry{Name: name, Store: m[1], Time: t, seq: seq}, true
}

// fileName builds the name of the seq-th report of store finished at t.
func fileName(store string, t time.Time, seq int) string {
	name := "integrity-report-" + store + "-" + t.UTC().Format(timeLayout)
	if seq > 1 {
		name += "-" + strconv.Itoa(seq)
	}
	return name + ".json"
}

// newer orders entries newest first: time, then seq, then name.
func newer(a, b Entry) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	if a.seq != b.seq {
		return b.seq - a.seq
	}
	if a.Name > b.Name {
		return -1
	}
	if a.Name < b.Name {
		return 1
	}
	return 0
}

// Archive is a directory of report files, one per pass and store, with the
// newest Retain of each store kept. Files that do not match the report name
// pattern are never touched. Writes from one Archive are serialised; two
// processes writing the same store's report into one directory within the
// same second could pick the same name (the later one wins).
type Archive struct {
	dir    string
	retain int
	logger *slog.Logger
	origin Origin
	mu     sync.Mutex // serialises Write: name choice, write, prune
}

// Origin says where the reports come from: the fields every report of one
// exporter process shares. The archive stamps them on each report it
// writes (SetOrigin).
type Origin struct {
	Host      string // the host the exporter runs on
	Version   string // the exporter's version
	Canonical string // the canonical form of data (js, raw, jcs)
}

// Stamp fills r's Host, Version and Canonical where they are empty.
func (o Origin) Stamp(r *Report) {
	if r.Host == "" {
		r.Host = o.Host
	}
	if r.Version == "" {
		r.Version = o.Version
	}
	if r.Canonical == "" {
		r.Canonical = o.Canonical
	}
}

// SetOrigin sets what Write stamps on every report; call it before the
// first Write.
func (a *Archive) SetOrigin(o Origin) { a.origin = o }

// Origin is what SetOrigin set.
func (a *Archive) Origin() Origin { return a.origin }

// NewArchive opens dir as a report archive keeping the newest retain reports
// per store, creating dir (mode 0750) when missing.
func NewArchive(dir string, retain int, logger *slog.Logger) (*Archive, error) {
	if retain < 1 {
		return nil, fielderr.New("report.Archive.Retain", retain, "must be at least 1")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fielderr.Wrap(err, "report.Archive.Dir", dir, "cannot create the report directory; name a writable directory")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fielderr.Wrap(err, "report.Archive.Dir", dir, "name a writable directory")
	}
	if !fi.IsDir() {
		return nil, fielderr.New("report.Archive.Dir", dir, "not a directory; name a directory")
	}
	return &Archive{dir: dir, retain: retain, logger: logger}, nil
}

// Dir is the archive's directory.
func (a *Archive) Dir() string { return a.dir }

// Write archives r, stamped with the Origin, atomically as
// integrity-report-<store>-<finished_at UTC>.json (a -2, -3 ... suffix when
// that name is taken), pretty JSON with a trailing newline, mode 0640, then
// prunes the store's reports beyond the retention. It returns the file's
// path. On error nothing is left behind and older reports are untouched.
// A failure to prune is logged, not returned: the report itself was written.
func (a *Archive) Write(r *Report) (string, error) {
	if !storePattern.MatchString(r.Store) {
		return "", fmt.Errorf("write report: store name %q cannot be part of a file name (letters, digits, _ and inner - only)", r.Store)
	}
	stamped := *r
	a.origin.Stamp(&stamped)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // no HTML escaping: see marshalNoHTMLEscape
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&stamped); err != nil {
		return "", fmt.Errorf("encode report for store %q: %w", r.Store, err)
	}
	data := buf.Bytes() // ends with a newline
	t := r.FinishedAt
	if t.IsZero() {
		t = time.Now()
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	var path string
	for seq := 1; ; seq++ {
		path = filepath.Join(a.dir, fileName(r.Store, t, seq))
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			break
		} else if err != nil {
			return "", fmt.Errorf("write report: check %q: %w", path, err)
		}
	}
	if err := atomicfile.Write(path, data, fileMode); err != nil {
		return "", fmt.Errorf("write report: %w; check free space and permissions of the report directory %q", err, a.dir)
	}
	a.prune(r.Store, filepath.Base(path))
	return path, nil
}

// prune removes the store's reports beyond the retention, oldest first,
// never the one just written (its name may sort old if the clock stepped
// back).
func (a *Archive) prune(store, written string) {
	entries, err := a.List()
	if err != nil {
		a.logger.Warn("Could not list reports to prune old ones", "store", store, "err", err)
		return
	}
	kept := 1 // the report just written
	for _, e := range entries {
		if e.Store != store || e.Name == written {
			continue
		}
		if kept++; kept <= a.retain {
			continue
		}
		if err := os.Remove(filepath.Join(a.dir, e.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.logger.Warn("Could not remove an old report", "file", e.Name, "err", err)
			continue
		}
		a.logger.Debug("Removed an old report", "file", e.Name, "retain", a.retain)
	}
}

// List returns the archived reports, newest first. Other files in the
// directory are ignored.
func (a *Archive) List() ([]Entry, error) {
	des, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, fmt.Errorf("list reports in %q: %w", a.dir, err)
	}
	var out []Entry
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		e, ok := parseName(de.Name())
		if !ok {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		e.Size = fi.Size()
		out = append(out, e)
	}
	slices.SortFunc(out, newer)
	return out, nil
}

// latestEntry is the newest entry of store ("" = of any store).
func (a *Archive) latestEntry(store string) (Entry, error) {
	entries, err := a.List()
	if err != nil {
		return Entry{}, err
	}
	for _, e := range entries {
		if store == "" || e.Store == store {
			return e, nil
		}
	}
	if store == "" {
		return Entry{}, ErrNoReport
	}
	return Entry{}, fmt.Errorf("store %q: %w", store, ErrNoReport)
}

// Latest reads the newest report of store; store "" means the newest of any
// store. It returns an error wrapping ErrNoReport when there is none.
func (a *Archive) Latest(store string) (*Report, error) {
	e, err := a.latestEntry(store)
	if err != nil {
		return nil, err
	}
	return a.read(e.Name)
}

// read decodes one archived report by file name.
func (a *Archive) read(name string) (*Report, error) {
	path := filepath.Join(a.dir, name)
	if fi, err := os.Stat(path); err == nil && fi.Size() > MaxReadBytes {
		// Written before reports were bounded, or by hand: decoding it
		// would take many times its size in memory, on every page view.
		return nil, fmt.Errorf("report %q is %d bytes, over the %d this exporter decodes: fetch the file itself", name, fi.Size(), int64(MaxReadBytes))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode report %q: %w", name, err)
	}
	return &r, nil
}
