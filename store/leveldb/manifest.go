package leveldb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"

	"github.com/syndtr/goleveldb/leveldb/journal"
)

// Version edit tags of a LevelDB MANIFEST (C++ db/version_edit.cc, the same
// numbers as goleveldb's session_record.go).
const (
	tagComparator     = 1
	tagLogNumber      = 2
	tagNextFileNumber = 3
	tagLastSequence   = 4
	tagCompactPointer = 5
	tagDeletedFile    = 6
	tagNewFile        = 7
	tagPrevLogNumber  = 9
)

// manifestJournals are the journal numbers a MANIFEST records: every
// journal numbered logNum or above, and the one numbered prevLogNum, holds
// writes that are in no table yet.
type manifestJournals struct {
	logNum, prevLogNum int64
	hasLogNum          bool
}

// live reports whether the journal numbered n must be replayed: the rule of
// C++ LevelDB's DBImpl::Recover and of goleveldb's recoverJournalRO.
func (m manifestJournals) live(n int64) bool {
	return n >= m.logNum || n == m.prevLogNum
}

// readManifestJournals reads the journal numbers out of a MANIFEST the way
// goleveldb's session.recover does, so that both agree on which journals
// are live: the MANIFEST is itself a journal of version edits, read
// non-strictly with checksums; a field decoded before a damaged part of an
// edit still counts, and a later edit overrides an earlier one.
func readManifestJournals(b []byte) manifestJournals {
	var m manifestJournals
	jr := journal.NewReader(bytes.NewReader(b), nil, false, true)
	for {
		r, err := jr.Next()
		if err != nil {
			return m
		}
		decodeEdit(bufio.NewReader(r), &m)
	}
}

// decodeEdit applies one version edit's journal numbers to m and skips
// every other field; it stops at the first field it cannot decode.
func decodeEdit(br *bufio.Reader, m *manifestJournals) {
	uvarint := func() (uint64, bool) {
		x, err := binary.ReadUvarint(br)
		return x, err == nil
	}
	skipBytes := func() bool {
		n, ok := uvarint()
		if !ok || n > 1<<30 {
			return false
		}
		_, err := io.CopyN(io.Discard, br, int64(n))
		return err == nil
	}
	for {
		tag, ok := uvarint()
		if !ok {
			return
		}
		switch tag {
		case tagComparator:
			ok = skipBytes()
		case tagLogNumber, tagPrevLogNumber:
			var x uint64
			x, ok = uvarint()
			if ok && int64(x) >= 0 {
				if tag == tagLogNumber {
					m.logNum, m.hasLogNum = int64(x), true
				} else {
					m.prevLogNum = int64(x)
				}
			}
		case tagNextFileNumber, tagLastSequence:
			_, ok = uvarint()
		case tagCompactPointer:
			if _, ok = uvarint(); ok {
				ok = skipBytes()
			}
		case tagDeletedFile:
			if _, ok = uvarint(); ok {
				_, ok = uvarint()
			}
		case tagNewFile:
			for i := 0; i < 3 && ok; i++ { // level, number, size
				_, ok = uvarint()
			}
			ok = ok && skipBytes() && skipBytes() // smallest, largest
		default:
			// goleveldb ignores a tag it does not know and reads on.
		}
		if !ok {
			return
		}
	}
}
