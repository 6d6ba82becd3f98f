package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/syndtr/goleveldb/leveldb"
)

// runDemo builds a demo LevelDB with planted corruptions, runs one check
// over it, then serves it with a short pass so that a new user sees the
// metrics and reports at once.
func runDemo(ctx context.Context, cfg *config, dir string, webFlags *web.FlagConfig, logger *slog.Logger, stdout, stderr io.Writer) int {
	if dir == "" {
		d, err := os.MkdirTemp("", "sigil-demo-")
		if err != nil {
			return fatalf(stderr, "cannot make a temp dir: %v", err)
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return fatalf(stderr, "cannot make %q: %v", dir, err)
	}
	dbPath := filepath.Join(dir, "sigils-db")
	keys, err := writeDemoDB(dbPath, dir, 2000, true)
	if err != nil {
		return fatalf(stderr, "cannot build the demo database in %q: %v", dir, err)
	}
	cfg.levelDBPath = dbPath
	cfg.levelDBPrefix = "!sigils!"
	cfg.pgDSN, cfg.pgDSNFile = "", ""
	cfg.keyFiles = keys
	if cfg.reportDir == "./reports" {
		cfg.reportDir = filepath.Join(dir, "reports")
	}
	if cfg.statePath == "./state" {
		cfg.statePath = filepath.Join(dir, "state")
	}
	if cfg.passDuration == 24*time.Hour {
		cfg.passDuration = time.Minute
	}
	fmt.Fprintf(stdout, "Demo LevelDB with planted corruptions: %s\n", dbPath)
	if code := runCheck(ctx, cfg, logger, stdout, stderr); code == exitError {
		return code
	}
	f, code := setup(ctx, cfg, logger, stderr, true)
	if f == nil {
		return code
	}
	defer f.close()
	addr := ":9961"
	if webFlags.WebListenAddresses != nil && len(*webFlags.WebListenAddresses) > 0 {
		addr = (*webFlags.WebListenAddresses)[0]
	}
	host := "localhost" + addr
	if addr[0] != ':' {
		host = addr
	}
	return serveFleet(ctx, cfg, f, webFlags, logger, stderr, func() {
		fmt.Fprintf(stdout, "\nServing the demo store with a %s pass. Open:\n  http://%s/metrics\n  http://%s/reports\nCtrl-C to stop.\n", cfg.passDuration, host, host)
	})
}

// writeDemoDB writes count valid records under the sublevel "sigils", a
// few records signed with a previous key, and, when plant is set, one
// planted corruption of each kind. It returns the key files, current first.
func writeDemoDB(dbPath, dir string, count int, plant bool) ([]string, error) {
	current, previous := []byte("demo-current-key"), []byte("demo-previous-key")
	keyFiles := []string{filepath.Join(dir, "current.key"), filepath.Join(dir, "previous.key")}
	for i, k := range [][]byte{current, previous} {
		if err := os.WriteFile(keyFiles[i], append(k, '\n'), 0o600); err != nil {
			return nil, err
		}
	}
	db, err := leveldb.OpenFile(dbPath, nil) // the demo's own database, not an app's
	if err != nil {
		return nil, err
	}
	defer db.Close()
	batch := new(leveldb.Batch)
	put := func(id string, rec map[string]any) {
		b, _ := json.Marshal(rec)
		batch.Put([]byte("!sigils!"+id), b)
	}
	sign := func(id string, data any, key []byte) map[string]any {
		canon, _ := json.Marshal(data)
		sum := sha256.Sum256(canon)
		mac := hmac.New(sha256.New, key)
		mac.Write(canon)
		return map[string]any{"id": id, "data": data, "checksum": hex.EncodeToString(sum[:]), "signature": hex.EncodeToString(mac.Sum(nil))}
	}
	for i := 0; i < count; i++ {
		id := fmt.Sprintf("sigil-%06d", i)
		key := current
		if i%10 == 0 {
			key = previous // signed before the key rotation: still valid
		}
		put(id, sign(id, demoData(i), key))
	}
	if !plant {
		return keyFiles, db.Write(batch, nil)
	}
	bad := sign("bad-checksum-1", demoData(1), current)
	bad["checksum"] = "0000000000000000000000000000000000000000000000000000000000000000"
	put("bad-checksum-1", bad)
	put("bad-signature-1", sign("bad-signature-1", demoData(2), []byte("a-key-nobody-has")))
	nosig := sign("bad-fields-1", demoData(3), current)
	delete(nosig, "signature")
	put("bad-fields-1", nosig)
	put("bad-key-1", sign("someone-else", demoData(4), current))
	batch.Put([]byte("!sigils!bad-decode-1"), []byte(`{"id": "bad-decode-1", "data": {"truncated": tr`))
	batch.Put([]byte("!meta!schema-version"), []byte("3")) // outside the prefix: ignored
	return keyFiles, db.Write(batch, nil)
}

type demoRecord struct {
	Owner   string   `json:"owner"`
	Amount  int      `json:"amount"`
	Tags    []string `json:"tags"`
	Created string   `json:"created"`
}

func demoData(i int) demoRecord {
	return demoRecord{
		Owner:   fmt.Sprintf("user-%d", i%97),
		Amount:  i * 7,
		Tags:    []string{"demo", fmt.Sprintf("batch-%d", i/100)},
		Created: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339),
	}
}
