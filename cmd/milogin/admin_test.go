package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestAdminCommands(t *testing.T) {
	data := t.TempDir()
	out, err := cli(t, data, "admin", "bootstrap", "--email", "Ann.Admin@michigan.gov", "--name", "Ann Admin", "--base-url", "https://milogin.example.gov")
	if err != nil || !strings.Contains(out, "roles: security") || !strings.Contains(out, "https://milogin.example.gov/admin/enrol?t=") {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	if _, err := cli(t, data, "admin", "bootstrap", "--email", "other@michigan.gov", "--name", "Other One"); err == nil {
		t.Fatal("a second bootstrap succeeded")
	}
	var ue usageError
	if _, err := cli(t, data, "admin", "add", "--email", "g@michigan.gov", "--name", "Gus Grant", "--role", "appadmin"); !errors.As(err, &ue) {
		t.Fatalf("appadmin without --app: %v, want a usage error", err)
	}
	if _, err := cli(t, data, "admin", "add", "--email", "g@michigan.gov", "--name", "Gus Grant", "--role", "root"); !errors.As(err, &ue) {
		t.Fatalf("unknown role: %v, want a usage error", err)
	}
	if _, err := cli(t, data, "admin", "add", "--email", "g@michigan.gov", "--name", "Gus Grant", "--role", "appadmin", "--app", "nope"); err == nil {
		t.Fatal("an appadmin of an unknown application was added")
	}
	out, err = cli(t, data, "admin", "add", "--email", "ann.admin@michigan.gov", "--name", "Ann Admin", "--role", "helpdesk", "--json")
	var res struct {
		Roles   string `json:"roles"`
		Created bool   `json:"created"`
		Link    string `json:"enrolment_link"`
	}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Roles != "helpdesk, security" || res.Created || res.Link == "" {
		t.Fatalf("add a role to a staff member not yet enrolled: %v\n%s", err, out)
	}

	out, err = cli(t, data, "audit", "export", "--since", "2000-01-01", "--format", "jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first["type"] != "staff.created" || first["subject_user_id"] != "ann.admin@michigan.gov" {
		t.Fatalf("export:\n%s", out)
	}
	if out2, _ := cli(t, data, "audit", "export", "--since", "2000-01-01", "--portal", "citizen", "--format", "jsonl"); strings.TrimSpace(out2) != "" {
		t.Fatalf("citizen export holds staff events:\n%s", out2)
	}
	for _, args := range [][]string{
		{"audit", "export", "--since", "2000-01-01"},
		{"audit", "export", "--format", "jsonl"},
		{"audit", "export", "--since", "yesterday", "--format", "jsonl"},
		{"audit", "export", "--since", "2000-01-01", "--portal", "mars", "--format", "jsonl"},
	} {
		if _, err := cli(t, data, args...); !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
