package collector

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// A key list is the ordered list of the keys one pass saw, each with the
// SHA-256 of its canonical data, kept on disk so that the next pass can
// merge against it in constant memory (the missing check) and two stores
// can be compared (the cross-store check). Each entry is a uvarint key
// length, the key, 32 bytes of checksum, and a CRC-32C of those: a damaged
// list is detected and read no further, never turned into false missing
// records.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type keyListWriter struct {
	f     *os.File
	w     *bufio.Writer
	size  int64
	entry []byte
	// inOrder: every key so far came in bytewise order (equal keys
	// allowed), so the list is its own sorted copy (linkSorted). Unknown,
	// hence false, for a list resumed from a checkpoint.
	inOrder bool
	prev    []byte
}

// createKeyList opens path for appending, truncated to size bytes (the
// size recorded at the last checkpoint: what came after was not counted).
func createKeyList(path string, size int64) (*keyListWriter, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &keyListWriter{f: f, w: bufio.NewWriterSize(f, 64<<10), size: size, inOrder: size == 0}, nil
}

func (k *keyListWriter) add(key []byte, sum [32]byte) error {
	// One entry, built in the writer's own buffer: one Write and no
	// allocation (a sum passed to Write directly escaped to the heap).
	e := binary.AppendUvarint(k.entry[:0], uint64(len(key)))
	e = append(append(e, key...), sum[:]...)
	e = binary.LittleEndian.AppendUint32(e, crc32.Checksum(e, crcTable))
	k.entry = e
	if k.inOrder {
		if k.size > 0 && bytes.Compare(k.prev, key) > 0 {
			k.inOrder = false
		}
		k.prev = append(k.prev[:0], key...)
	}
	_, err := k.w.Write(e)
	k.size += int64(len(e))
	return err
}

// sync flushes and fsyncs, so that the size a checkpoint records is on disk.
func (k *keyListWriter) sync() error {
	if err := k.w.Flush(); err != nil {
		return err
	}
	return k.f.Sync()
}

// closeUnsynced flushes and closes without fsync, for files that are
// temporary or can be made again from a synced one.
func (k *keyListWriter) closeUnsynced() error {
	err := k.w.Flush()
	if cerr := k.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (k *keyListWriter) close() error {
	err := k.sync()
	if cerr := k.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type keyListReader struct {
	f      *os.File
	r      *bufio.Reader
	lenBuf []byte
	key    []byte
	sum    [32]byte
	crc    [4]byte
	err    error
}

// openKeyList opens a key list; a missing file is an empty list.
func openKeyList(path string) (*keyListReader, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &keyListReader{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &keyListReader{f: f, r: bufio.NewReaderSize(f, 64<<10)}, nil
}

// next advances to the next entry; false at the end or on error (see err).
func (k *keyListReader) next() bool {
	if k.r == nil || k.err != nil {
		return false
	}
	n, err := binary.ReadUvarint(k.r)
	if errors.Is(err, io.EOF) {
		return false
	}
	if err != nil || n > 1<<20 {
		k.err = fmt.Errorf("key list %s is damaged", k.f.Name())
		return false
	}
	if uint64(cap(k.key)) < n {
		k.key = make([]byte, n)
	}
	k.key = k.key[:n]
	if _, err := io.ReadFull(k.r, k.key); err != nil {
		k.err = fmt.Errorf("key list %s is truncated", k.f.Name())
		return false
	}
	if _, err := io.ReadFull(k.r, k.sum[:]); err != nil {
		k.err = fmt.Errorf("key list %s is truncated", k.f.Name())
		return false
	}
	crc := k.crc[:]
	if _, err := io.ReadFull(k.r, crc); err != nil {
		k.err = fmt.Errorf("key list %s is truncated", k.f.Name())
		return false
	}
	k.lenBuf = binary.AppendUvarint(k.lenBuf[:0], n)
	want := crc32.Update(crc32.Update(crc32.Update(0, crcTable, k.lenBuf), crcTable, k.key), crcTable, k.sum[:])
	if binary.LittleEndian.Uint32(crc) != want {
		k.err = fmt.Errorf("key list %s is damaged (checksum mismatch)", k.f.Name())
		return false
	}
	return true
}

func (k *keyListReader) close() {
	if k.f != nil {
		k.f.Close()
	}
}

// missingMerge walks the previous pass's key list beside the current walk
// and reports the keys that the current walk skipped over: records that
// vanished since the last complete pass.
type missingMerge struct {
	r       *keyListReader
	compare func(a, b []byte) int
	pending bool // r holds an entry not yet matched
}

func newMissingMerge(r *keyListReader, compare func(a, b []byte) int) *missingMerge {
	m := &missingMerge{r: r, compare: compare}
	m.pending = r.next()
	return m
}

// skipThrough drops every entry <= cursor without reporting (resume).
func (m *missingMerge) skipThrough(cursor []byte) {
	for m.pending && m.compare(m.r.key, cursor) <= 0 {
		m.pending = m.r.next()
	}
}

// see reports, via missing, the previous keys before key, and consumes key.
func (m *missingMerge) see(key []byte, missing func(key []byte)) {
	for m.pending {
		c := m.compare(m.r.key, key)
		if c > 0 {
			return
		}
		if c < 0 {
			missing(m.r.key)
		}
		m.pending = m.r.next()
		if c == 0 {
			return
		}
	}
}

// finish reports every remaining previous key.
func (m *missingMerge) finish(missing func(key []byte)) {
	for m.pending {
		missing(m.r.key)
		m.pending = m.r.next()
	}
}
