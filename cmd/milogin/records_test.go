package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordsImportAndStats(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "cards.csv")
	csv := "card_number,first_name,middle_name,last_name,suffix,date_of_birth,status\n" +
		"S123456789012,Mary,Ann,Smith-Jones,,1980-02-29,valid\n" +
		"D123456789013,John,,Doe,,1975-07-04,suspended\n" +
		"X12,Bad,,Card,,1975-07-04,valid\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"milogin", "records", "import", file, "--data", data}, noEnv, strings.NewReader(""), &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "1 row(s) rejected") {
		t.Fatalf("import err = %v, want the reject counted; stderr %s", err, errs.String())
	}
	for _, want := range []string{"line 4: rejected: card_number \"X12\"", "loaded 2, updated 0, unchanged 0, rejected 1 (3 lines)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	_ = run(t.Context(), []string{"milogin", "records", "import", "--data", data, file}, noEnv, strings.NewReader(""), &out, &errs)
	if !strings.Contains(out.String(), "loaded 0, updated 0, unchanged 2, rejected 1") {
		t.Errorf("second import:\n%s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"milogin", "records", "stats", "--data", data}, noEnv, strings.NewReader(""), &out, &errs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"valid      1", "suspended  1", "expired    0", "total      2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stats lack %q:\n%s", want, out.String())
		}
	}
	if err := run(t.Context(), []string{"milogin", "records", "import", "--data", data}, noEnv, strings.NewReader(""), &out, &errs); err == nil {
		t.Error("import without a file succeeded")
	}
}

// State employees are provisioned: users add creates a workforce account,
// and the workforce portal offers no sign-up.
func TestUsersAddWorkforce(t *testing.T) {
	data := t.TempDir()
	var out, errs bytes.Buffer
	err := run(t.Context(), []string{"milogin", "users", "add", "--data", data, "--portal", "workforce", "--user-id", "doej",
		"--first", "Jane", "--last", "Doe", "--email", "doej@michigan.gov", "--work-phone", "517-555-0100", "--password-stdin"},
		noEnv, strings.NewReader("Correct-Horse-42\n"), &out, &errs)
	if err != nil {
		t.Fatalf("users add: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "created workforce account doej") {
		t.Errorf("output: %s", out.String())
	}
}
