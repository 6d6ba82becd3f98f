package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// getCounter counts the store's Gets per key.
type getCounter struct {
	memStore
	gets map[string]int
}

func (g *getCounter) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	g.gets[string(key)]++
	return g.memStore.Get(ctx, key)
}

// TestRereadSkipsHugeKeys: a failing record is re-read before it is
// counted, unless its key is over MaxRereadKeyBytes (a Get of such a key
// reads a whole table index block in goleveldb); both are counted.
func TestRereadSkipsHugeKeys(t *testing.T) {
	v, err := verify.NewVerifier(verify.VerifierConfig{Canonical: canonical.JS})
	if err != nil {
		t.Fatal(err)
	}
	short := "sigil-1"
	huge := strings.Repeat("<", MaxRereadKeyBytes+1)
	at := strings.Repeat("<", MaxRereadKeyBytes) // at the bound: re-read
	st := &getCounter{gets: map[string]int{}}
	for _, k := range []string{at, huge, short} { // key order
		st.keys = append(st.keys, []byte(k))
		st.values = append(st.values, []byte(fmt.Sprintf(`{"id":"%s","signature":"00","checksum":"00","data":{}}`, k)))
	}
	c := &Consumer{Store: st, Verifier: v, Pass: NewPass("mem", time.Now(), v.KeyCount(), 10)}
	sink := c.Sink(context.Background())
	for i, k := range st.keys {
		o := v.Verify(store.Record{Key: k, Value: st.values[i]}, v.NewScratch())
		if o.OK() {
			t.Fatalf("record %d passed; want a checksum failure", i)
		}
		if err := sink(Result{Key: k, Outcome: o}); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Pass.Failed(); got != 3 {
		t.Errorf("%d failures counted, want 3", got)
	}
	for _, tc := range []struct {
		name, key string
		want      int
	}{{"short key", short, 1}, {"key at the bound", at, 1}, {"key over the bound", huge, 0}} {
		if got := st.gets[tc.key]; got != tc.want {
			t.Errorf("%s: %d re-reads, want %d", tc.name, got, tc.want)
		}
	}
}
