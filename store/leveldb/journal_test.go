package leveldb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/syndtr/goleveldb/leveldb/journal"
)

// TestRenumberJournal: batches keep their order and contents and get
// increasing sequence numbers from the base, whatever they carried (C++
// LevelDB journals may hold numbers below the MANIFEST's last sequence).
func TestRenumberJournal(t *testing.T) {
	batch := func(seq uint64, count uint32, body string) []byte {
		b := make([]byte, 12, 12+len(body))
		binary.LittleEndian.PutUint64(b, seq)
		binary.LittleEndian.PutUint32(b[8:], count)
		return append(b, body...)
	}
	in := [][]byte{batch(50, 2, "first"), batch(40, 1, "second: lower than the first"), batch(90, 3, "third")}
	var src bytes.Buffer
	w := journal.NewWriter(&src)
	for _, b := range in {
		jw, _ := w.Next()
		if _, err := jw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	next := journalSeqBase
	out := renumberJournal(&src, &next, slog.New(slog.DiscardHandler), "000003.log")
	r := journal.NewReader(bytes.NewReader(out), nil, true, true)
	wantSeq := []uint64{journalSeqBase, journalSeqBase + 2, journalSeqBase + 3}
	for i, b := range in {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		got, _ := io.ReadAll(rec)
		if seq := binary.LittleEndian.Uint64(got); seq != wantSeq[i] {
			t.Errorf("batch %d: seq %d, want %d", i, seq, wantSeq[i])
		}
		if !bytes.Equal(got[8:], b[8:]) {
			t.Errorf("batch %d: contents changed", i)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("extra batch: %v", err)
	}
	if next != journalSeqBase+6 {
		t.Errorf("next = base+%d, want base+6", next-journalSeqBase)
	}
}
