// Package mixin evaluates the sigil-integrity monitoring mixin (the
// jsonnet files beside this one) with go-jsonnet and returns the files
// the repository ships from it: the Prometheus rules, the Kubernetes
// PrometheusRule and the Grafana dashboard. `go run ./alerts/gen` writes
// them; a test in alerts/ checks the committed ones are byte for byte what
// it returns.
//
// It owns the evaluation of the mixin only: it imports go-jsonnet, a YAML
// encoder and the standard library, nothing of this module.
package mixin

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/google/go-jsonnet"
	"go.yaml.in/yaml/v3"
)

//go:embed *.libsonnet
var sources embed.FS

// Generate returns the generated files, by path from the repository root.
func Generate() (map[string][]byte, error) { return GenerateWith("") }

// GenerateWith is Generate with overrides: a jsonnet object merged into
// the mixin, such as `{ _config+:: { exporterSelector: 'job="sigil"' } }`.
// Empty means none.
func GenerateWith(overrides string) (map[string][]byte, error) {
	files := map[string]jsonnet.Contents{}
	err := fs.WalkDir(sources, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := sources.ReadFile(path)
		if err != nil {
			return err
		}
		files[path] = jsonnet.MakeContentsRaw(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.MemoryImporter{Data: files})
	main := "(import 'generate.libsonnet')(import 'mixin.libsonnet')"
	if strings.TrimSpace(overrides) != "" {
		main = "(import 'generate.libsonnet')((import 'mixin.libsonnet') + (\n" + overrides + "\n))"
	}
	out, err := vm.EvaluateAnonymousSnippet("generate.jsonnet", main)
	if err != nil {
		return nil, fmt.Errorf("evaluate the mixin: %w", err)
	}
	var generated map[string]struct {
		Header string `json:"header"`
		YAML   any    `json:"yaml"`
		Text   string `json:"text"`
	}
	if err := json.Unmarshal([]byte(out), &generated); err != nil {
		return nil, fmt.Errorf("decode the mixin's output: %w", err)
	}
	res := make(map[string][]byte, len(generated))
	for path, g := range generated {
		if g.YAML == nil {
			res[path] = []byte(g.Text)
			continue
		}
		// yaml.v3 writes map keys sorted, plain scalars where it can,
		// multi-line expressions as literal blocks and long lines unfolded:
		// stable and readable.
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(g.YAML); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		res[path] = append([]byte(g.Header), b.Bytes()...)
	}
	return res, nil
}

// Paths returns the generated files' paths, sorted.
func Paths(files map[string][]byte) []string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}
