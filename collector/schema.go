package collector

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is a compiled JSON Schema that records must satisfy.
type Schema struct {
	s *jsonschema.Schema
}

// LoadSchema compiles the JSON Schema in file. Remote $refs are not
// fetched: the exporter reaches no network but its stores.
func LoadSchema(file string) (*Schema, error) {
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
	if err := c.AddResource(abs, doc); err != nil {
		return nil, fmt.Errorf("schema file %q: %v", file, oneLine(err))
	}
	s, err := c.Compile(abs)
	if err != nil {
		return nil, fmt.Errorf("schema file %q is not a valid JSON Schema: %v", file, oneLine(err))
	}
	return &Schema{s: s}, nil
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

// schemaDetail names the first leaf violation: where in the record, and what.
func schemaDetail(ve *jsonschema.ValidationError) string {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	loc := "/" + strings.Join(ve.InstanceLocation, "/")
	return fmt.Sprintf("at %s: %s", loc, oneLine(ve.ErrorKind.LocalizedString(printer)))
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
