package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// setValueExpr picks the SQL that returns the record document's bytes, and
// records a warning when jsonb will have reordered the app's keys.
func (s *Store) setValueExpr(cols []column) error {
	o := s.opts
	if o.RecordColumn == "" {
		// row_to_json keeps a json column's bytes as stored and escapes
		// text columns as JSON strings; jsonb columns come out in jsonb's
		// own key order.
		s.valueExpr = "row_to_json(t)::text"
		var jsonb []string
		for _, c := range cols {
			if strings.HasPrefix(c.typ, "jsonb") {
				jsonb = append(jsonb, c.name)
			}
		}
		if len(jsonb) > 0 {
			where := fmt.Sprintf("column %s of %s is", jsonb[0], o.Table)
			if len(jsonb) > 1 {
				where = fmt.Sprintf("columns %s of %s are", strings.Join(jsonb, ", "), o.Table)
			}
			s.warnings = append(s.warnings, jsonbWarning(where))
		}
		return nil
	}
	c, ok := findColumn(cols, o.RecordColumn)
	if !ok {
		return plain(fmt.Errorf("postgres table %q has no record column %q: set --store.postgres.record-column, or leave it empty to read whole rows: %w", o.Table, o.RecordColumn, store.ErrNotFound))
	}
	col := "t." + pgx.Identifier{c.name}.Sanitize()
	switch c.typ {
	case "json", "text", "character varying":
		s.valueExpr = col + "::text"
	case "jsonb":
		s.valueExpr = col + "::text"
		s.warnings = append(s.warnings, jsonbWarning(fmt.Sprintf("record column %s of %s is", c.name, o.Table)))
	case "bytea":
		s.valueExpr = col
	default:
		return plain(fmt.Errorf("postgres record column %q of %q has type %s: want json, jsonb, text, varchar or bytea", c.name, o.Table, c.typ))
	}
	return nil
}

func jsonbWarning(where string) string {
	return "postgres: " + where + " jsonb, which reorders object keys and drops duplicate keys, " +
		"so js-mode checksums and signatures may not reproduce the app's bytes: " +
		"run with --verify.canonical=jcs, or store records in a json or text column"
}
