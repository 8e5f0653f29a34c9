//go:build !linux

package main

// raiseFileLimit is not done off Linux (the Go runtime raises the limit itself on the
// other Unix systems); 0 says the limit is unknown.
func raiseFileLimit() (soft, hard uint64, err error) { return 0, 0, nil }
