// Package leveldb reads sigil records out of the Node app's LevelDB
// (classic-level / level), strictly read-only.
//
// The database is opened through a storage that cannot write (no LOCK, no
// LOG, no CURRENT rewrite, no compaction): see roStorage. A read-only open
// sees the database as of the open, so Scan walks in chunks, releasing its
// iterator after each one, and reopens when the app's compaction deleted a
// table file the old view still named. Damaged table blocks become
// store.Record values with Err set (a *CorruptionError) and the walk goes on
// past them.
//
// It owns everything goleveldb: no other package but tests imports
// goleveldb. It must not import collector/ or exporter/.
package leveldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// open starts again when the app changed the database under it (see
// Store.open): at least openAttempts times, and for as long as openPatience
// after the first attempt, with a pause that grows from 5 ms to 200 ms. On a
// loaded machine an attempt can be descheduled for longer than the app
// takes to flush its next memtable, so a fixed count of quick attempts is
// not enough; a time budget is.
const (
	openAttempts = 8
	openPatience = 3 * time.Second
)

// roWriteBuffer is the memtable's initial size for the journals replayed
// at open (goleveldb's default is 4 MiB; it grows when a journal needs it).
const roWriteBuffer = 64 << 10

// DefaultChunkSize is the number of records read under one iterator.
const DefaultChunkSize = 1024

// Options configures a Store.
type Options struct {
	// Prefix selects the records: only keys under it are read, and it is
	// stripped from Record.Key. Empty means the whole database;
	// "!sigils!" is classic-level's sublevel "sigils".
	Prefix []byte
	// ChunkSize is how many records Scan reads under one iterator before it
	// releases it and re-seeks after the last key (default 1024).
	ChunkSize int
	// Logger receives reopen notices and goleveldb's internal log (debug).
	Logger *slog.Logger
}

// Store is a read-only LevelDB store. It is safe for concurrent use.
type Store struct {
	path   string
	prefix []byte
	limit  []byte // first key after the prefix range; nil = no upper bound
	chunk  int
	log    *slog.Logger

	mu      sync.RWMutex
	cur     *handle
	closed  bool
	old     sync.WaitGroup // closers of replaced handles
	reopens atomic.Int64
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Estimator = (*Store)(nil)
)

// handle is one read-only open of the database, closed once its last user
// is done after a reopen replaced it.
type handle struct {
	db   *leveldb.DB
	refs sync.WaitGroup
	// manifest is the name and size of the MANIFEST this view was opened
	// from (see Store.moved).
	manifest string
}

// Open opens the LevelDB at path read-only. A path without a CURRENT file
// gives an error wrapping store.ErrNotFound; a database that cannot be
// opened (unreadable manifest, permissions) one wrapping store.ErrUnavailable.
func Open(path string, o Options) (*Store, error) {
	s := &Store{
		path:   path,
		prefix: bytes.Clone(o.Prefix),
		chunk:  o.ChunkSize,
		log:    o.Logger,
	}
	if s.chunk <= 0 {
		s.chunk = DefaultChunkSize
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(s.prefix) > 0 {
		s.limit = prefixLimit(s.prefix)
	}
	h, err := s.open()
	if err != nil {
		return nil, err
	}
	s.cur = h
	return s, nil
}

func (s *Store) open() (*handle, error) {
	if _, err := os.Stat(filepath.Join(s.path, "CURRENT")); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("no LevelDB at %q (no CURRENT file): check --store.leveldb.path: %w", s.path, store.ErrNotFound)
		}
		return nil, fmt.Errorf("open LevelDB %q: %w: %w", s.path, store.ErrUnavailable, err)
	}
	// A live app may flush a memtable, delete the journal it held and
	// write a new MANIFEST while we read the old one: that view would miss
	// the new table's records, so it is opened again (staleViewError),
	// with growing pauses, for openPatience while the MANIFEST keeps
	// changing. The attempt after that accepts a current journal that is
	// missing, as C++ LevelDB does when it recovers such a directory.
	var db *leveldb.DB
	var err error
	start := time.Now()
	pause := 5 * time.Millisecond
	var still, seen string // the MANIFEST of the last stale attempt, of this one
	for attempt := 1; ; attempt++ {
		// A MANIFEST that did not change since the last stale attempt
		// means a directory at rest (a crash left the current journal
		// missing): no point waiting for the app.
		patient := (attempt < openAttempts || time.Since(start) < openPatience) && (attempt == 1 || seen != still)
		still = seen
		rs := &roStorage{dir: s.path, log: s.log, strictJournals: patient}
		db, err = leveldb.Open(rs, &opt.Options{
			ReadOnly:               true,
			ErrorIfMissing:         true,
			BlockCacheCapacity:     2 * opt.MiB,
			OpenFilesCacheCapacity: 64,
			// Read-only, the write buffer only sizes the memtable the
			// journals are replayed into, which grows as they need: the
			// default reserved 4 MiB of heap per open for an empty one.
			WriteBuffer: roWriteBuffer,
		})
		seen = rs.manifestSeen
		var stale *staleViewError
		if err == nil || !errors.As(err, &stale) || !patient {
			break
		}
		s.log.Debug("LevelDB changed while opening; opening again", "path", s.path, "attempt", attempt, "err", err)
		time.Sleep(pause)
		pause = min(2*pause, 200*time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("open LevelDB %q read-only (is it a LevelDB, readable by this user, its MANIFEST intact?): %w: %w", s.path, store.ErrUnavailable, err)
	}
	return &handle{db: db, manifest: seen}, nil
}

// moved reports whether the app changed the database since view h was
// opened: CURRENT names another MANIFEST, or the MANIFEST grew. C++ LevelDB
// records a flush or compaction in the MANIFEST before it deletes the
// files it replaced, so a table file of h that is missing while the
// MANIFEST has not moved was not removed by the app: it is damage.
func (s *Store) moved(h *handle) bool {
	b, err := os.ReadFile(filepath.Join(s.path, "CURRENT"))
	if err != nil {
		return false
	}
	name := strings.TrimSuffix(string(b), "\n")
	fi, err := os.Stat(filepath.Join(s.path, name))
	if err != nil {
		return false
	}
	return fmt.Sprintf("%s:%d", name, fi.Size()) != h.manifest
}

// Reopen opens the database again, read-only, to see what the app wrote
// since the last open. The previous view is closed once no scan or Get uses
// it. On error the previous view stays in use.
func (s *Store) Reopen() error {
	h, err := s.open()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return h.db.Close()
	}
	old := s.cur
	s.cur = h
	s.old.Add(1)
	s.mu.Unlock()
	s.reopens.Add(1)
	go func() {
		defer s.old.Done()
		old.refs.Wait()
		if err := old.db.Close(); err != nil {
			s.log.Debug("close replaced LevelDB view", "path", s.path, "err", err)
		}
	}()
	return nil
}

// acquire returns the current view; release it with h.refs.Done().
func (s *Store) acquire() (*handle, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("LevelDB %q: store is closed: %w", s.path, store.ErrUnavailable)
	}
	s.cur.refs.Add(1)
	return s.cur, nil
}

// Name is "leveldb".
func (s *Store) Name() string { return "leveldb" }

// Compare orders keys bytewise, as LevelDB does.
func (s *Store) Compare(a, b []byte) int { return bytes.Compare(a, b) }

// Get re-reads the record at key (the prefix is prepended). A table file
// that vanished is retried once after a reopen; a damaged block gives an
// error wrapping goleveldb's corruption error.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	full := append(bytes.Clone(s.prefix), key...)
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		h, err := s.acquire()
		if err != nil {
			return nil, false, err
		}
		v, err := h.db.Get(full, nil)
		h.refs.Done()
		switch {
		case err == nil:
			return v, true, nil
		case errors.Is(err, leveldb.ErrNotFound):
			return nil, false, nil
		case isMissingTable(err) && attempt == 0:
			if rerr := s.Reopen(); rerr != nil {
				return nil, false, rerr
			}
			continue
		case isCorrupted(err):
			return nil, false, fmt.Errorf("read %q from LevelDB %q: %w", key, s.path, err)
		default:
			return nil, false, fmt.Errorf("read %q from LevelDB %q: %w: %w", key, s.path, store.ErrUnavailable, err)
		}
	}
}

// Close closes the store and every view still open. It never writes.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	h := s.cur
	s.mu.Unlock()
	h.refs.Wait()
	err := h.db.Close()
	s.old.Wait()
	return err
}

// Reopens reports how many times the store reopened the database, on
// request or because a table file vanished under a walk.
func (s *Store) Reopens() int64 { return s.reopens.Load() }

// prefixLimit is the first key after every key starting with prefix, or nil
// when there is none (a prefix of 0xff bytes).
func prefixLimit(prefix []byte) []byte {
	limit := bytes.Clone(prefix)
	for i := len(limit) - 1; i >= 0; i-- {
		if limit[i] < 0xff {
			limit[i]++
			return limit[:i+1]
		}
	}
	return nil
}
