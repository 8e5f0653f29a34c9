//go:build race

package ping_test

// raceDetector says the tests run under the race detector (go test -race).
const raceDetector = true
