package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// dsnError turns a DSN parse failure into one line that names what is wrong
// without the DSN itself: pgx's own message quotes the (best-effort
// redacted) connection string, and a malformed one can leak its password.
func dsnError(err error) error {
	reason := "it is neither a postgres:// URL nor key=value settings"
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		reason = parseReason(pe)
	}
	return fmt.Errorf("invalid postgres DSN (not shown, it may hold a password): %s; check it with psql", reason)
}

// parseReason extracts pgx's fixed message from a ParseConfigError, cut
// before any quoted or appended value.
func parseReason(pe *pgconn.ParseConfigError) string {
	s := pe.Error()
	if inner := pe.Unwrap(); inner != nil {
		s = strings.TrimSuffix(s, " ("+inner.Error()+")")
	}
	i := strings.LastIndex(s, "`: ")
	if i < 0 {
		return "a setting in it is invalid"
	}
	s = s[i+3:]
	if j := strings.IndexAny(s, "\":=@/`'"); j >= 0 {
		s = s[:j]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "a setting in it is invalid"
	}
	return s
}

// transientSQLStates are the SQLSTATE classes and codes that mean "the
// server cannot answer right now" rather than "the query is wrong".
var transientSQLStates = map[string]bool{
	"08":    true, // connection exception
	"53":    true, // insufficient resources
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now
	"57014": true, // query_canceled: statement_timeout
	"40001": true, // serialization_failure (hot standby conflict)
	"40P01": true, // deadlock_detected
	"55P03": true, // lock_not_available
}

// classify wraps err with store.ErrUnavailable when the condition is
// expected to pass (server down or restarting, network cut, timeout).
// The caller's own cancellation is returned as its cause. A table dropped
// under a running walk (42P01) wraps store.ErrNotFound. Other server errors
// name a problem with the query or the configuration (permission denied)
// and wrap neither sentinel.
func classify(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	var pe *plainError
	if errors.As(err, &pe) {
		return pe.error
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if transientSQLStates[pgErr.Code] || (len(pgErr.Code) == 5 && transientSQLStates[pgErr.Code[:2]]) {
			return fmt.Errorf("%s: %w: %s (SQLSTATE %s)", what, store.ErrUnavailable, pgErr.Message, pgErr.Code)
		}
		if pgErr.Code == "42P01" {
			return fmt.Errorf("%s: %w: %s", what, store.ErrNotFound, pgErr.Message)
		}
		return fmt.Errorf("%s: %s (SQLSTATE %s)", what, oneLine(pgErr.Message), pgErr.Code)
	}
	// Anything else is the network or the connection: refused, reset,
	// unexpected EOF, dial or TLS timeout, a deadline.
	return fmt.Errorf("%s: %w: %s", what, store.ErrUnavailable, oneLine(err.Error()))
}

// oneLine folds pgx's multi-line connect errors (one line per address
// tried) into one line.
func oneLine(s string) string {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// plainError marks an error the store made itself (a missing table, a
// column of the wrong type): classify returns it as is.
type plainError struct{ error }

func (e *plainError) Unwrap() error { return e.error }

func plain(err error) error { return &plainError{err} }
