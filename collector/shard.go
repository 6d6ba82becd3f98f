package collector

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
)

// Shard selects a share of the key space, so that N replicas (a
// StatefulSet's ordinals) each walk a part of a store too large for one
// process a night: a record belongs to shard FNV-1a-64(key) mod N. Every
// record is in exactly one shard whatever the key distribution; each
// replica still reads past the other shards' keys, but verifies, counts and
// reports only its own.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/N" (0 <= i < N); "" is the whole key space.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fielderr.New("collector.Shard", s, "want i/N with 0 <= i < N, e.g. 0/3")
	}
	return Shard{Index: i, Count: n}, nil
}

// All reports whether the shard is the whole key space.
func (s Shard) All() bool { return s.Count <= 1 }

// Has reports whether key belongs to the shard.
func (s Shard) Has(key []byte) bool {
	if s.All() {
		return true
	}
	h := fnv.New64a()
	h.Write(key)
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

func (s Shard) String() string {
	if s.All() {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
