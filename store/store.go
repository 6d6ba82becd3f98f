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
}

// Store is one backend holding sigil records.
//
// Ordering: Scan yields records in the store's own ascending key order,
// the same order on every call (LevelDB: bytewise; PostgreSQL: the order
// the key column's index serves). Compare reports that order, so that
// callers can merge two walks of the same store.
//
// Cursor: Scan(ctx, after, fn) starts strictly after the key `after`
// (nil: from the first record). A cursor taken from one call stays valid
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
	// Compare orders two keys as Scan does: -1, 0 or +1.
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
