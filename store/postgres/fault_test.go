package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

func (e *env) testStatementTimeout(t *testing.T) {
	e.c.ExecIn(testDB, `CREATE VIEW slow_sigils AS SELECT s.* FROM sigils s WHERE (SELECT true FROM pg_sleep(0.5))`)
	e.c.ExecIn(testDB, `GRANT SELECT ON slow_sigils TO sigil_reader`)
	s := e.open(t, Options{Table: "slow_sigils"})
	s.opts.StatementTimeout = 50 * time.Millisecond
	err := s.Scan(ctxT(t), nil, func(store.Record) error { return nil })
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Scan past the statement timeout: err = %v, want ErrUnavailable", err)
	}
	s.opts.StatementTimeout = 10 * time.Second
	if n := len(scanAll(t, s, nil)); n != e.want.Tables["sigils"].Total {
		t.Errorf("scan of the view (no ctid): %d records, want %d", n, e.want.Tables["sigils"].Total)
	}
}

// scanResuming scans the table to the end, calling hook before the record
// at index `at`, and resuming from the last key seen after each error
// (calling onErr first, if set). It returns the keys seen and the errors.
func scanResuming(t *testing.T, s *Store, at int, hook, onErr func()) ([]string, []error) {
	t.Helper()
	var keys []string
	var errs []error
	var cursor []byte
	for attempt := 0; attempt < 10; attempt++ {
		err := s.Scan(ctxT(t), cursor, func(r store.Record) error {
			if len(keys) == at && hook != nil {
				hook()
				hook = nil
			}
			keys = append(keys, string(r.Key))
			cursor = append(cursor[:0], r.Key...)
			return nil
		})
		if err == nil {
			return keys, errs
		}
		errs = append(errs, err)
		if onErr != nil {
			onErr()
			onErr = nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("scan did not complete after 10 attempts: %v", errs)
	return nil, nil
}

// The table has unique keys so that resuming from a key cursor is exact.
func (e *env) testStopMidScan(t *testing.T) {
	s := e.open(t, Options{Table: "sigil_docs", RecordColumn: "doc", PageSize: 5})
	want := e.want.Tables["sigil_docs"]
	// Index 9 is the last record of the second page: the server stops
	// between two page reads, and comes back after Scan has failed.
	keys, errs := scanResuming(t, s, 9, e.c.Stop, e.c.Restart)
	if len(errs) == 0 {
		t.Fatalf("server stopped mid-scan and Scan returned no error")
	}
	for _, err := range errs {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Scan error %v, want ErrUnavailable", err)
		}
	}
	checkKeys(t, keys, want.Rows)
}

func (e *env) testRestartMidScan(t *testing.T) {
	for _, table := range []string{"sigil_docs", "sigils"} {
		t.Run(table, func(t *testing.T) {
			want := e.want.Tables[table]
			s := e.open(t, Options{Table: table, RecordColumn: want.RecordColumn, PageSize: 4})
			// Restart between two page reads: index 7 is the last
			// record of the second page. The pool may notice the dead
			// connections and reconnect (no error), or the next read
			// fails with ErrUnavailable and the scan resumes.
			keys, errs := scanResuming(t, s, 7, e.c.Restart, nil)
			for _, err := range errs {
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("Scan error %v, want ErrUnavailable", err)
				}
			}
			t.Logf("restart mid-scan: %d error(s) before completing: %v", len(errs), errs)
			checkKeys(t, keys, want.Rows)
		})
	}
}

func checkKeys(t *testing.T, got []string, want []testutil.PostgresRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d keys after resuming, want %d exactly", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i].Key {
			t.Fatalf("key %d = %q, want %q", i, got[i], want[i].Key)
		}
	}
}
