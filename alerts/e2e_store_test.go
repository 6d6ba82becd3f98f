package alerts

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// e2eKeyFiles are the HMAC keys the Node generator signs with, current first.
var e2eKeyFiles = []string{"testdata/keys/current.key", "testdata/keys/previous.key"} // in the repository

// appStore is the app's LevelDB in the end-to-end test. The test writes to
// it as the app would (goleveldb, read-write, closed after each write); the
// exporter only ever opens it read-only, which takes no lock.
type appStore struct {
	t      *testing.T
	path   string
	prefix string
}

// nodeStore writes a fresh LevelDB with the app's own code path
// (testdata/node/make-leveldb.js: classic-level, JSON.stringify, crypto
// HMAC), then deletes the generator's planted failures, as an app cleaning
// up would, so the store starts clean. Without node or testdata/node's
// node_modules the test fails under CI=true and skips elsewhere.
func nodeStore(t *testing.T, count int) *appStore {
	t.Helper()
	db, m := testutil.NodeLevelDB(t, count)
	manifest := filepath.Join(filepath.Dir(db), "expected.json")
	if len(m.Failures) == 0 || m.Prefix == "" {
		t.Fatalf("%s lists no planted failures or no prefix; the generator changed?", manifest)
	}
	s := &appStore{t: t, path: db, prefix: m.Prefix}
	s.update(func(d *leveldb.DB) error {
		for _, f := range m.Failures {
			if err := d.Delete([]byte(m.Prefix+f.Key), nil); err != nil {
				return err
			}
		}
		return nil
	})
	return s
}

// update opens the database read-write, as the app would, runs f, closes.
func (s *appStore) update(f func(*leveldb.DB) error) {
	s.t.Helper()
	d, err := leveldb.OpenFile(s.path, nil)
	if err != nil {
		s.t.Fatalf("open the app's LevelDB read-write: %v", err)
	}
	if err := f(d); err != nil {
		d.Close()
		s.t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		s.t.Fatal(err)
	}
}

// corrupt rewrites the record under id with one byte of its description
// changed (the checksum no longer matches) and returns the good value.
func (s *appStore) corrupt(id string) []byte {
	s.t.Helper()
	var good []byte
	s.update(func(d *leveldb.DB) error {
		v, err := d.Get([]byte(s.prefix+id), nil)
		if err != nil {
			return err
		}
		good = bytes.Clone(v)
		field := []byte(`"description":"`)
		i := bytes.Index(v, field)
		if i < 0 {
			s.t.Fatalf("record %s has no description to damage: %.200s", id, v)
		}
		i += len(field)
		bad := bytes.Clone(v)
		bad[i] = 'X'
		if v[i] == 'X' {
			bad[i] = 'Y'
		}
		return d.Put([]byte(s.prefix+id), bad, nil)
	})
	return good
}

// restore writes a record's good value back, as a restore from backup does.
func (s *appStore) restore(id string, good []byte) {
	s.t.Helper()
	s.update(func(d *leveldb.DB) error { return d.Put([]byte(s.prefix+id), good, nil) })
}
