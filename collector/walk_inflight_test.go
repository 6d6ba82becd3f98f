package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// countingStore counts the records its Scan has handed out.
type countingStore struct {
	*memStore
	read atomic.Int64
}

func (c *countingStore) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	return c.memStore.Scan(ctx, after, func(r store.Record) error {
		c.read.Add(1)
		return fn(r)
	})
}

// hugeStore has n records whose ids (keys) and values are each 1 MB.
func hugeStore(n int) *countingStore {
	m := &memStore{}
	for i := 0; i < n; i++ {
		id := strings.Repeat("<", 1_000_000) + fmt.Sprintf("%03d", i)
		m.keys = append(m.keys, []byte(id))
		m.values = append(m.values, []byte(`{"id":"`+id+`","data":{"n":`+fmt.Sprint(i)+`}}`))
	}
	return &countingStore{memStore: m}
}

// TestWalkBoundsHugeRecordsInFlight: with 2 MB records, the walk reads at
// most two records ahead of the sink (one with the workers, one being
// batched), whatever the channels would hold: in-flight work is bounded
// by bytes (inFlightBytes), not only by records.
func TestWalkBoundsHugeRecordsInFlight(t *testing.T) {
	st := hugeStore(24)
	v := mustVerifier(t, verify.VerifierConfig{Canonical: canonical.JS, RequiredFields: []string{"id"}})
	w := &Walker{Store: st, Verifier: v, Workers: 4}
	var sunk, ahead int64
	err := w.Walk(context.Background(), nil, func(r Result) error {
		sunk++
		time.Sleep(2 * time.Millisecond) // a slow sink: the walk would read ahead if it could
		ahead = max(ahead, st.read.Load()-sunk)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sunk != 24 {
		t.Fatalf("%d records sunk, want 24", sunk)
	}
	if ahead > 2 {
		t.Errorf("the walk read %d records of 2 MB ahead of the sink, want at most 2", ahead)
	}
}

// TestWalkCancelWithHugeRecords: a walk of huge records cancelled at any
// moment returns (a batch that never reached the sink must give its bytes
// back, or the producer would wait for them forever).
func TestWalkCancelWithHugeRecords(t *testing.T) {
	st := hugeStore(12)
	v := mustVerifier(t, verify.VerifierConfig{Canonical: canonical.JS, RequiredFields: []string{"id"}})
	for i := 0; i < 40; i++ {
		w := &Walker{Store: st, Verifier: v, Workers: 2, Pacer: chunkPacer(1 + i%3)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- w.Walk(ctx, nil, func(Result) error { return nil })
		}()
		time.Sleep(time.Duration(i%8) * 500 * time.Microsecond)
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("walk %d: %v, want nil or context.Canceled", i, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("walk %d did not return 20 s after it was cancelled", i)
		}
	}
}
