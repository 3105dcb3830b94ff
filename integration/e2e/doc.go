// Package e2e holds the end-to-end tests: they run the real binaries against
// the real local cluster (integration/cluster) that `make test-e2e` starts.
// They skip unless ARGOLITE_E2E=1, so `go test ./...` stays offline.
package e2e
