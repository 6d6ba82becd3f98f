package main

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// lazyStore stands in for a store that was unreachable at start-up, so
// that `serve` starts anyway (store up = 0) and opens it on first use,
// retried by the walk's back-off.
type lazyStore struct {
	name string
	open func(ctx context.Context) (store.Store, error)

	mu sync.Mutex
	s  store.Store
}

var (
	_ store.Store      = (*lazyStore)(nil)
	_ store.Estimator  = (*lazyStore)(nil)
	_ store.Orderer    = (*lazyStore)(nil)
	_ store.KeyCounter = (*lazyStore)(nil)
)

func (l *lazyStore) get(ctx context.Context) (store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return l.s, nil
	}
	s, err := l.open(ctx)
	if err != nil {
		return nil, err
	}
	l.s = s
	return s, nil
}

func (l *lazyStore) Name() string { return l.name }

func (l *lazyStore) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.Scan(ctx, after, fn)
}

func (l *lazyStore) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, false, err
	}
	return s.Get(ctx, key)
}

// Compare is the open store's; bytewise before it opens (no walk then).
func (l *lazyStore) Compare(a, b []byte) int {
	if s := l.opened(); s != nil {
		return s.Compare(a, b)
	}
	return bytes.Compare(a, b)
}

// Order is the open store's order. Before it opens, Unordered: callers
// then sort key lists before merging them, which is right for any order.
func (l *lazyStore) Order() store.Order {
	if s := l.opened(); s != nil {
		return store.OrderOf(s)
	}
	return store.Unordered
}

// CountKeys passes through to a store that counts keys.
func (l *lazyStore) CountKeys(ctx context.Context, keys [][]byte) (map[string]int64, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	kc, ok := s.(store.KeyCounter)
	if !ok {
		return nil, errors.New("the store cannot count keys")
	}
	return kc.CountKeys(ctx, keys)
}

// opened is the store once open, else nil.
func (l *lazyStore) opened() store.Store {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}

func (l *lazyStore) EstimateCount(ctx context.Context) (int64, error) {
	s, err := l.get(ctx)
	if err != nil {
		return 0, err
	}
	if e, ok := s.(store.Estimator); ok {
		return e.EstimateCount(ctx)
	}
	return 0, nil
}

// Reopen opens the store if it is not open yet, else passes through to a
// store that needs reopening.
func (l *lazyStore) Reopen() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	if ro, ok := s.(interface{ Reopen() error }); ok {
		return ro.Reopen()
	}
	return nil
}

// Available reports whether the store has been opened.
func (l *lazyStore) Available() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s != nil
}

func (l *lazyStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return nil
	}
	return l.s.Close()
}
