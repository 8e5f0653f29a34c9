//go:build !linux

// Package pingtest simulates ICMP echo targets for the engines' tests. It needs Linux
// (network namespaces), so elsewhere it is empty.
package pingtest
