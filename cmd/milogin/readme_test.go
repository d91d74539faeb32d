package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEInstallsBeforeItUses: nothing puts milogin on the PATH but
// go install (or go build), so the README says so before its first
// `milogin …` command, and shows go run ./cmd/milogin as the way without.
func TestREADMEInstallsBeforeItUses(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	// A command line in a code block that runs the installed binary.
	use := regexp.MustCompile(`(?m)^(?:[^\n#]*\|\s*)?milogin [a-z]`)
	first := use.FindStringIndex(readme)
	if first == nil {
		t.Fatal("the README shows no milogin command")
	}
	install := strings.Index(readme, "go install ./cmd/milogin")
	if install < 0 || install > first[0] {
		t.Errorf("the README uses %q before it says go install ./cmd/milogin", strings.TrimSpace(readme[first[0]:first[1]+20]))
	}
	if !strings.Contains(readme, "go run ./cmd/milogin ") {
		t.Error("the README does not show go run ./cmd/milogin")
	}
}
