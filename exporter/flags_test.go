package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestBadFlags: every bad flag value, in serve and in check, is one line
// on stderr naming the flag and exit 2 from the real binary: no panic, no
// stack trace, nothing started.
func TestBadFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	writeLevelDB(t, db, 3, false, func(i int) ([]byte, []byte) {
		id := string(rune('a' + i))
		return []byte(id), signedRecord(badKey, id, `{}`)
	})
	base := []string{"--store.leveldb.path=" + db, "--report.dir=" + filepath.Join(dir, "r"), "--state.path=" + filepath.Join(dir, "s"), "--web.listen-address=127.0.0.1:0"}
	cases := []struct {
		flag, want string
	}{
		{"--web.telemetry-path=", "--web.telemetry-path"},
		{"--web.telemetry-path=metrics", "must start with /"},
		{"--web.telemetry-path=/", "landing page"},
		{"--web.telemetry-path=/reports", "taken by /reports"},
		{"--web.telemetry-path=/reports/x", "taken by /reports"},
		{"--web.telemetry-path=/-/healthy", "taken by /-"},
		{"--web.telemetry-path=/x y", "may hold only"},
		{"--web.telemetry-path=/a/../metrics", "clean path"},
		{"--web.telemetry-path=/{x}", "may hold only"},
		{"--scan.pass-duration=0s", "invalid --scan.pass-duration 0s: must be a positive duration"},
		{"--scan.pass-duration=-1h", "invalid --scan.pass-duration -1h0m0s: must be a positive duration"},
		{"--scan.recheck-interval=-1s", "invalid --scan.recheck-interval -1s: must be a positive duration"},
		{"--scan.recheck-interval=0s", "invalid --scan.recheck-interval 0s: must be a positive duration"},
		{"--store.leveldb.reopen-interval=-5m", "invalid --store.leveldb.reopen-interval -5m0s: must be a positive duration"},
		{"--state.checkpoint-interval=0s", "--state.checkpoint-interval"},
		{"--store.postgres.statement-timeout=-1s", "--store.postgres.statement-timeout"},
		{"--verify.workers=1000000", "invalid --verify.workers 1000000: must be between 0 and 256"},
		{"--verify.workers=-1", "invalid --verify.workers -1: must be between 0 and 256"},
		{"--store.postgres.page-size=0", "--store.postgres.page-size"},
		{"--report.retain=0", "--report.retain"},
		{"--report.max-failures=10000000", "--report.max-failures"},
		{"--scan.max-rate=-1", "--scan.max-rate"},
		{"--scan.max-rate=NaN", "--scan.max-rate"},
		{"--scan.tranquility=-0.5", "--scan.tranquility"},
		{"--verify.max-record-bytes=0", "--verify.max-record-bytes"},
		{"--scan.window=sometimes", "window"},
		{"--scan.window=25:00-26:00", "window"},
		{"--scan.shard=3/2", "shard"},
		{"--web.config.file=" + filepath.Join(dir, "missing-web.yml"), "--web.config.file"},
	}
	bin := testutil.Binary(t)
	for _, c := range cases {
		for _, cmd := range []string{"serve", "check"} {
			t.Run(cmd+" "+c.flag, func(t *testing.T) {
				var out, errb bytes.Buffer
				p := exec.Command(bin, append(append([]string{cmd}, base...), c.flag)...)
				p.Stdout, p.Stderr = &out, &errb
				code := testutil.ExitCode(t, p.Run())
				stderr := errb.String()
				if code != exitError {
					t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out.String(), stderr)
				}
				if lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); len(lines) != 1 {
					t.Errorf("stderr is %d lines, want one:\n%s", len(lines), stderr)
				}
				if !strings.Contains(stderr, c.want) || strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
					t.Errorf("stderr %q: want one line mentioning %q, no panic", stderr, c.want)
				}
			})
		}
	}
}

// TestDSNWarnings: a DSN on the command line (readable in
// /proc/PID/cmdline) and a DSN file readable by every user are warned
// about, without the password; the env var and a private file are not.
func TestDSNWarnings(t *testing.T) {
	t.Parallel()
	const pass = "dsn-pass-6c1e"
	dsn := "postgres://u:" + pass + "@127.0.0.1:1/db?connect_timeout=1"
	dir := t.TempDir()
	open := filepath.Join(dir, "dsn-open")
	private := filepath.Join(dir, "dsn-private")
	for p, mode := range map[string]os.FileMode{open: 0o644, private: 0o600} {
		if err := os.WriteFile(p, []byte(dsn), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"argv", []string{"--store.postgres.dsn=" + dsn}, nil, "on the command line"},
		{"argv split", []string{"--store.postgres.dsn", dsn}, nil, "on the command line"},
		{"world-readable file", []string{"--store.postgres.dsn-file=" + open}, nil, "readable by every user"},
		{"env", nil, []string{"DATABASE_URL=" + dsn}, ""},
		{"private file", []string{"--store.postgres.dsn-file=" + private}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"check", "--report.dir=" + t.TempDir(), "--state.path=" + t.TempDir()}, c.args...)
			code, stdout, stderr := runBinary(t, c.env, args...)
			if code != exitError { // unreachable
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			warned := grepLines(stderr, "level=WARN")
			if c.want == "" && strings.Contains(warned, "dsn") {
				t.Errorf("unexpected DSN warning: %s", warned)
			}
			if c.want != "" && !strings.Contains(warned, c.want) {
				t.Errorf("no warning %q in:\n%s", c.want, stderr)
			}
			if strings.Contains(stdout+stderr, pass) {
				t.Errorf("the password reached the output:\n%s", stderr)
			}
		})
	}
}

// TestCheckBadInput: every bad input is one clear line on stderr and exit 2,
// with no key material in it.
func TestCheckBadInput(t *testing.T) {
	dir, db, keys := demoStore(t, 10, true)
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.key", "  \n", 0o600)
	badSchema := write("bad.schema.json", `{"type": 12}`, 0o600)
	notJSONSchema := write("notjson.schema.json", `{"type": `, 0o600)
	notDB := filepath.Join(dir, "not-a-db")
	testutil.Must(t, os.MkdirAll(notDB, 0o755))
	reports := "--report.dir=" + filepath.Join(dir, "r")
	state := "--state.path=" + filepath.Join(dir, "state")
	cases := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"no store", []string{"check", reports}, "no store configured"},
		{"missing path", []string{"check", "--store.leveldb.path=" + filepath.Join(dir, "nope"), reports}, "nope"},
		{"not a leveldb", []string{"check", "--store.leveldb.path=" + notDB, reports}, "not-a-db"},
		{"missing key file", []string{"check", "--store.leveldb.path=" + db, "--verify.key-file=" + filepath.Join(dir, "missing.key"), reports}, "missing.key"},
		{"empty key file", []string{"check", "--store.leveldb.path=" + db, "--verify.key-file=" + empty, reports}, "is empty"},
		{"key file is a dir", []string{"check", "--store.leveldb.path=" + db, "--verify.key-file=" + dir, reports}, "is a directory"},
		{"bad schema", []string{"check", "--store.leveldb.path=" + db, "--verify.schema-file=" + badSchema, reports}, "not a valid JSON Schema"},
		{"schema not json", []string{"check", "--store.leveldb.path=" + db, "--verify.schema-file=" + notJSONSchema, reports}, "not valid JSON"},
		{"bad canonical", []string{"check", "--store.leveldb.path=" + db, "--verify.canonical=xml", reports}, "canonical"},
		{"unknown flag", []string{"check", "--store.leveldb.pth=" + db, reports}, "unknown long flag"},
		{"bad duration", []string{"check", "--store.leveldb.path=" + db, "--scan.pass-duration=soon", reports}, "pass-duration"},
		{"bad max failures", []string{"check", "--store.leveldb.path=" + db, "--report.max-failures=0", reports}, "--report.max-failures"},
		{"bad retain", []string{"check", "--store.leveldb.path=" + db, "--report.retain=0", reports}, "--report.retain"},
		{"bad shard", []string{"check", "--store.leveldb.path=" + db, "--scan.shard=3/3", reports}, `invalid --scan.shard "3/3"`},
		{"bad window", []string{"serve", "--store.leveldb.path=" + db, "--scan.window=25:00-03:00", reports}, `invalid --scan.window "25:00-03:00": hour must be 00-23`},
		{"bad dsn", []string{"check", "--store.postgres.dsn=postgres://u:hunter2secret@/db?sslmode=bogus", reports}, "postgres"},
		{"unreachable postgres", []string{"check", "--store.postgres.dsn=postgres://u:hunter2secret@127.0.0.1:1/db?connect_timeout=2", reports}, "postgres"},
		{"report dir is a file", []string{"check", "--store.leveldb.path=" + db, "--report.dir=" + keys[0]}, "report"},
	}
	secrets := []string{"hunter2secret", "demo-current-key", "demo-previous-key"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(c.args, state, "--log.level=error")...)
			if code != exitError {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("stderr is %d lines, want one:\n%s", len(lines), stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not mention %q", stderr, c.want)
			}
			for _, s := range secrets {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("output leaks a secret %q: %s", s, stderr)
				}
			}
		})
	}
}
