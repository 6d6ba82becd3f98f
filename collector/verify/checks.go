// Package collector verifies sigil records, paces the walk over a store,
// keeps its progress, and exposes what it found as Prometheus metrics and
// reports. It knows nothing about LevelDB or SQL: records come through the
// store.Store interface.
//
// It owns the checks, the verifier (signing keys, schema), the ordered
// walk, the runner (passes, progress, re-checks, missing records), the
// cross-store comparison and the Prometheus collector. It must not import
// goleveldb, pgx or database/sql, store/leveldb or store/postgres, nor
// exporter/; .golangci.yml's depguard rules enforce it.
package verify

// The check names, in the order the checks run. They are stable: metric
// label values and report fields.
const (
	CheckRead      = "read"
	CheckDecode    = "decode"
	CheckFields    = "fields"
	CheckKey       = "key"
	CheckDuplicate = "duplicate"
	CheckChecksum  = "checksum"
	CheckSignature = "signature"
	CheckSchema    = "schema"
	CheckMissing   = "missing"
)

// Checks lists every check name in order.
var Checks = []string{
	CheckRead, CheckDecode, CheckFields, CheckKey, CheckDuplicate,
	CheckChecksum, CheckSignature, CheckSchema, CheckMissing,
}

// CheckIndex maps a check name to its position in Checks.
func CheckIndex(name string) int {
	for i, c := range Checks {
		if c == name {
			return i
		}
	}
	return -1
}
