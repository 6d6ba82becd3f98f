// Command floor is the speed bound for the check command: it opens a
// LevelDB read-only with goleveldb, iterates every key under a prefix and
// SHA-256s each value, on one goroutine, and prints records/s. Nothing in
// the exporter can walk the same database faster than this without
// skipping the read or the hash.
//
// Usage (from the repository root):
//
//	go run ./testdata/bench/floor [-prefix '!sigils!'] DB
//
// testdata/bench/run.sh runs it beside check; docs/PERFORMANCE.md has the
// figures.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

func main() {
	prefix := flag.String("prefix", "!sigils!", "key prefix of the records")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floor [-prefix P] <leveldb dir>")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), []byte(*prefix)); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(dir string, prefix []byte) error {
	start := time.Now()
	db, err := leveldb.OpenFile(dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		return fmt.Errorf("open %q read-only: %w", dir, err)
	}
	defer db.Close()
	it := db.NewIterator(util.BytesPrefix(prefix), nil)
	defer it.Release()
	var n, size int64
	var acc [sha256.Size]byte // XOR of every digest, so no hash is optimised away
	for it.Next() {
		sum := sha256.Sum256(it.Value())
		for i := range acc {
			acc[i] ^= sum[i]
		}
		n++
		size += int64(len(it.Value()))
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("iterate %q: %w", dir, err)
	}
	el := time.Since(start).Seconds()
	fmt.Printf("floor: %d records, %d bytes in %.3f s: %.0f records/s, %.1f MB/s (digest xor %s)\n",
		n, size, el, float64(n)/el, float64(size)/el/1e6, hex.EncodeToString(acc[:8]))
	return nil
}
