package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
)

// fieldFlags maps the settings the libraries name in their errors
// (*fielderr.Error) to the flags that set them.
var fieldFlags = map[string]string{
	"pace.Config.PassDuration": "--scan.pass-duration",
	"pace.Config.MaxRate":      "--scan.max-rate",
	"pace.Config.Tranquility":  "--scan.tranquility",
	"pace.Window":              "--scan.window",
	"collector.Shard":          "--scan.shard",
	"report.MaxFailures":       "--report.max-failures",
	"report.Archive.Retain":    "--report.retain",
	"report.Archive.Dir":       "--report.dir",
}

// flagError names the flag in a library's error about a setting.
func flagError(err error) error { return fielderr.Rename(err, fieldFlags) }

// nameFlagErrors makes every flag's parse error name the flag, so that
// `--scan.pass-duration=soon` says which flag is wrong, not only
// `time: invalid duration "soon"`.
func nameFlagErrors(app *kingpin.Application) {
	for _, f := range app.Model().Flags {
		if f.IsBoolFlag() || f.Name == "help" || f.Name == "version" {
			continue
		}
		n := namedValue{name: f.Name, Value: f.Value}
		if c, ok := f.Value.(interface{ IsCumulative() bool }); ok && c.IsCumulative() {
			app.GetFlag(f.Name).SetValue(&cumulativeValue{n})
		} else {
			app.GetFlag(f.Name).SetValue(&n)
		}
	}
}

type namedValue struct {
	name string
	kingpin.Value
}

func (n *namedValue) Set(s string) error {
	if err := n.Value.Set(s); err != nil {
		return fmt.Errorf("--%s: %w", n.name, err)
	}
	return nil
}

type cumulativeValue struct{ namedValue }

func (cumulativeValue) IsCumulative() bool { return true }
