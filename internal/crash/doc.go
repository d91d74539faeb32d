// Package crash holds the crash harness (crash_test.go): it runs the real
// `milogin serve` binary, drives sign-ups, password changes, grants and the
// outbox through HTTP, kills the process with SIGKILL at random moments,
// restarts it, and checks afterwards that every invariant of a durable
// identity store held: no half-created account, every change with its audit
// event, every queued message delivered at least once (duplicates counted
// and bounded).
//
// A short run (a few kills per engine) is part of the normal test suite.
// The long run is
//
//	MILOGIN_CRASH_KILLS=200 go test -count=1 -timeout 60m -run TestCrash -v ./internal/crash/
//
// with MILOGIN_TEST_POSTGRES set for the PostgreSQL half. The package has no
// code outside its tests.
package crash
