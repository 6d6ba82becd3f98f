// Package verify decides whether one record is valid: the checks (names
// and order, see README "What is checked"), the verifier (fields, key,
// canonical checksum, HMAC signature, JSON Schema), the signing keys and
// the schema loader. It sees one record at a time and keeps no state
// between records; the walk, the duplicate and missing-record checks that
// need the store's order live in collector.
//
// It must not import collector (the walk engine imports it), goleveldb,
// pgx, database/sql, store/leveldb, store/postgres nor exporter/;
// .golangci.yml's depguard rules enforce it.
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
