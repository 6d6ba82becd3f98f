package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// walkKind is how the table is walked.
type walkKind int

const (
	// walkIndex: keyset pages in the order of an existing btree index on
	// the key column, in the key's own type and the index's collation.
	// Every page is an index range scan.
	walkIndex walkKind = iota
	// walkBlocks: no usable index; pages are ranges of heap blocks read
	// with TID range scans (PostgreSQL 14+), in physical order.
	walkBlocks
	// walkSorted: no index and no ctid (a view, a partitioned table
	// without an index): ORDER BY the key's text in C order. Every page
	// sorts; the only case that does.
	walkSorted
)

// plan is what introspect decided about the walk.
type plan struct {
	kind     walkKind
	index    string // the index walked (walkIndex), as regclass text
	keyType  string // the key column's base type: "text", "bigint", "uuid", ...
	typeSQL  string // the key column's declared type as SQL, for casts
	keyCol   string // t."id"
	keyText  string // the key as text, as reports show it
	keyOrder string // the key in walk order: ORDER BY and keyset comparisons
	keyParam string // how a text parameter ($n) becomes a key: "$n::text" or "CAST($n::text AS bigint)"
	order    store.Order
	bytewise bool // the collation orders text bytewise (C, POSIX)
}

// param is p.keyParam for parameter n.
func (p plan) param(n int) string {
	return fmt.Sprintf(p.keyParam, n)
}

// isTextType reports whether a base type is compared as text.
func isTextType(typ string) bool {
	return typ == "text" || typ == "character varying" || typ == "character" || typ == "name"
}

func isIntType(typ string) bool {
	return typ == "smallint" || typ == "integer" || typ == "bigint"
}

// validKey reports whether key can be a value of the key column: a text
// that does not parse as the column's type (a LevelDB key looked up in an
// integer table) is simply absent, not an SQL error.
func (p plan) validKey(key []byte) bool {
	switch {
	case isIntType(p.keyType):
		_, err := strconv.ParseInt(string(key), 10, 64)
		return err == nil
	case p.keyType == "uuid":
		return len(key) == 36 && bytes.Count(key, []byte("-")) == 4
	}
	return true
}

// compare orders two keys' texts: numerically for integers, bytewise
// otherwise (which is the walk's order for C-collated text and uuid).
func (p plan) compare(a, b []byte) int {
	if isIntType(p.keyType) {
		x, errA := strconv.ParseInt(string(a), 10, 64)
		y, errB := strconv.ParseInt(string(b), 10, 64)
		if errA == nil && errB == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	return bytes.Compare(a, b)
}

// walkIndexInfo is the best btree index on the key column.
type walkIndexInfo struct {
	name      string
	unique    bool   // unique on the key column alone
	collation string // quoted collation name when it differs from the column's, else ""
	bytewise  bool
}

// findWalkIndex picks the index whose order the walk follows: a valid,
// non-partial btree index whose first column is the key column itself with
// the type's default operator class; the primary key first, then a unique
// index on the key alone, then any other. found is false when there is none.
func findWalkIndex(ctx context.Context, tx pgx.Tx, relid uint32, col string) (walkIndexInfo, bool, error) {
	var w walkIndexInfo
	var collOID, attColl uint32
	var collName *string
	err := tx.QueryRow(ctx, `
SELECT i.indexrelid::regclass::text,
       i.indisunique AND i.indnkeyatts = 1,
       i.indcollation[0]::oid, a.attcollation::oid,
       (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname)
          FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
         WHERE co.oid = i.indcollation[0])
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
JOIN pg_opclass oc ON oc.oid = i.indclass[0]
WHERE i.indrelid = $1 AND a.attname = $2 AND am.amname = 'btree'
  AND i.indpred IS NULL AND i.indexprs IS NULL
  AND i.indisvalid AND i.indisready AND i.indislive AND oc.opcdefault
ORDER BY i.indisprimary DESC, (i.indisunique AND i.indnkeyatts = 1) DESC, i.indnkeyatts, ic.relname
LIMIT 1`, relid, col).Scan(&w.name, &w.unique, &collOID, &attColl, &collName)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, false, nil
	}
	if err != nil {
		return w, false, err
	}
	if collOID != 0 && collOID != attColl && collName != nil {
		w.collation = *collName
	}
	if collOID != 0 {
		if w.bytewise, err = isBytewise(ctx, tx, collOID); err != nil {
			return w, false, err
		}
	}
	return w, true, nil
}

// choosePlan works out the walk for the key column.
func choosePlan(ctx context.Context, tx pgx.Tx, relid uint32, relkind string, key column) (plan, walkIndexInfo, error) {
	col := "t." + pgx.Identifier{key.name}.Sanitize()
	p := plan{keyType: key.typ, typeSQL: key.typeSQL, keyCol: col, keyText: col + "::text", keyParam: "CAST($%d::text AS " + key.typeSQL + ")"}
	if isTextType(key.typ) {
		p.keyParam = "$%d::text"
	}
	w, found, err := findWalkIndex(ctx, tx, relid, key.name)
	if err != nil {
		return p, w, err
	}
	switch {
	case found:
		p.kind, p.index, p.keyOrder = walkIndex, w.name, col
		if w.collation != "" {
			p.keyOrder = col + " COLLATE " + w.collation
		}
		p.bytewise = w.bytewise
		switch {
		case isTextType(key.typ) && w.bytewise, key.typ == "uuid":
			p.order = store.Bytewise
		default:
			p.order = store.Grouped
		}
	case relkind == "r" || relkind == "m":
		p.kind, p.order, p.keyOrder = walkBlocks, store.Unordered, col
	default:
		p.kind, p.order = walkSorted, store.Bytewise
		p.keyOrder = "(" + col + `::text) COLLATE "C"`
		p.keyParam = "$%d::text"
	}
	return p, w, nil
}

// describe is one line for the startup log: what the walk reads in.
func (p plan) describe(table string) string {
	switch p.kind {
	case walkIndex:
		return fmt.Sprintf("postgres: walking %s in the order of index %s (key type %s, %s order)", table, p.index, p.keyType, p.order)
	case walkBlocks:
		return fmt.Sprintf("postgres: %s has no btree index on the key column: walking it in physical order by block ranges (TID range scans); duplicate ids are found after each pass", table)
	default:
		return fmt.Sprintf("postgres: %s has no index on the key column and no ctid (a view or partitioned table): every page sorts the rows; give it an index on the key column", table)
	}
}
