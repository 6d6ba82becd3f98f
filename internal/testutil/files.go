package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CopyDir copies the tree at src (a LevelDB, say) into a new temporary
// directory and returns the copy's path, whose base name is src's, so that
// a test may damage or write to it.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	return dst
}

// FileState is what a test expects not to change in a file.
type FileState struct {
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
	SHA256  string
}

// Digest maps every file under dir (by its path relative to dir) to its
// size, mode, modification time and SHA-256: compare two digests to show
// that nothing wrote to dir.
func Digest(t testing.TB, dir string) map[string]FileState {
	t.Helper()
	out := map[string]FileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = FileState{Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime(), SHA256: hex.EncodeToString(sum[:])}
		return nil
	})
	if err != nil {
		t.Fatalf("digest %s: %v", dir, err)
	}
	return out
}

// FlipBytes inverts n bytes of file at offset off: a bit-rot fault in a
// table file.
func FlipBytes(t testing.TB, file string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("flip %s at %d: %v", file, off, err)
	}
	for i := range b {
		b[i] ^= 0xff
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatalf("flip %s at %d: %v", file, off, err)
	}
}

// TearJournal cuts the largest journal (*.log) of the LevelDB in dir in
// the middle of a record, as a crash during a write leaves it, and returns
// the journal's path and its size before the cut.
func TearJournal(t testing.TB, dir string) (string, int64) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var journal string
	var size int64
	for _, l := range logs {
		if fi, err := os.Stat(l); err == nil && fi.Size() > size {
			journal, size = l, fi.Size()
		}
	}
	if size == 0 {
		t.Fatalf("no journal in %s holds data", dir)
	}
	if err := os.Truncate(journal, size/2+3); err != nil {
		t.Fatal(err)
	}
	return journal, size
}

// ReadFile returns the contents of the file at path, or ends the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Must fails the test when err, from a step of its setup, is not nil:
// testutil.Must(t, os.WriteFile(p, b, 0o600)).
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
