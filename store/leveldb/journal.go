package leveldb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/syndtr/goleveldb/leveldb/journal"
	"github.com/syndtr/goleveldb/leveldb/storage"
)

// journalSeqBase is where renumbered journal batches start: far above any
// sequence number a real database reaches, below goleveldb's maximum (2^56-1).
const journalSeqBase = uint64(1) << 55

// renumberJournal reads a journal (write-ahead log) and returns a copy in
// which the batches carry increasing sequence numbers from *next on.
//
// Why: C++ LevelDB (Node's classic-level) records in the MANIFEST a last
// sequence number that may be higher than the numbers of batches in the
// current journal (writes continue while a memtable is flushed and the
// MANIFEST written). goleveldb's replay skips such batches as "invalid
// sequence number": records the app wrote recently would silently go
// unverified. Every batch of a live journal is newer than every table (the
// tables hold only what older journals held), so numbering them above
// everything, in their order, gives the same view C++ LevelDB has.
// A torn or corrupt tail ends the copy there, as a non-strict replay would.
func renumberJournal(r io.Reader, next *uint64, log *slog.Logger, name string) []byte {
	var out bytes.Buffer
	jw := journal.NewWriter(&out)
	renumberInto(jw, r, next, log, name)
	_ = jw.Close() // writing to memory: cannot fail
	return out.Bytes()
}

// mergeJournals renumbers the live journals (in ascending file number, the
// order C++ LevelDB wrote and replays them) into one journal, numbering the
// batches on from *next across files. goleveldb's read-only recovery cannot
// replay more than one journal (see roStorage.List); replaying this one is
// replaying them all, in order. Each file's torn or damaged tail is dropped
// on its own, as C++ LevelDB's recovery does, and the next file's batches
// follow. A journal that is gone (the app flushed it after the MANIFEST we
// read was written) makes the view stale: the error wraps fs.ErrNotExist.
func mergeJournals(dir string, fds []storage.FileDesc, next *uint64, log *slog.Logger) ([]byte, error) {
	var out bytes.Buffer
	jw := journal.NewWriter(&out)
	for _, fd := range fds {
		name := fileName(fd)
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		renumberInto(jw, bufio.NewReaderSize(f, 64<<10), next, log, name)
		_ = f.Close()
	}
	if err := jw.Close(); err != nil { // writing to memory: cannot fail
		return nil, err
	}
	return out.Bytes(), nil
}

// renumberInto copies the batches of one journal into jw, renumbered.
func renumberInto(jw *journal.Writer, r io.Reader, next *uint64, log *slog.Logger, name string) {
	jr := journal.NewReader(r, dropLogger{log, name}, false, true)
	var buf bytes.Buffer
	for {
		rec, err := jr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("journal: stopped at damage; records after it are not seen", "file", name, "err", err)
			}
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rec); err != nil {
			log.Warn("journal: skipped a damaged batch", "file", name, "err", err)
			continue
		}
		batch := buf.Bytes()
		if len(batch) >= 12 {
			count := binary.LittleEndian.Uint32(batch[8:12])
			binary.LittleEndian.PutUint64(batch[0:8], *next)
			*next += uint64(count)
		}
		w, err := jw.Next()
		if err == nil {
			_, err = w.Write(batch)
		}
		if err != nil { // writing to memory: cannot happen
			return
		}
	}
}

// memFile is an in-memory storage.Reader.
type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

// dropLogger reports what a non-strict journal replay drops (a torn tail,
// a damaged chunk): records the app wrote that the walk will not see.
type dropLogger struct {
	log  *slog.Logger
	file string
}

func (d dropLogger) Drop(err error) {
	d.log.Warn("journal: dropped damaged or torn data; records in it are not seen", "file", d.file, "err", err)
}
