package collector

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// listStore is an in-memory store.Store for tests of the walk.
type listStore struct {
	keys   [][]byte
	values map[string][]byte
}

func newListStore(n int) *listStore {
	m := &listStore{values: map[string][]byte{}}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("rec-%07d", i)
		m.keys = append(m.keys, []byte(k))
		m.values[k] = []byte(fmt.Sprintf(`{"id":%q,"signature":"x","data":{"n":%d}}`, k, i))
	}
	sort.Slice(m.keys, func(i, j int) bool { return bytes.Compare(m.keys[i], m.keys[j]) < 0 })
	return m
}

func (m *listStore) Name() string { return "mem" }
func (m *listStore) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	i := sort.Search(len(m.keys), func(i int) bool { return after == nil || bytes.Compare(m.keys[i], after) > 0 })
	for ; i < len(m.keys); i++ {
		if err := fn(store.Record{Key: m.keys[i], Value: m.values[string(m.keys[i])]}); err != nil {
			return err
		}
	}
	return nil
}
func (m *listStore) Get(_ context.Context, key []byte) ([]byte, bool, error) {
	v, ok := m.values[string(key)]
	return v, ok, nil
}
func (m *listStore) Compare(a, b []byte) int { return bytes.Compare(a, b) }
func (m *listStore) Close() error            { return nil }

// TestShardCoverage: N shards together verify every record exactly once,
// and their shares are about even.
func TestShardCoverage(t *testing.T) {
	const records = 20000
	st := newListStore(records)
	v, err := verify.NewVerifier(verify.VerifierConfig{Canonical: canonical.JS})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 7} {
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			shard, err := ParseShard(fmt.Sprintf("%d/%d", i, n))
			if err != nil {
				t.Fatal(err)
			}
			share := 0
			w := &Walker{Store: st, Verifier: v, Shard: shard}
			err = w.Walk(context.Background(), nil, func(r Result) error {
				seen[string(r.Key)]++
				share++
				if !r.Outcome.OK() {
					t.Errorf("%s failed: %s %s", r.Key, r.Outcome.Check, r.Outcome.Detail)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := records / n; share < want*9/10 || share > want*11/10 {
				t.Errorf("shard %d/%d has %d records, want about %d", i, n, share, want)
			}
		}
		if len(seen) != records {
			t.Errorf("%d shards covered %d records, want %d", n, len(seen), records)
		}
		for k, c := range seen {
			if c != 1 {
				t.Errorf("%d shards: %s verified %d times", n, k, c)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0", "1/"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if s, err := ParseShard(""); err != nil || !s.All() {
		t.Errorf("ParseShard(\"\") = %v, %v", s, err)
	}
}

// add inserts a valid record in order.
func (m *listStore) add(k string) {
	m.values[k] = []byte(fmt.Sprintf(`{"id":%q,"signature":"x","data":{}}`, k))
	m.keys = append(m.keys, []byte(k))
	sort.Slice(m.keys, func(i, j int) bool { return bytes.Compare(m.keys[i], m.keys[j]) < 0 })
}
