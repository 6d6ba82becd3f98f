// Command sigil-integrity-exporter verifies every sigil record in the app's
// LevelDB or PostgreSQL store, paces itself to one full pass a night, and
// exposes what it found as Prometheus metrics and archived reports.
//
// Package main wires the libraries: it alone parses flags (kingpin,
// exporter-toolkit, promslog), reads environment variables, handles
// signals and exits, and it maps the libraries' field-named errors
// (internal/fielderr) to flag names. No other package imports it.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
