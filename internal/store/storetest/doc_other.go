//go:build !unix

// Package storetest gives tests real databases; it starts throwaway PostgreSQL clusters
// as another user, which needs a Unix system, so elsewhere it is empty.
package storetest
