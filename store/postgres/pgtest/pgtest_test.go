package pgtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func query(t *testing.T, dsn, sql string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, sql).Scan(&s)
	return s, err
}

func TestCluster(t *testing.T) {
	c := Start(t)
	c.CreateDatabase("app")
	c.ExecIn("app", "CREATE TABLE kept (v text)")
	c.ExecIn("app", "INSERT INTO kept VALUES ('before restart')")
	c.ExecIn("app", "GRANT SELECT ON kept TO "+ReaderRole)

	if got, err := query(t, c.ReaderDSN("app"), "SELECT v FROM kept"); err != nil || got != "before restart" {
		t.Fatalf("reader role: %q, %v", got, err)
	}
	bad := strings.Replace(c.ReaderDSN("app"), ReaderPassword, "wrong", 1)
	if _, err := query(t, bad, "SELECT 1::text"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("reader with a wrong password: err = %v, want password authentication failed", err)
	}
	if got, err := query(t, c.DSNFor("app"), "SELECT current_setting('fsync')"); err != nil || got != "off" {
		t.Errorf("fsync = %q, %v; want off", got, err)
	}

	port := c.Port()
	c.Restart()
	if got, err := query(t, c.DSNFor("app"), "SELECT v FROM kept"); err != nil || got != "before restart" {
		t.Errorf("after Restart: %q, %v; want the same data dir", got, err)
	}
	c.Stop()
	if _, err := query(t, c.DSN(), "SELECT 1::text"); err == nil {
		t.Errorf("query after Stop succeeded")
	}
	c.Restart()
	if c.Port() != port {
		t.Errorf("port changed from %d to %d", port, c.Port())
	}
	if got, err := query(t, c.DSNFor("app"), "SELECT v FROM kept"); err != nil || got != "before restart" {
		t.Errorf("after Stop and Restart: %q, %v", got, err)
	}
}
