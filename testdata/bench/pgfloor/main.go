// Command pgfloor is the speed bound for the check command on PostgreSQL:
// one streaming query reads every row of a table as row_to_json and
// SHA-256s it, on one goroutine, and prints records/s. Nothing that reads
// and hashes every record can be much faster.
//
// With -explain it instead opens the table as the exporter does and prints
// EXPLAIN (ANALYZE, BUFFERS) of one page of the walk, taken after the
// record in the middle of the table: what a paced page costs the server.
//
// Usage (from the repository root):
//
//	go run ./testdata/bench/pgfloor -dsn DSN -table TABLE
//	go run ./testdata/bench/pgfloor -dsn DSN -table TABLE -explain [-page ROWS]
//
// testdata/bench/postgres.sh runs it beside check; docs/PERFORMANCE.md has
// the figures.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/postgres"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("DATABASE_URL"), "PostgreSQL DSN")
	table := flag.String("table", "sigils", "table")
	explain := flag.Bool("explain", false, "print EXPLAIN (ANALYZE, BUFFERS) of one page of the walk instead")
	page := flag.Int("page", 500, "with -explain: rows in the page (a paced walk reads about a second's worth of records, plus one)")
	flag.Parse()
	var err error
	if *explain {
		err = explainPage(*dsn, *table, *page)
	} else {
		err = floor(*dsn, *table)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgfloor:", err)
		os.Exit(1)
	}
}

func floor(dsn, table string) error {
	ctx := context.Background()
	start := time.Now()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT row_to_json(t)::text FROM %s AS t`, pgx.Identifier{table}.Sanitize()))
	if err != nil {
		return err
	}
	defer rows.Close()
	var n, size int64
	var acc [32]byte
	for rows.Next() {
		v := rows.RawValues()[0]
		sum := sha256.Sum256(v)
		acc[0] ^= sum[0]
		n++
		size += int64(len(v))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("records=%d bytes=%d seconds=%.3f records_per_s=%.0f mb_per_s=%.1f xor=%s\n",
		n, size, el.Seconds(), float64(n)/el.Seconds(), float64(size)/el.Seconds()/1e6, hex.EncodeToString(acc[:1]))
	return nil
}

func explainPage(dsn, table string, page int) error {
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Options{DSN: dsn, Table: table, PageSize: page})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println(s.Describe())
	// The cursor in the middle of the walk: count the records, then walk
	// to the middle one (its Cursor, or its key).
	var total int64
	if err := s.Scan(ctx, nil, func(store.Record) error { total++; return nil }); err != nil {
		return err
	}
	var i int64
	var cursor []byte
	errStop := errors.New("stop")
	err = s.Scan(ctx, nil, func(r store.Record) error {
		if i++; i < total/2 {
			return nil
		}
		cursor = r.Cursor
		if cursor == nil {
			cursor = r.Key
		}
		cursor = append([]byte(nil), cursor...)
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	plan, err := s.ExplainPage(ctx, cursor)
	if err != nil {
		return err
	}
	fmt.Printf("page after %q of %d records:\n%s\n", cursor, total, plan)
	return nil
}
