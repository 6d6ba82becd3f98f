package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"golang.org/x/crypto/bcrypt"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// appDB is a small LevelDB the test writes as the app would: goleveldb
// opened read-write, which the exporter's read-only open never blocks.
type appDB struct {
	t    *testing.T
	path string
	key  []byte
}

func newAppDB(t *testing.T) *appDB {
	dir := t.TempDir()
	a := &appDB{t: t, path: filepath.Join(dir, "db"), key: []byte("test-app-key")}
	return a
}

func (a *appDB) keyFile() string {
	p := filepath.Join(filepath.Dir(a.path), "app.key")
	if err := os.WriteFile(p, a.key, 0o600); err != nil {
		a.t.Fatal(err)
	}
	return p
}

// record is a valid signed record for id with some data.
func (a *appDB) record(id, data string) []byte {
	sum := sha256.Sum256([]byte(data))
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(data))
	return []byte(fmt.Sprintf(`{"id":%q,"data":%s,"checksum":%q,"signature":%q}`, id, data, hex.EncodeToString(sum[:]), hex.EncodeToString(mac.Sum(nil))))
}

// records returns n valid records, rec-000 ... with data {"n":i}, by key.
func (a *appDB) records(n int) map[string][]byte {
	kv := map[string][]byte{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("rec-%03d", i)
		kv[id] = a.record(id, fmt.Sprintf(`{"n":%d}`, i))
	}
	return kv
}

// filledAppDB is a new app database holding a.records(n).
func filledAppDB(t *testing.T, n int) *appDB {
	t.Helper()
	a := newAppDB(t)
	a.put(a.records(n))
	return a
}

// put writes records (key → value) the way the app would.
func (a *appDB) put(kv map[string][]byte) {
	a.t.Helper()
	db, err := leveldb.OpenFile(a.path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	defer db.Close()
	for k, v := range kv {
		if err := db.Put([]byte(k), v, nil); err != nil {
			a.t.Fatal(err)
		}
	}
}

// TestServeRecheckAfterRestore: a record restored from backup leaves the
// failure gauges through the re-check, while the walk is paused, well
// before the next pass.
func TestServeRecheckAfterRestore(t *testing.T) {
	a := newAppDB(t)
	kv := a.records(50)
	good := kv["rec-007"]
	kv["rec-007"] = []byte(strings.Replace(string(good), `"n":7`, `"n":8`, 1)) // corrupted data
	a.put(kv)

	p := startExporter(t, "serve", "--web.enable-lifecycle", "--store.leveldb.path="+a.path, "--verify.key-file="+a.keyFile(),
		"--scan.pass-duration=2s", "--scan.recheck-interval=300ms", "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())
	p.waitFor(10*time.Second, "the corruption to be found", func() bool {
		return p.scrape()[`sigil_integrity_last_pass_failures{check="checksum",store="leveldb"}`] == 1
	})
	if code := p.post("/-/pause"); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	time.Sleep(300 * time.Millisecond)
	before := p.scrape()[`sigil_integrity_current_pass_records{store="leveldb"}`]
	a.put(map[string][]byte{"rec-007": good}) // restore from backup
	p.waitFor(5*time.Second, "the re-check to clear the failure", func() bool {
		s := p.scrape()
		return s[`sigil_integrity_last_pass_failures{check="checksum",store="leveldb"}`] == 0 &&
			s[`sigil_integrity_current_pass_failures{check="checksum",store="leveldb"}`] == 0 &&
			s[`sigil_integrity_last_status{store="leveldb"}`] == 1
	})
	s := p.scrape()
	if got := s[`sigil_integrity_current_pass_records{store="leveldb"}`]; got != before {
		t.Errorf("the walk moved while paused (%v → %v records): the re-check, not a pass, must clear the failure", before, got)
	}
	if s[`sigil_integrity_scan_active{store="leveldb"}`] != 0 {
		t.Errorf("scan_active is 1 while paused")
	}
	if code := p.post("/-/resume"); code != 200 {
		t.Fatalf("resume: %d", code)
	}
}

// TestServeHTTP: the landing page, reports (HTML escaping a hostile id,
// JSON), health, readiness and the control endpoints.
func TestServeHTTP(t *testing.T) {
	a := newAppDB(t)
	hostile := `<script>alert("x")</script>`
	a.put(map[string][]byte{
		"ok-1":  a.record("ok-1", `{"a":1}`),
		hostile: []byte(`{"id":"` + strings.ReplaceAll(hostile, `"`, `\"`) + `","signature":"00","data":{}}`),
	})
	p := startExporter(t, "serve", "--web.enable-lifecycle", "--store.leveldb.path="+a.path, "--verify.key-file="+a.keyFile(),
		"--scan.pass-duration=1s", "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())
	p.waitFor(10*time.Second, "a pass", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
	})
	for _, c := range []struct {
		path, want string
	}{
		{"/", "/metrics"},
		{"/-/healthy", "Healthy"},
		{"/-/ready", "Ready"},
		{"/reports", "&lt;script&gt;"},
		{"/reports/latest.json", `"reason": "signature"`},
		{"/metrics", "sigil_integrity_exporter_build_info"},
	} {
		code, body := p.get(c.path)
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d, body lacks %q:\n%.300s", c.path, code, c.want, body)
		}
		if strings.Contains(body, hostile) {
			t.Errorf("GET %s: the hostile id appears unescaped", c.path)
		}
	}
	_, body := p.get("/reports/latest.json")
	var rep reportJSON
	if err := json.Unmarshal([]byte(body), &rep); err != nil || len(rep.Failures) != 1 || rep.Failures[0].ID != hostile {
		t.Errorf("latest.json: %v %+v", err, rep)
	}
	for _, path := range []string{"/-/pause", "/-/resume", "/-/run-now", "/-/pause?store=leveldb"} {
		if code := p.post(path); code != 200 {
			t.Errorf("POST %s: %d", path, code)
		}
	}
	if code := p.post("/-/pause?store=nope"); code != 404 {
		t.Errorf("POST /-/pause?store=nope: %d, want 404", code)
	}
	if code, _ := p.get("/-/pause"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/pause: %d, want 405", code)
	}
}

// TestServeWebConfigAuth: with basic auth in the web config file, every
// route (metrics, reports, control) wants the password.
func TestServeWebConfigAuth(t *testing.T) {
	a := newAppDB(t)
	a.put(map[string][]byte{"ok-1": a.record("ok-1", `{"a":1}`)})
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	testutil.Must(t, os.WriteFile(webCfg, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600))
	p := startExporterNoHealth(t, "serve", "--web.enable-lifecycle", "--store.leveldb.path="+a.path, "--web.config.file="+webCfg,
		"--report.dir="+t.TempDir(), "--state.path="+t.TempDir())
	client := &http.Client{Timeout: 5 * time.Second}
	do := func(method, path, user, pass string) int {
		req, _ := http.NewRequest(method, "http://"+p.addr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range [][2]string{{"GET", "/metrics"}, {"GET", "/reports"}, {"GET", "/reports/latest.json"}, {"POST", "/-/pause"}, {"POST", "/-/run-now"}} {
		if code := do(r[0], r[1], "", ""); code != 401 {
			t.Errorf("%s %s without credentials: %d, want 401", r[0], r[1], code)
		}
		if code := do(r[0], r[1], "prometheus", "wrong"); code != 401 {
			t.Errorf("%s %s with a wrong password: %d, want 401", r[0], r[1], code)
		}
	}
	if code := do("GET", "/metrics", "prometheus", "s3cret-pass"); code != 200 {
		t.Errorf("GET /metrics with the password: %d", code)
	}
	if code := do("POST", "/-/pause", "prometheus", "s3cret-pass"); code != 200 {
		t.Errorf("POST /-/pause with the password: %d", code)
	}
	if strings.Contains(p.Out.String(), "s3cret-pass") {
		t.Error("the password reached the log")
	}
}

// startExporterNoHealth starts the exporter and waits for its port, for
// configurations where /-/healthy wants credentials.
func startExporterNoHealth(t *testing.T, args ...string) *proc {
	t.Helper()
	p := launchExporter(t, args...)
	p.waitFor(10*time.Second, "the port", func() bool {
		_, _, err := testutil.HTTPGet("http://" + p.addr + "/")
		return err == nil
	})
	return p
}
