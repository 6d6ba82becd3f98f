package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

const schemaRecordsPath = "../../testdata/schema/records.json"

// schemaRecords is testdata/schema/records.json, written by
// testdata/node/gen-schema-records.js on real Node.
type schemaRecords struct {
	HMACKey string         `json:"hmac_key"`
	Records []schemaRecord `json:"records"`
	Starter []schemaRecord `json:"starter"`
}

type schemaRecord struct {
	Key, Format, Stored string
	Valid               bool
}

func loadSchemaRecords(t *testing.T) schemaRecords {
	t.Helper()
	b := testutil.ReadFile(t, schemaRecordsPath)
	var f schemaRecords
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Records) < 20 || len(f.Starter) == 0 {
		t.Fatalf("only %d records in %s", len(f.Records), schemaRecordsPath)
	}
	return f
}

// schemaVerifier builds a js-mode verifier with the records' HMAC key and
// the schema text written to a file.
func schemaVerifier(t *testing.T, key, schemaText string, mode SchemaFormat) *Verifier {
	t.Helper()
	path := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(path, []byte(schemaText), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSchema(path, mode)
	if err != nil {
		t.Fatal(err)
	}
	return mustVerifier(t, VerifierConfig{Canonical: canonical.JS, Keys: []SigningKey{{file: "k", material: []byte(key)}}, Schema: s})
}

// TestSchemaFormats: each format's valid and invalid values, in Node-written
// signed records, against a 2020-12 and a draft-07 schema: asserted by
// default (an invalid value fails `schema` naming the member and the
// keyword), never checked with FormatAnnotate.
func TestSchemaFormats(t *testing.T) {
	f := loadSchemaRecords(t)
	drafts := map[string]string{
		"2020-12":  "https://json-schema.org/draft/2020-12/schema",
		"2019-09":  "https://json-schema.org/draft/2019-09/schema",
		"draft-07": "http://json-schema.org/draft-07/schema#",
	}
	for draft, uri := range drafts {
		for _, mode := range []SchemaFormat{FormatAssert, FormatAnnotate} {
			formats := map[string]bool{}
			for _, r := range f.Records {
				if formats[r.Format] {
					continue
				}
				formats[r.Format] = true
				schema := `{"$schema":"` + uri + `","type":"object","properties":{"v":{"format":"` + r.Format + `"}}}`
				v := schemaVerifier(t, f.HMACKey, schema, mode)
				s := v.NewScratch()
				for _, rec := range f.Records {
					if rec.Format != r.Format {
						continue
					}
					o := v.Verify(store.Record{Key: []byte(rec.Key), Value: []byte(rec.Stored)}, s)
					want := ""
					if !rec.Valid && mode == FormatAssert {
						want = CheckSchema
					}
					if o.Check != want {
						t.Errorf("%s mode=%d %s: check %q (%s), want %q", draft, mode, rec.Key, o.Check, o.Detail, want)
						continue
					}
					if want == CheckSchema && (!strings.HasPrefix(o.Detail, "at /v: format: ") || !strings.Contains(o.Detail, r.Format)) {
						t.Errorf("%s %s: detail %q does not name /v, format and %s", draft, rec.Key, o.Detail, r.Format)
					}
				}
			}
			if len(formats) < 10 {
				t.Fatalf("only %d formats", len(formats))
			}
		}
	}
}

// TestSchemaStarterCreatedAt: issue 15's record, createdAt "yesterday",
// fails the starter schema with a detail naming /createdAt and format;
// annotate turns that off; the good records pass either way.
func TestSchemaStarterCreatedAt(t *testing.T) {
	f := loadSchemaRecords(t)
	text := testutil.ReadFile(t, "../../deploy/schema/sigil-record.schema.json")
	for _, mode := range []SchemaFormat{FormatAssert, FormatAnnotate} {
		v := schemaVerifier(t, f.HMACKey, string(text), mode)
		s := v.NewScratch()
		for _, r := range f.Starter {
			o := v.Verify(store.Record{Key: []byte(r.Key), Value: []byte(r.Stored)}, s)
			if r.Valid || mode == FormatAnnotate {
				if !o.OK() {
					t.Errorf("mode %d %s: %s %s", mode, r.Key, o.Check, o.Detail)
				}
				continue
			}
			if o.Check != CheckSchema || !strings.Contains(o.Detail, "/createdAt") || !strings.Contains(o.Detail, "format") {
				t.Errorf("%s: check %q detail %q, want schema naming /createdAt and format", r.Key, o.Check, o.Detail)
			}
		}
	}
}

// TestSchemaUnknownFormat: an unknown format is an error naming it when
// formats are asserted (also in a draft-07 schema and nested), and
// accepted as an annotation.
func TestSchemaUnknownFormat(t *testing.T) {
	for _, schema := range []string{
		`{"properties":{"v":{"type":"string","format":"date-tme"}}}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"d":{"items":[{"format":"date-tme"}]}}}`,
	} {
		path := filepath.Join(t.TempDir(), "s.json")
		if err := os.WriteFile(path, []byte(schema), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadSchema(path, FormatAssert)
		if err == nil || !strings.Contains(err.Error(), `"date-tme"`) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming \"date-tme\"", schema, err)
		}
		if _, err := LoadSchema(path, FormatAnnotate); err != nil {
			t.Errorf("annotate: %v", err)
		}
	}
	// "format" as data or as a property name is not a format keyword.
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, []byte(`{"properties":{"format":{"const":{"format":"nope"}}},"default":{"format":"x"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSchema(path, FormatAssert); err != nil {
		t.Errorf("format as data: %v", err)
	}
}

// TestSchemaDetailBounded: a long failing value does not make a long detail.
func TestSchemaDetailBounded(t *testing.T) {
	f := loadSchemaRecords(t)
	v := schemaVerifier(t, f.HMACKey, `{"properties":{"createdAt":{"format":"date-time"}}}`, FormatAssert)
	var r schemaRecord
	for _, s := range f.Starter {
		if !s.Valid {
			r = s
		}
	}
	long := strings.Replace(r.Stored, `"yesterday"`, `"`+strings.Repeat("é", 2000)+`"`, 1)
	o := v.Verify(store.Record{Key: []byte(r.Key), Value: []byte(long)}, v.NewScratch())
	if o.Check != CheckSchema || len(o.Detail) > maxSchemaDetail || !strings.HasPrefix(o.Detail, "at /createdAt: format: ") {
		t.Errorf("check %q detail (%d bytes) %.80q", o.Check, len(o.Detail), o.Detail)
	}
}

// TestSchemaRecordsUpToDate reruns testdata/node/gen-schema-records.js and
// compares its output with the committed file. Without node it skips,
// except in CI (CI=true), where it fails.
//
// To regenerate: node testdata/node/gen-schema-records.js > testdata/schema/records.json
func TestSchemaRecordsUpToDate(t *testing.T) {
	node := testutil.Tool(t, "Node.js 20 or later: CI checks that testdata/schema/records.json is up to date", "node")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "node", "gen-schema-records.js"))
	cmd.Dir = testutil.Root(t)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gen-schema-records.js: %v\n%s", err, stderr.Bytes())
	}
	committed := testutil.ReadFile(t, schemaRecordsPath)
	if !bytes.Equal(committed, stdout.Bytes()) {
		t.Fatalf("%s is out of date; regenerate with:\n  node testdata/node/gen-schema-records.js > testdata/schema/records.json", schemaRecordsPath)
	}
}
