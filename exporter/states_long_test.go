//go:build states

package main

// statesDefault under -tags states (make test-states): the long run.
const statesDefault = 500
