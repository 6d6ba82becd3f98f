// Package store streams sigil records out of the app's backends. It knows
// how to read a backend and nothing about checks: verification lives in
// package collector. No package under store/ may import collector/ or
// exporter/ (depguard in .golangci.yml).
//
// Every backend is strictly read-only. No method of a Store may write to the
// app's data, take a lock that blocks the app's writers for more than one
// short read, or hold a snapshot for the duration of a whole pass.
package store

import (
	"context"
	"errors"
)

// Record is one entry as the store holds it.
type Record struct {
	// Key is the record's key with the store prefix removed (LevelDB), or
	// the key column's text (PostgreSQL). The walk compares it with the
	// record's id.
	Key []byte
	// Value is the record document as stored: the bytes the app wrote.
	// It is only valid until the callback returns; copy it to keep it.
	Value []byte
	// Err is set when the store could not return this record, or a range
	// of records, intact (a corrupted table block, an I/O error on one
	// row). The walk reports it as a `read` failure. When Err hides a
	// range of keys, Key is the first key of the range that could be
	// named, and Err's text says where the damage is and what it hides.
	Err error
	// Cursor is where a later Scan resumes strictly after this record,
	// when that is not the key: a table walked by physical position
	// (Order Unordered) resumes after a block, not after a key. nil: Key.
	// Records that share a Cursor come out adjacent.
	Cursor []byte
}

// Order is how far a caller can rely on the order of a Store's Scan.
type Order int

const (
	// Bytewise means Scan yields keys in bytes.Compare order and Compare is
	// bytes.Compare. Two bytewise walks can be merged in Go.
	Bytewise Order = iota
	// Grouped means Scan follows the backend's own order (an index in a
	// collation Go cannot reproduce, or a numeric order); records with
	// equal keys come out adjacent and Compare(a, b) == 0 exactly when
	// the keys are equal, but Compare's sign need not be Scan's order.
	Grouped
	// Unordered means Scan follows physical position (a table without a usable
	// index); records with equal keys may be far apart, and the resume
	// cursor is Record.Cursor, not the key.
	Unordered
)

func (o Order) String() string {
	switch o {
	case Bytewise:
		return "bytewise"
	case Grouped:
		return "grouped"
	default:
		return "unordered"
	}
}

// Orderer is implemented by stores whose Scan is not bytewise. A Store
// that does not implement it is Bytewise.
type Orderer interface {
	Order() Order
}

// OrderOf is s's Order.
func OrderOf(s Store) Order {
	if o, ok := s.(Orderer); ok {
		return o.Order()
	}
	return Bytewise
}

// KeyCounter is implemented by Unordered stores, whose duplicate ids are
// only found after a walk: CountKeys returns how many records hold each
// of the keys now (absent keys are left out), so that a row the walk saw
// twice because it moved during the pass is not reported as a duplicate.
type KeyCounter interface {
	CountKeys(ctx context.Context, keys [][]byte) (map[string]int64, error)
}

// Store is one backend holding sigil records.
//
// Ordering: Scan yields records in the store's own order, the same order
// on every call (LevelDB: bytewise; PostgreSQL: the order an existing index
// on the key column serves, or physical order when there is none); see
// Order and Orderer for what a caller may rely on. Compare tells equal keys
// from unequal ones; for a Bytewise store it is that order.
//
// Cursor: Scan(ctx, after, fn) starts strictly after the position `after`
// (nil: from the first record): the key of the last record seen, or its
// Record.Cursor when it has one. A cursor taken from one call stays valid
// across reopen, restarts and concurrent writes by the app: records added
// behind the cursor are seen by the next pass, records added ahead are seen
// by this one.
//
// Errors: Scan returns an error wrapping ErrUnavailable when the backend
// cannot be reached or opened at all; this is transient, and the caller
// retries later from its last cursor. Damage confined to some records is not
// returned from Scan: it arrives as Record.Err and the walk continues.
// A callback error stops the scan and is returned as is.
type Store interface {
	// Name is the store's label value: "leveldb" or "postgres".
	Name() string
	// Scan calls fn for each record after the cursor, in order.
	Scan(ctx context.Context, after []byte, fn func(Record) error) error
	// Get re-reads one record by key. found is false when the key is
	// absent. err wraps ErrUnavailable when the backend is unreachable.
	Get(ctx context.Context, key []byte) (value []byte, found bool, err error)
	// Compare orders two keys: -1, 0 or +1; 0 exactly when they are the
	// same key. It is Scan's order when Order is Bytewise.
	Compare(a, b []byte) int
	// Close releases the backend. It never writes.
	Close() error
}

// Estimator is implemented by stores that can cheaply estimate how many
// records they hold, for pacing a first pass.
type Estimator interface {
	EstimateCount(ctx context.Context) (int64, error)
}

// ErrUnavailable marks a store that could not be reached or opened; the
// condition is expected to pass (a restart, a network cut).
var ErrUnavailable = errors.New("store unavailable")

// ErrNotFound marks a store location that holds no database at all: a
// LevelDB path without a CURRENT file, a table that does not exist. It is a
// configuration error, not a transient one.
var ErrNotFound = errors.New("store not found")

type scanHintKey struct{}

// WithScanHint tells a Store's Scan that the caller expects to read about
// n records before it stops (a paced chunk), so that the store reads
// little more than that and reads nothing ahead. n <= 0: the whole store.
func WithScanHint(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, scanHintKey{}, n)
}

// ScanHint is the hint WithScanHint gave; 0: none.
func ScanHint(ctx context.Context) int {
	n, _ := ctx.Value(scanHintKey{}).(int)
	return max(n, 0)
}
