package leveldb

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
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
	return fds, nil
}

// Open opens a file of the database read-only.
func (s *roStorage) Open(fd storage.FileDesc) (storage.Reader, error) {
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
	if fd.Type == storage.TypeJournal {
		defer f.Close()
		if s.nextSeq == 0 {
			s.nextSeq = journalSeqBase
		}
		return memFile{bytes.NewReader(renumberJournal(f, &s.nextSeq, s.log, fileName(fd)))}, nil
	}
	return f, nil
}

func (s *roStorage) Create(storage.FileDesc) (storage.Writer, error) { return nil, errReadOnly }
func (s *roStorage) Remove(storage.FileDesc) error                   { return errReadOnly }
func (s *roStorage) Rename(_, _ storage.FileDesc) error              { return errReadOnly }
func (s *roStorage) Close() error                                    { return nil }

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
