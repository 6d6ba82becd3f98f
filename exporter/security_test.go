package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestNoFlagTakesAKey: no flag of any command takes key material; keys
// come only from files. The only flag that may carry a secret is
// --store.postgres.dsn (its help says to prefer the file or the env var).
func TestNoFlagTakesAKey(t *testing.T) {
	flagRE := regexp.MustCompile(`--([a-z0-9.-]+)`)
	secretish := regexp.MustCompile(`key|secret|passw|token|hmac|cred`)
	allowed := map[string]bool{"verify.key-file": true, "store.postgres.key-column": true, "web.config.file": true}
	seen := 0
	for _, args := range [][]string{{"--help"}, {"check", "--help"}, {"serve", "--help"}} {
		_, stdout, stderr := runCLI(t, args...)
		for _, m := range flagRE.FindAllStringSubmatch(stdout+stderr, -1) {
			seen++
			if secretish.MatchString(m[1]) && !allowed[m[1]] {
				t.Errorf("%v lists --%s, which looks like it takes a secret on the command line", args, m[1])
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d flags in --help: the help output changed shape", seen)
	}
	_, stdout, stderr := runCLI(t, "--help")
	if !strings.Contains(stdout+stderr, "--verify.key-file") {
		t.Error("--help does not list --verify.key-file")
	}
}

// secrets are distinctive key contents and a DSN password; none may reach
// argv, a log line, a metric, a report, the state dir or an error.
const (
	secretCurrent  = "KEYMAT-current-5e1f0c9a77"
	secretPrevious = "KEYMAT-previous-b84d2e6013"
	secretDSNPass  = "PGPASS-d0n7-l34k-9931"
)

func secretForms() []string {
	var out []string
	for _, s := range []string{secretCurrent, secretPrevious, secretDSNPass} {
		out = append(out, s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	return out
}

func assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range secretForms() {
		if strings.Contains(text, s) {
			t.Errorf("%s holds secret %q", where, s)
		}
	}
}

func assertNoSecretInTree(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b := testutil.ReadFile(t, p)
		n++
		assertNoSecret(t, p, string(b))
		return nil
	})
	testutil.Must(t, err)
	if n == 0 {
		t.Errorf("no files in %s: nothing was grepped", dir)
	}
}

// TestSecretsNeverSurface runs check and serve with distinctive key files
// (one of them readable by everyone) and a DSN password in the environment,
// against a store with failures of every kind, and greps stdout, stderr,
// the process's argv, every metric, the reports (files and HTTP) and the
// state dir. The world-readable key file gets one warning; the 0600 one
// none.
func TestSecretsNeverSurface(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	writeLevelDB(t, db, 500, true, func(i int) ([]byte, []byte) {
		if i%2 == 0 {
			return corruptRecord(i)
		}
		k, _ := corruptRecord(i)
		return k, signedRecord(secretPrevious, string(k), `{"ok":true}`)
	})
	cur := writeKeyFile(t, dir, "current.key", secretCurrent)
	prev := filepath.Join(dir, "previous.key")
	if err := os.WriteFile(prev, []byte("  "+secretPrevious+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Must(t, os.Chmod(prev, 0o644)) // past the umask
	reports, state := filepath.Join(dir, "reports"), filepath.Join(dir, "state")
	keyArgs := []string{"--verify.key-file=" + cur, "--verify.key-file=" + prev}

	r := runCheckProc(t, append(keyArgs, "--store.leveldb.path="+db, "--report.dir="+reports, "--state.path="+state)...)
	if r.code != exitFailures {
		t.Fatalf("check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertNoSecret(t, "check stdout", r.stdout)
	assertNoSecret(t, "check stderr", r.stderr)
	if n := strings.Count(r.stderr, "readable by every user"); n != 1 || !strings.Contains(r.stderr, "previous.key") {
		t.Errorf("want one warning for the 0644 key file (previous.key), none for the 0600 one; stderr:\n%s", r.stderr)
	}

	// An unreachable PostgreSQL with a password in DATABASE_URL: exit 2,
	// one line, no password.
	t.Setenv("DATABASE_URL", "postgres://sigil:"+secretDSNPass+"@127.0.0.1:1/app?connect_timeout=2")
	r2 := runCheckProc(t, append(keyArgs, "--report.dir="+reports, "--state.path="+state)...)
	if r2.code != exitError {
		t.Errorf("check with an unreachable postgres: exit %d, want 2", r2.code)
	}
	assertNoSecret(t, "check stdout (postgres)", r2.stdout)
	assertNoSecret(t, "check stderr (postgres)", r2.stderr)

	// serve with both stores: the LevelDB is walked, PostgreSQL retried.
	p := startExporter(t, append([]string{"serve"}, append(keyArgs, "--store.leveldb.path="+db, "--scan.pass-duration=1s",
		"--report.dir="+reports, "--state.path="+state, "--log.level=debug")...)...)
	p.waitFor(15*time.Second, "a pass", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
	})
	cmdline := testutil.ReadFile(t, filepath.Join("/proc", strconv.Itoa(p.Cmd.Process.Pid), "cmdline"))
	assertNoSecret(t, "serve argv", string(cmdline))
	for _, path := range []string{"/metrics", "/reports", "/reports/latest.json", "/"} {
		code, body := p.get(path)
		if code != 200 {
			t.Errorf("GET %s: %d", path, code)
		}
		assertNoSecret(t, "GET "+path, body)
	}
	p.stop(syscall.SIGTERM)
	assertNoSecret(t, "serve log", p.Out.String())
	if !strings.Contains(p.Out.String(), "readable by every user") {
		t.Error("serve did not warn about the 0644 key file")
	}
	assertNoSecretInTree(t, reports)
	assertNoSecretInTree(t, state)
}

// selfSignedTLS writes a CA and a server certificate for 127.0.0.1 signed
// by it, and returns the CA pool and the cert and key paths.
func selfSignedTLS(t *testing.T, dir string) (*x509.CertPool, string, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigil test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	certPath, keyPath := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	testutil.Must(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}), 0o600))
	testutil.Must(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, certPath, keyPath
}

// TestServeTLSAuthAndEscaping: TLS and basic auth from the web config
// file, tested with a real HTTPS client that trusts the test CA. Every
// route (metrics, reports, control) answers 200 with the password and 401
// without; plain HTTP and a client that does not trust the CA get nothing.
// The HTML report escapes ids holding quotes, ampersands and </td>.
func TestServeTLSAuthAndEscaping(t *testing.T) {
	dir := t.TempDir()
	a := newAppDB(t)
	hostile := []string{`q"uote'd`, `amp&amp;ersand&lt;`, `</td></tr><td onmouseover="x">`, `<img src=x onerror=alert(1)>`}
	kv := map[string][]byte{"ok-1": a.record("ok-1", `{"a":1}`)}
	for _, id := range hostile {
		kv[id] = signedRecord("not-the-app-key", id, `{}`) // a signature failure under a hostile id
	}
	a.put(kv)
	pool, certFile, keyFile := selfSignedTLS(t, dir)
	hash, _ := bcrypt.GenerateFromPassword([]byte("tls-pass-42"), bcrypt.MinCost)
	webCfg := filepath.Join(dir, "web.yml")
	testutil.Must(t, os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+"\nbasic_auth_users:\n  prom: "+string(hash)+"\n"), 0o600))
	p := startExporterNoHealth(t, "serve", "--web.enable-lifecycle", "--store.leveldb.path="+a.path, "--verify.key-file="+a.keyFile(), "--web.config.file="+webCfg,
		"--scan.pass-duration=1s", "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	do := func(c *http.Client, method, url, user, pass string) (int, string, error) {
		req, _ := http.NewRequest(method, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	base := "https://" + p.addr
	p.waitFor(15*time.Second, "a pass", func() bool {
		code, body, err := do(client, "GET", base+"/metrics", "prom", "tls-pass-42")
		return err == nil && code == 200 && strings.Contains(body, `sigil_integrity_passes_completed_total{store="leveldb"} 1`)
	})
	routes := [][2]string{{"GET", "/metrics"}, {"GET", "/reports"}, {"GET", "/reports/latest.json"}, {"GET", "/-/healthy"}, {"GET", "/"},
		{"POST", "/-/pause"}, {"POST", "/-/resume"}, {"POST", "/-/run-now"}}
	for _, r := range routes {
		if code, _, err := do(client, r[0], base+r[1], "", ""); err != nil || code != 401 {
			t.Errorf("%s %s over TLS without credentials: %d %v, want 401", r[0], r[1], code, err)
		}
		if code, _, err := do(client, r[0], base+r[1], "prom", "wrong"); err != nil || code != 401 {
			t.Errorf("%s %s over TLS with a wrong password: %d %v, want 401", r[0], r[1], code, err)
		}
		if code, _, err := do(client, r[0], base+r[1], "prom", "tls-pass-42"); err != nil || code != 200 {
			t.Errorf("%s %s over TLS with the password: %d %v, want 200", r[0], r[1], code, err)
		}
	}
	if code, body, err := do(&http.Client{Timeout: 5 * time.Second}, "GET", "http://"+p.addr+"/metrics", "prom", "tls-pass-42"); err == nil && (code == 200 || strings.Contains(body, "sigil_integrity")) {
		t.Errorf("plain HTTP got %d with metrics: TLS is not enforced", code)
	}
	if _, _, err := do(&http.Client{Timeout: 5 * time.Second}, "GET", base+"/metrics", "prom", "tls-pass-42"); err == nil {
		t.Error("a client that does not trust the test CA connected")
	}

	_, page, _ := do(client, "GET", base+"/reports", "prom", "tls-pass-42")
	for _, id := range hostile {
		if strings.Contains(page, id) {
			t.Errorf("the HTML report holds the hostile id %q unescaped", id)
		}
	}
	for _, esc := range []string{"&lt;/td&gt;&lt;/tr&gt;", "amp&amp;amp;ersand&amp;lt;", "q&#34;uote&#39;d", "&lt;img src=x"} {
		if !strings.Contains(page, esc) {
			t.Errorf("the HTML report lacks the escaped form %q", esc)
		}
	}
	if strings.Contains(p.Out.String(), "tls-pass-42") {
		t.Error("the password reached the log")
	}
}
