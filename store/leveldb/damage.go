package leveldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/table"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// lenientRO reads past damaged blocks and missing table files silently
// (StrictOverride without StrictReader): used only to find where the damage
// ends, never to yield records.
var lenientRO = &opt.ReadOptions{DontFillCache: true, Strict: opt.StrictOverride}

// maxListedDamage caps the damaged places one CorruptionError lists.
const maxListedDamage = 4

// Damage is one damaged place in the database.
type Damage struct {
	File   string // table file name, e.g. "000005.ldb"; empty when unknown
	Offset int64  // byte offset of the damaged block in File (-1: unknown)
	Size   int64  // length of the damaged block
	Kind   string // goleveldb's block kind ("data-block", "index-block", "table-footer", ...) or "missing-file"
	Reason string // what goleveldb found ("checksum mismatch ...")
}

// CorruptionError is a range of records the store could not read: the keys
// strictly after After and strictly before Before, hidden by Damage.
// It wraps goleveldb's error for the first damaged place, so
// errors.IsCorrupted(errors.Unwrap(err)) holds.
type CorruptionError struct {
	Damage   []Damage
	After    []byte // last key read intact before the range (prefix stripped)
	HasAfter bool   // false: the range starts at the first record
	Before   []byte // next key read intact after the range; nil: to the last record
	// Skipped counts keys inside the range that other table files still
	// hold; they are not yielded because a newer version may be the one
	// that was lost.
	Skipped int
	Err     error
}

func (e *CorruptionError) Error() string {
	var b strings.Builder
	d := e.Damage[0]
	switch {
	case d.Kind == "missing-file":
		fmt.Fprintf(&b, "table file %s is missing", d.File)
	case d.Offset >= 0:
		fmt.Fprintf(&b, "corrupted %s in %s at offset %d (%d bytes): %s", d.Kind, d.File, d.Offset, d.Size, d.Reason)
	default:
		fmt.Fprintf(&b, "corrupted table %s: %s", d.File, d.Reason)
	}
	for _, o := range e.Damage[1:] {
		fmt.Fprintf(&b, "; also %s in %s at offset %d", o.Kind, o.File, o.Offset)
	}
	b.WriteString("; hides the records ")
	if e.HasAfter {
		fmt.Fprintf(&b, "after %q", e.After)
	} else {
		b.WriteString("from the first one")
	}
	if e.Before != nil {
		fmt.Fprintf(&b, " and before %q", e.Before)
	} else {
		b.WriteString(" to the last one")
	}
	if e.Skipped > 0 {
		fmt.Fprintf(&b, " (%d keys in that range are also in other table files and were not read)", e.Skipped)
	}
	b.WriteString(": restore the database from a backup or rebuild it with leveldb repair")
	return b.String()
}

// Unwrap returns goleveldb's error (an *errors.ErrCorrupted).
func (e *CorruptionError) Unwrap() error { return e.Err }

func (e *CorruptionError) add(err error) {
	d := damageOf(err)
	for _, o := range e.Damage {
		if o.File == d.File && o.Offset == d.Offset {
			return
		}
	}
	if len(e.Damage) < maxListedDamage {
		e.Damage = append(e.Damage, d)
	}
}

// damageOf reads the file and block out of goleveldb's corruption error.
func damageOf(err error) Damage {
	d := Damage{Offset: -1, Reason: err.Error()}
	var ce *lerrors.ErrCorrupted
	if !errors.As(err, &ce) {
		return d
	}
	if !ce.Fd.Zero() {
		d.File = fileName(ce.Fd)
	}
	var te *table.ErrCorrupted
	var mt *missingTableError
	switch {
	case errors.As(ce.Err, &te):
		d.Offset, d.Size, d.Kind, d.Reason = te.Pos, te.Size, te.Kind, te.Reason
	case errors.As(ce.Err, &mt):
		d.File, d.Kind, d.Reason = mt.name, "missing-file", mt.Error()
	default:
		d.Reason = ce.Err.Error()
	}
	return d
}

// damagedFile names the file in a goleveldb corruption error, for logs.
func damagedFile(err error) string { return damageOf(err).File }

// damage handles a corruption error met at w.start: it finds the next key
// the strict reader can read again, yields one Record carrying a
// *CorruptionError for the hidden range, and moves w.start to that key.
// done is true when the damage reaches the end of the records.
//
// A lenient iterator walks from w.start, skipping what it cannot read; the
// first key it returns at which a strict seek succeeds is where the damage
// ends. Keys the lenient iterator returns before that are held by other
// table files and counted as Skipped.
func (w *walk) damage(ctx context.Context, first error) (done bool, err error) {
	h, err := w.s.acquire()
	if err != nil {
		return false, err
	}
	plen := len(w.s.prefix)
	ce := &CorruptionError{Err: first, HasAfter: w.haveGood}
	if w.haveGood {
		ce.After = bytes.Clone(w.lastGood)
	}
	ce.add(first)
	recKey := bytes.Clone(w.start[plen:])

	var resume []byte
	it := h.db.NewIterator(&util.Range{Start: w.start, Limit: w.s.limit}, lenientRO)
	for it.Next() {
		if err := ctx.Err(); err != nil {
			it.Release()
			h.refs.Done()
			return false, err
		}
		perr := probe(h.db, it.Key(), w.s.limit)
		if perr == nil {
			resume = bytes.Clone(it.Key())
			break
		}
		if !isCorrupted(perr) {
			it.Release()
			h.refs.Done()
			return false, fmt.Errorf("scan LevelDB %q: %w: %w", w.s.path, store.ErrUnavailable, perr)
		}
		ce.add(perr)
		ce.Skipped++
	}
	ierr := it.Error()
	it.Release()
	h.refs.Done()
	if ierr != nil && !isCorrupted(ierr) {
		return false, fmt.Errorf("scan LevelDB %q: %w: %w", w.s.path, store.ErrUnavailable, ierr)
	}
	if resume != nil {
		ce.Before = bytes.Clone(resume[plen:])
	}
	if err := w.fn(store.Record{Key: recKey, Err: ce}); err != nil {
		return false, err
	}
	if resume == nil {
		return true, nil
	}
	w.start = resume
	return false, nil
}

// probe seeks a strict iterator to key and reports its error, if any.
func probe(db *leveldb.DB, key, limit []byte) error {
	it := db.NewIterator(&util.Range{Start: key, Limit: limit}, scanRO)
	it.Next()
	err := it.Error()
	it.Release()
	return err
}
