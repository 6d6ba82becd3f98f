// Command sigil-integrity-exporter verifies every sigil record in the app's
// LevelDB or PostgreSQL store, paces itself to one full pass a night, and
// exposes what it found as Prometheus metrics and archived reports.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
