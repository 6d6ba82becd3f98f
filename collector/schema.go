package collector

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is a compiled JSON Schema that records must satisfy.
type Schema struct {
	s *jsonschema.Schema
}

// SchemaFormat says what the schema's `format` keywords do.
type SchemaFormat uint8

const (
	// FormatAssert checks every `format` (date-time, email, uuid, ...) as
	// Ajv with ajv-formats does, whatever the draft; a format the validator
	// does not know is an error when the schema is loaded.
	FormatAssert SchemaFormat = iota
	// FormatAnnotate treats `format` as an annotation only: never checked,
	// any name accepted.
	FormatAnnotate
)

// ParseSchemaFormat parses "assert" or "annotate".
func ParseSchemaFormat(s string) (SchemaFormat, error) {
	switch s {
	case "assert":
		return FormatAssert, nil
	case "annotate":
		return FormatAnnotate, nil
	}
	return 0, fmt.Errorf("unknown schema format mode %q: use assert or annotate", s)
}

// LoadSchema compiles the JSON Schema in file (draft 2020-12 unless its
// $schema names 2019-09, draft-07, draft-06 or draft-04). Remote $refs are
// not fetched: the exporter reaches no network but its stores.
func LoadSchema(file string, format SchemaFormat) (*Schema, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("schema file %q: %w", file, unwrapPathError(err))
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("schema file %q is not valid JSON: %w", file, err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("schema file %q: %w", file, err)
	}
	c := jsonschema.NewCompiler()
	if format == FormatAssert {
		c.AssertFormat()
		for _, name := range formatNames(doc, nil) {
			if !knownFormat(name) {
				return nil, fmt.Errorf("schema file %q uses format %q, which the validator does not know: fix the name, or give --verify.schema-format=annotate to leave formats unchecked", file, name)
			}
		}
	} else {
		// Drafts before 2019-09 always assert format: drop the keyword.
		doc = withoutFormats(doc)
	}
	if err := c.AddResource(abs, doc); err != nil {
		return nil, fmt.Errorf("schema file %q: %v", file, oneLine(err))
	}
	s, err := c.Compile(abs)
	if err != nil {
		return nil, fmt.Errorf("schema file %q is not a valid JSON Schema: %v", file, oneLine(err))
	}
	return &Schema{s: s}, nil
}

// instanceKeywords hold JSON values, not schemas: a "format" member in
// them is data.
var instanceKeywords = map[string]bool{"const": true, "enum": true, "default": true, "examples": true}

// formatNames appends the names used by "format" keywords in a schema
// document, in order of appearance, each once.
func formatNames(v any, names []string) []string {
	switch t := v.(type) {
	case map[string]any:
		if name, ok := t["format"].(string); ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if !instanceKeywords[k] {
				names = formatNames(t[k], names)
			}
		}
	case []any:
		for _, e := range t {
			names = formatNames(e, names)
		}
	}
	return names
}

// withoutFormats returns a copy of a schema document without its "format"
// keywords.
func withoutFormats(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			switch {
			case instanceKeywords[k]:
				out[k] = e
			case k == "format":
				if _, isStr := e.(string); !isStr {
					out[k] = withoutFormats(e) // a property named "format"
				}
			default:
				out[k] = withoutFormats(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = withoutFormats(e)
		}
		return out
	}
	return v
}

// knownFormat reports whether the validator asserts this format name.
func knownFormat(name string) bool {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("probe.json", map[string]any{"format": name}); err != nil {
		return false
	}
	s, err := c.Compile("probe.json")
	return err == nil && s.Format != nil
}

// validate checks one record document (already known to be valid JSON).
func (s *Schema) validate(doc []byte) string {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return "cannot decode for schema validation: " + oneLine(err)
	}
	if err := s.s.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return schemaDetail(ve)
		}
		return oneLine(err)
	}
	return ""
}

var printer = message.NewPrinter(language.English)

// maxSchemaDetail bounds a schema failure's detail, in bytes.
const maxSchemaDetail = 300

// schemaDetail names the first leaf violation: where in the record (a JSON
// pointer), which keyword, and what, in at most maxSchemaDetail bytes.
func schemaDetail(ve *jsonschema.ValidationError) string {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	var loc strings.Builder
	for _, tok := range ve.InstanceLocation {
		loc.WriteByte('/')
		loc.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	if loc.Len() == 0 {
		loc.WriteByte('/')
	}
	d := "at " + loc.String() + ": "
	if kw := strings.Join(ve.ErrorKind.KeywordPath(), "/"); kw != "" {
		d += kw + ": "
	}
	d += oneLine(ve.ErrorKind.LocalizedString(printer))
	return truncateUTF8(d, maxSchemaDetail)
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary, marking the cut.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// oneLine folds an error's text onto one line.
func oneLine(v any) string {
	var s string
	switch t := v.(type) {
	case error:
		s = t.Error()
	case string:
		s = t
	default:
		s = fmt.Sprint(t)
	}
	return strings.Join(strings.Fields(s), " ")
}
