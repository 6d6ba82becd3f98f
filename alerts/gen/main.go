// Command gen writes the files generated from the monitoring mixin
// (alerts/mixin): alerts/sigil-integrity.rules.yml,
// deploy/kubernetes/prometheusrule.yaml and dashboards/sigil-integrity.json.
// Run it from the repository root after changing alerts/mixin:
//
//	go run ./alerts/gen
//
// or keep your settings in a file of your own and write your copies:
//
//	go run ./alerts/gen -override my-settings.libsonnet -root /path/to/out
//
// It owns writing those files only; it imports alerts/mixin and nothing
// else of this module.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigil/sigil-integrity-exporter/alerts/mixin"
)

func main() { os.Exit(run()) }

func run() int {
	root := flag.String("root", ".", "the repository root the files are written under")
	override := flag.String("override", "", "a jsonnet file holding an object merged into the mixin, e.g. { _config+:: { exporterSelector: 'job=\"sigil\"' } }")
	flag.Parse()
	var extra string
	if *override != "" {
		b, err := os.ReadFile(*override)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			return 1
		}
		extra = string(b)
	}
	files, err := mixin.GenerateWith(extra)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		return 1
	}
	for _, p := range mixin.Paths(files) {
		path := filepath.Join(*root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			return 1
		}
		if err := os.WriteFile(path, files[p], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			return 1
		}
		fmt.Println("wrote", path)
	}
	return 0
}
