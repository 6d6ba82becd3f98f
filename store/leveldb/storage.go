package leveldb

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/storage"
)

// errReadOnly is returned by every method of roStorage that would write.
var errReadOnly = errors.New("leveldb: the exporter never writes to the app's database")

// roStorage is a storage.Storage that can only read a LevelDB directory.
//
// goleveldb's own storage.OpenFile(path, true) is not enough: in read-only
// mode it still opens LOCK (and creates it, 0644, when absent) and takes a
// shared flock on it. This storage opens no file for writing at all, creates
// nothing and takes no lock: the app (Node's C++ LevelDB, which uses fcntl
// locks that flock never sees anyway) is not disturbed, and the directory is
// byte-identical after a pass. Every write method returns errReadOnly.
//
// A table file that is missing is reported as a goleveldb corruption error
// wrapping fs.ErrNotExist: a strict iterator stops on it (so the walk sees
// it and can reopen), a non-strict one skips it like a damaged block.
type roStorage struct {
	dir string
	log *slog.Logger
	// nextSeq numbers the journal batches goleveldb replays (see
	// renumberJournal); replay opens the journals once, in order.
	nextSeq uint64
	// manifest holds the journal numbers of the MANIFEST goleveldb read
	// (set by Open); journals are the live journals List found, replayed
	// as one (see List and mergeJournals).
	manifest     manifestJournals
	haveManifest bool
	manifestSeen string // name and size of the MANIFEST read, for Store.open
	journals     []storage.FileDesc
	// strictJournals makes List fail with a staleViewError when the
	// journal the MANIFEST names as current is not on disk (see Store.open).
	strictJournals bool
}

var _ storage.Storage = (*roStorage)(nil)

type noLock struct{}

func (noLock) Unlock() {}

// Lock takes no lock: a read-only reader must not block the app.
func (s *roStorage) Lock() (storage.Locker, error) { return noLock{}, nil }

// Log forwards goleveldb's internal log to slog at debug level; journal
// records dropped during recovery are warnings.
func (s *roStorage) Log(str string) {
	if s.log == nil {
		return
	}
	if strings.Contains(str, "drop") || strings.Contains(str, "corrupt") {
		s.log.Warn("leveldb reader", "msg", str)
		return
	}
	s.log.Debug("leveldb reader", "msg", str)
}

func (s *roStorage) SetMeta(storage.FileDesc) error { return errReadOnly }

// GetMeta reads CURRENT, which names the live MANIFEST.
func (s *roStorage) GetMeta() (storage.FileDesc, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "CURRENT"))
	if err != nil {
		return storage.FileDesc{}, err
	}
	name := strings.TrimSuffix(string(b), "\n")
	fd, ok := parseName(name)
	if !ok || fd.Type != storage.TypeManifest || len(b) == 0 || b[len(b)-1] != '\n' {
		return storage.FileDesc{}, &storage.ErrCorrupted{Fd: fd, Err: fmt.Errorf("CURRENT holds %q, not a manifest name", name)}
	}
	if _, err := os.Stat(filepath.Join(s.dir, name)); err != nil {
		return storage.FileDesc{}, err
	}
	return fd, nil
}

// List returns the files of the given types in the directory.
//
// Journals are special. goleveldb's read-only recovery (recoverJournalRO)
// reuses one journal.Reader for every journal it replays, and Reset hands
// back the io.EOF that ended the previous journal, which recovery takes for
// an error: a database with two live journals (C++ LevelDB keeps the old one
// until the memtable it holds is flushed; a close or a crash right after a
// memtable switch leaves both) would not open at all. So List(TypeJournal)
// names only the newest live journal, and Open returns for it every live
// journal merged into one, in order (mergeJournals). The live journals are
// chosen by the rule C++ LevelDB and goleveldb share (number >= the
// MANIFEST's log number, or equal to its previous log number), from the
// MANIFEST goleveldb just read, so an obsolete journal left behind is never
// replayed over newer tables.
func (s *roStorage) List(ft storage.FileType) ([]storage.FileDesc, error) {
	d, err := os.Open(s.dir)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(0)
	_ = d.Close()
	if err != nil {
		return nil, err
	}
	var fds []storage.FileDesc
	for _, n := range names {
		if fd, ok := parseName(n); ok && fd.Type&ft != 0 {
			fds = append(fds, fd)
		}
	}
	if ft != storage.TypeJournal || !s.haveManifest {
		return fds, nil
	}
	s.journals = s.journals[:0]
	current := false
	for _, fd := range fds {
		if s.manifest.live(fd.Num) {
			s.journals = append(s.journals, fd)
		}
		current = current || fd.Num == s.manifest.logNum
	}
	if !current && s.strictJournals {
		// The MANIFEST names a journal that is gone: the app flushed it and
		// wrote a newer MANIFEST since we read this one. Replaying what is
		// left would miss what went into the new table.
		return nil, &staleViewError{name: fileName(storage.FileDesc{Type: storage.TypeJournal, Num: s.manifest.logNum})}
	}
	if len(s.journals) == 0 {
		return nil, nil
	}
	slices.SortFunc(s.journals, func(a, b storage.FileDesc) int { return cmp.Compare(a.Num, b.Num) })
	return []storage.FileDesc{s.journals[len(s.journals)-1]}, nil
}

// Open opens a file of the database read-only. The MANIFEST is read whole
// (a consistent copy even if the app appends to it meanwhile) and its
// journal numbers kept for List; a journal comes back renumbered, and the
// newest live journal comes back with every live journal merged into it.
func (s *roStorage) Open(fd storage.FileDesc) (storage.Reader, error) {
	if s.nextSeq == 0 {
		s.nextSeq = journalSeqBase
	}
	switch fd.Type {
	case storage.TypeManifest:
		b, err := os.ReadFile(filepath.Join(s.dir, fileName(fd)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // CURRENT moved on to a newer MANIFEST
				return nil, &staleViewError{name: fileName(fd), err: err}
			}
			return nil, err
		}
		s.manifest, s.haveManifest = readManifestJournals(b), true
		s.manifestSeen = fmt.Sprintf("%s:%d", fileName(fd), len(b))
		return memFile{bytes.NewReader(b)}, nil
	case storage.TypeJournal:
		if n := len(s.journals); n > 0 && s.journals[n-1] == fd {
			b, err := mergeJournals(s.dir, s.journals, &s.nextSeq, s.log)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil, &staleViewError{name: fileName(fd), err: err}
				}
				return nil, err
			}
			return memFile{bytes.NewReader(b)}, nil
		}
		f, err := os.Open(filepath.Join(s.dir, fileName(fd)))
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		return memFile{bytes.NewReader(renumberJournal(f, &s.nextSeq, s.log, fileName(fd)))}, nil
	}
	f, err := os.Open(filepath.Join(s.dir, fileName(fd)))
	if err != nil && fd.Type == storage.TypeTable && errors.Is(err, fs.ErrNotExist) {
		f, err = os.Open(filepath.Join(s.dir, fmt.Sprintf("%06d.sst", fd.Num)))
	}
	if err != nil {
		if fd.Type == storage.TypeTable && errors.Is(err, fs.ErrNotExist) {
			return nil, &lerrors.ErrCorrupted{Fd: fd, Err: &missingTableError{name: fileName(fd), err: err}}
		}
		return nil, err
	}
	return f, nil
}

func (s *roStorage) Create(storage.FileDesc) (storage.Writer, error) { return nil, errReadOnly }
func (s *roStorage) Remove(storage.FileDesc) error                   { return errReadOnly }
func (s *roStorage) Rename(_, _ storage.FileDesc) error              { return errReadOnly }
func (s *roStorage) Close() error                                    { return nil }

// staleViewError: the MANIFEST that CURRENT named, or a journal that
// MANIFEST names, is gone, because the app moved on (flushed a memtable,
// wrote a new MANIFEST) while we opened. Open again from CURRENT.
type staleViewError struct {
	name string
	err  error
}

func (e *staleViewError) Error() string {
	return e.name + " is gone: the app moved on (flushed a memtable, wrote a new MANIFEST) while the database was being opened"
}
func (e *staleViewError) Unwrap() error { return e.err }

// missingTableError is a table file named by the manifest that is not on disk.
type missingTableError struct {
	name string
	err  error
}

func (e *missingTableError) Error() string { return "table file " + e.name + " is missing" }
func (e *missingTableError) Unwrap() error { return e.err }

// fileName is the C++ LevelDB name of a file.
func fileName(fd storage.FileDesc) string {
	switch fd.Type {
	case storage.TypeManifest:
		return fmt.Sprintf("MANIFEST-%06d", fd.Num)
	case storage.TypeJournal:
		return fmt.Sprintf("%06d.log", fd.Num)
	case storage.TypeTable:
		return fmt.Sprintf("%06d.ldb", fd.Num)
	case storage.TypeTemp:
		return fmt.Sprintf("%06d.tmp", fd.Num)
	}
	return fmt.Sprintf("unknown-%d-%d", fd.Type, fd.Num)
}

// parseName recognises the C++ LevelDB file names.
func parseName(name string) (storage.FileDesc, bool) {
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	}
	if rest, ok := strings.CutPrefix(name, "MANIFEST-"); ok {
		n, ok := num(rest)
		return storage.FileDesc{Type: storage.TypeManifest, Num: n}, ok
	}
	base, ext, ok := strings.Cut(name, ".")
	if !ok {
		return storage.FileDesc{}, false
	}
	n, ok := num(base)
	if !ok {
		return storage.FileDesc{}, false
	}
	switch ext {
	case "log":
		return storage.FileDesc{Type: storage.TypeJournal, Num: n}, true
	case "ldb", "sst":
		return storage.FileDesc{Type: storage.TypeTable, Num: n}, true
	case "tmp":
		return storage.FileDesc{Type: storage.TypeTemp, Num: n}, true
	}
	return storage.FileDesc{}, false
}
