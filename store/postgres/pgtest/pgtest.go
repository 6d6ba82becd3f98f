// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb into
// a temporary directory, a free port on 127.0.0.1, a unix socket in the same
// directory, fsync off. When the test runs as root the server runs as the
// `postgres` user (it refuses root). Binaries come from PATH or
// /usr/lib/postgresql/*/bin. Without them a test is skipped, or fails when
// the environment has CI=true (testutil.Unavailable); under -short it is
// skipped.
//
// The superuser `postgres` connects with trust auth on loopback; the role
// ReaderRole logs in with ReaderPassword (scram-sha-256) and has no grants
// until a test gives it some, as a real read-only role would.
//
// Tests only: no non-test package may import it (depguard).
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// ReaderRole and ReaderPassword are the password-auth login role every
// cluster has. Test-only credentials.
const (
	ReaderRole     = "sigil_reader"
	ReaderPassword = "pgtest-reader-password"
)

// Cluster is one running throwaway server.
type Cluster struct {
	t      testing.TB
	bin    string
	dir    string
	data   string
	port   int
	runAs  string // "postgres" when the test runs as root
	uid    int
	gid    int
	closed bool
}

// Start initialises and starts a cluster; Cleanup stops it and removes its
// files.
func Start(t testing.TB) *Cluster {
	t.Helper()
	testutil.Long(t, "a PostgreSQL server")
	bin, err := findBinDir()
	if err != nil {
		testutil.Unavailable(t, fmt.Sprintf("pgtest: %v; install the postgresql package", err))
	}
	c := &Cluster{t: t, bin: bin, uid: -1, gid: -1}
	base := ""
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root needs a `postgres` user to run the server: %v", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		base = "/tmp" // traversable by the postgres user, unlike a root TMPDIR
	}
	c.dir, err = os.MkdirTemp(base, "pgtest-")
	if err != nil {
		t.Fatalf("pgtest: temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	if c.runAs != "" {
		if err := os.Chown(c.dir, c.uid, c.gid); err != nil {
			t.Fatalf("pgtest: chown %s: %v", c.dir, err)
		}
	}
	c.data = filepath.Join(c.dir, "data")
	c.port = testutil.FreePort(t)
	if out, err := c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	c.configure()
	t.Cleanup(c.Stop)
	c.pgctl("start")
	c.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, ReaderRole, ReaderPassword))
	return c
}

func (c *Cluster) configure() {
	conf := fmt.Sprintf(`
port = %d
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 40
`, c.port, c.dir)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		c.t.Fatalf("pgtest: write postgresql.conf: %v", err)
	}
	hba := "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(c.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		c.t.Fatalf("pgtest: write pg_hba.conf: %v", err)
	}
}

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// DSN is the superuser's URL for the `postgres` database.
func (c *Cluster) DSN() string { return c.DSNFor("postgres") }

// DSNFor is the superuser's URL for a database.
func (c *Cluster) DSNFor(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, url.PathEscape(database))
}

// ReaderDSN is ReaderRole's password URL for a database.
func (c *Cluster) ReaderDSN(database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(ReaderRole, ReaderPassword),
		Host: fmt.Sprintf("127.0.0.1:%d", c.port), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// CreateDatabase makes an empty database that ReaderRole may connect to.
func (c *Cluster) CreateDatabase(name string) {
	c.t.Helper()
	id := pgx.Identifier{name}.Sanitize()
	c.Exec("CREATE DATABASE " + id)
	c.Exec(fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", id, ReaderRole))
}

// Exec runs one statement as the superuser in the `postgres` database.
func (c *Cluster) Exec(sql string, args ...any) { c.ExecIn("postgres", sql, args...) }

// ExecIn runs one statement as the superuser in a database.
func (c *Cluster) ExecIn(database, sql string, args ...any) {
	c.t.Helper()
	c.withConn(database, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	})
}

// Load runs SQL files (several statements each) in the `postgres` database.
func (c *Cluster) Load(paths ...string) { c.LoadIn("postgres", paths...) }

// LoadIn runs SQL files as the superuser in a database.
func (c *Cluster) LoadIn(database string, paths ...string) {
	c.t.Helper()
	for _, p := range paths {
		sql, err := os.ReadFile(p)
		if err != nil {
			c.t.Fatalf("pgtest: %v", err)
		}
		c.withConn(database, func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.PgConn().Exec(ctx, string(sql)).ReadAll()
			if err != nil {
				return fmt.Errorf("load %s: %w", p, err)
			}
			return nil
		})
	}
}

func (c *Cluster) withConn(database string, fn func(context.Context, *pgx.Conn) error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSNFor(database))
	if err != nil {
		c.t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if err := fn(ctx, conn); err != nil {
		c.t.Fatalf("pgtest: %v", err)
	}
}

// Stop shuts the server down (fast mode: open sessions are ended). It is
// safe to call more than once; Restart starts it again.
func (c *Cluster) Stop() {
	if c.closed {
		return
	}
	c.closed = true
	if out, err := c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop"); err != nil && !strings.Contains(out, "not running") && !strings.Contains(out, "PID file") {
		c.t.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
}

// Restart stops the server if it runs (ending every session) and starts it
// again on the same port and data directory.
func (c *Cluster) Restart() {
	c.t.Helper()
	if !c.closed {
		c.pgctl("-m", "fast", "restart")
		return
	}
	c.pgctl("start")
}

func (c *Cluster) pgctl(args ...string) {
	c.t.Helper()
	log := filepath.Join(c.dir, "server.log")
	full := append([]string{"-D", c.data, "-l", log, "-w", "-t", "60"}, args...)
	if out, err := c.run("pg_ctl", full...); err != nil {
		tail, _ := os.ReadFile(log)
		c.t.Fatalf("pgtest: pg_ctl %s: %v\n%s\n%s", strings.Join(args, " "), err, out, lastLines(string(tail), 20))
	}
	c.closed = false
}

// run runs a server binary, as the postgres user when the test is root.
func (c *Cluster) run(name string, args ...string) (string, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// findBinDir finds the directory holding initdb, pg_ctl and postgres.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
