package collector

import (
	"bytes"
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"os"
	"slices"
)

// A store whose walk is not bytewise (PostgreSQL in a linguistic collation,
// integer keys, or a table without an index walked in physical order)
// writes its key list in walk order, which Go cannot merge against another
// list. sortKeyList turns it into a bytewise-sorted copy with an external
// merge sort: runs of at most sortRunBytes sorted in memory and written
// out as key lists, then merged sortFanIn at a time. Memory stays bounded
// whatever the number of records; the copy keeps the CRC-protected format.

var (
	sortRunBytes = 4 << 20 // keys, checksums and entries, per run
	sortFanIn    = 64
)

// sortedSuffix names the bytewise-sorted copy of a key list.
const sortedSuffix = ".sorted"

// A run keeps each key and its checksum in one arena (key, then 32 bytes
// of checksum) and sorts small entries that point into it: moving 8-byte
// entries instead of slice headers and checksums made the sort several
// times cheaper. Offsets into the arena stay valid as it grows.
type sortEntry struct {
	off, n uint32 // the key is arena[off:off+n], its checksum the 32 bytes after
}

const sortEntrySize = 8

// sortKeyList writes src's entries to dst in bytewise key order (equal
// keys in src's order). A damaged src is an error: a partial list would
// turn the records after the damage into false missing records. Runs and
// the sorted copy are not fsynced: they are temporary or derived from src,
// and a sorted copy older than src is made again (sortedKeyList).
func sortKeyList(src, dst string) error {
	r, err := openKeyList(src)
	if err != nil {
		return err
	}
	defer r.close()
	var runs []string
	defer func() {
		for _, f := range runs {
			_ = os.Remove(f) // best effort: temporary runs
		}
	}()
	var batch []sortEntry
	var arena []byte
	flush := func(path string) error {
		// Equal keys keep their input order: their offsets grow with it.
		slices.SortFunc(batch, func(a, b sortEntry) int {
			if c := bytes.Compare(arena[a.off:a.off+a.n], arena[b.off:b.off+b.n]); c != 0 {
				return c
			}
			return cmp.Compare(a.off, b.off)
		})
		w, err := createKeyList(path, 0)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := w.add(arena[e.off:e.off+e.n], [32]byte(arena[e.off+e.n:])); err != nil {
				_ = w.closeUnsynced() // the add's error says more
				return err
			}
		}
		batch, arena = batch[:0], arena[:0]
		return w.closeUnsynced()
	}
	for r.next() {
		if len(arena)+len(batch)*sortEntrySize+len(r.key)+32+sortEntrySize > sortRunBytes && len(batch) > 0 {
			run := fmt.Sprintf("%s.run%d", dst, len(runs))
			runs = append(runs, run)
			if err := flush(run); err != nil {
				return err
			}
		}
		batch = append(batch, sortEntry{off: uint32(len(arena)), n: uint32(len(r.key))})
		arena = append(append(arena, r.key...), r.sum[:]...)
	}
	if r.err != nil {
		return r.err
	}
	tmp := dst + ".tmp"
	if len(runs) == 0 {
		if err := flush(tmp); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	}
	if len(batch) > 0 {
		run := fmt.Sprintf("%s.run%d", dst, len(runs))
		runs = append(runs, run)
		if err := flush(run); err != nil {
			return err
		}
	}
	arena, batch = nil, nil
	// Merge sortFanIn runs at a time until one pass can merge them all.
	for gen := 0; len(runs) > sortFanIn; gen++ {
		var next []string
		for i := 0; i < len(runs); i += sortFanIn {
			group := runs[i:min(i+sortFanIn, len(runs))]
			out := fmt.Sprintf("%s.gen%d.%d", dst, gen, len(next))
			if err := mergeKeyLists(group, out); err != nil {
				next = append(next, out)
				runs = append(next, runs[i:]...)
				return err
			}
			for _, f := range group {
				_ = os.Remove(f) // merged: best effort
			}
			next = append(next, out)
		}
		runs = next
	}
	if err := mergeKeyLists(runs, tmp); err != nil {
		_ = os.Remove(tmp) // best effort
		return err
	}
	return os.Rename(tmp, dst)
}

// mergeKeyLists merges sorted key lists into dst (equal keys: earlier
// lists first, so the sort stays stable).
func mergeKeyLists(srcs []string, dst string) error {
	h := &listHeap{}
	defer func() {
		for _, r := range h.all {
			r.close()
		}
	}()
	for i, p := range srcs {
		r, err := openKeyList(p)
		if err != nil {
			return err
		}
		h.all = append(h.all, r)
		if r.next() {
			h.items = append(h.items, heapItem{r: r, order: i})
		} else if r.err != nil {
			return r.err
		}
	}
	heap.Init(h)
	w, err := createKeyList(dst, 0)
	if err != nil {
		return err
	}
	for h.Len() > 0 {
		top := h.items[0]
		if err := w.add(top.r.key, top.r.sum); err != nil {
			_ = w.closeUnsynced() // the add's error says more
			return err
		}
		if top.r.next() {
			heap.Fix(h, 0)
		} else {
			if top.r.err != nil {
				_ = w.closeUnsynced() // the damage says more
				return top.r.err
			}
			heap.Pop(h)
		}
	}
	return w.closeUnsynced()
}

type heapItem struct {
	r     *keyListReader
	order int
}

type listHeap struct {
	items []heapItem
	all   []*keyListReader
}

func (h *listHeap) Len() int { return len(h.items) }
func (h *listHeap) Less(i, j int) bool {
	if c := bytes.Compare(h.items[i].r.key, h.items[j].r.key); c != 0 {
		return c < 0
	}
	return h.items[i].order < h.items[j].order
}
func (h *listHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *listHeap) Push(x any)    { h.items = append(h.items, x.(heapItem)) }
func (h *listHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// sortedKeyList returns the path of a bytewise-sorted copy of the key list
// at path, making it when it is missing or older than the list.
func sortedKeyList(path string) (string, error) {
	dst := path + sortedSuffix
	src, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return path, nil // an empty list is sorted
	}
	if err != nil {
		return "", err
	}
	if d, err := os.Stat(dst); err == nil && !d.ModTime().Before(src.ModTime()) {
		return dst, nil
	}
	if err := sortKeyList(path, dst); err != nil {
		return "", err
	}
	return dst, nil
}
