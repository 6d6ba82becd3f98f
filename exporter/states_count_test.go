//go:build !states

package main

// statesDefault is how many LevelDB states `go test` checks against Node
// (about a minute on two cores); `make test-states` runs 500.
const statesDefault = 32
