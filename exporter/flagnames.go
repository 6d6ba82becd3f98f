package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"
)

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
