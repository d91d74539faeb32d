package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/access"
)

// addPerson creates smithj0001 with the CLI.
func addPerson(t *testing.T, data string) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), []string{"milogin", "users", "add", "--data", data, "--portal", "thirdparty", "--user-id", "smithj0001",
		"--first", "John", "--last", "Smith", "--email", "john.smith@example.org", "--work-phone", "517-555-0100", "--password-stdin"},
		noEnv, strings.NewReader("Mitten!State26\n"), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
}

func openEnv(t *testing.T, data string) *env {
	t.Helper()
	e, err := (&common{data: data}).open(context.Background(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	return e
}

func TestAccessCommands(t *testing.T) {
	data := t.TempDir()
	if _, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "grants", "--name", "Grant Reporting",
		"--redirect-uri", "https://grants.example.gov/callback", "--approval", "approval", "--contact", "the Grants Office"); err != nil {
		t.Fatal(err)
	}
	addPerson(t, data)
	e := openEnv(t, data)
	ctx := context.Background()
	var acct *milogin.Account
	e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		acct, err = tx.Accounts().GetByUserID(ctx, milogin.ThirdParty, "smithj0001")
		return err
	})
	if _, err := access.New(e.store).Request(ctx, acct, "grants", access.Actor{ID: acct.ID}); err != nil {
		t.Fatal(err)
	}

	out, err := cli(t, data, "access", "list", "--app", "grants", "--status", "pending")
	if err != nil || !strings.Contains(out, "smithj0001") || !strings.Contains(out, "pending") || !strings.Contains(out, "USER ID") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = cli(t, data, "access", "approve", "--portal", "thirdparty", "--app", "grants", "--user-id", "SmithJ0001")
	if err != nil || !strings.Contains(out, "smithj0001 access to grants: granted (email queued to john.smith@example.org)") {
		t.Fatalf("approve: %v %q", err, out)
	}
	var ms []*milogin.Message
	e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(ctx, milogin.MessageFilter{})
		return err
	})
	if len(ms) != 2 || !strings.Contains(ms[0].Text, "Your request for access to Grant Reporting has been approved") {
		t.Fatalf("emails: %d %+v", len(ms), ms)
	}
	// Nothing pending any more: approve and deny fail; grant changes nothing.
	if _, err := cli(t, data, "access", "deny", "--app", "grants", "--user-id", "smithj0001"); err == nil || isUsage(err) {
		t.Errorf("deny without a pending request: %v", err)
	}
	if out, err := cli(t, data, "access", "grant", "--app", "grants", "--user-id", "smithj0001"); err != nil || !strings.Contains(out, "no change") {
		t.Errorf("grant again: %v %q", err, out)
	}
	out, err = cli(t, data, "access", "revoke", "--app", "grants", "--user-id", "smithj0001", "--reason", "Left the agency")
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %v %q", err, out)
	}
	out, err = cli(t, data, "access", "list", "--app", "grants", "--json")
	var rows []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0]["status"] != "revoked" ||
		rows[0]["reason"] != "Left the agency" || !strings.HasPrefix(rows[0]["decided_by"].(string), "cli") {
		t.Fatalf("list --json: %v %s", err, out)
	}
	var evs []*milogin.AuditEvent
	e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(ctx, milogin.AuditFilter{Type: milogin.EventAccessRevoked})
		return err
	})
	if len(evs) != 1 || !strings.HasPrefix(evs[0].ActorID, "cli") {
		t.Errorf("audit: %+v", evs)
	}

	for _, args := range [][]string{
		{"access"},
		{"access", "nope"},
		{"access", "approve", "--app", "grants"},
		{"access", "approve", "--user-id", "x"},
		{"access", "list"},
		{"access", "list", "--app", "grants", "--status", "weird"},
		{"access", "grant", "--portal", "mars", "--app", "grants", "--user-id", "x"},
	} {
		if _, err := cli(t, data, args...); !isUsage(err) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, err := cli(t, data, "access", "grant", "--app", "grants", "--user-id", "nobody0000"); err == nil || isUsage(err) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := cli(t, data, "access", "list", "--app", "nope"); err == nil {
		t.Error("unknown app listed")
	}
}

// The served binary mounts the provisioning API: an application registered
// with `apps add` grants access with its client credentials.
func TestServeMountsProvisioning(t *testing.T) {
	data := t.TempDir()
	out, err := cli(t, data, "apps", "add", "--portal", "thirdparty", "--id", "osmis", "--name", "OSMIS",
		"--redirect-uri", "https://osmis.example.gov/callback", "--approval", "provisioned", "--mfa", "daily", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var creds map[string]string
	json.Unmarshal([]byte(out), &creds)
	addPerson(t, data)
	base := startServe(t, data)
	call := func(method, path string, basic bool) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, nil)
		if basic {
			req.SetBasicAuth(creds["client_id"], creds["client_secret"])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	if status, m := call("GET", "/thirdparty/api/v1/users?login_id=smithj0001", false); status != http.StatusUnauthorized || m["code"] != "unauthorized" {
		t.Errorf("anonymous: %d %v", status, m)
	}
	if status, m := call("PUT", "/thirdparty/api/v1/apps/osmis/grants/smithj0001", true); status != http.StatusOK || m["status"] != "granted" {
		t.Fatalf("grant: %d %v", status, m)
	}
	if status, m := call("GET", "/thirdparty/scim/v2/Users", true); status != http.StatusOK || m["totalResults"] != float64(1) {
		t.Errorf("SCIM: %d %v", status, m)
	}
	// The pages are still served.
	if status, _ := call("GET", "/healthz", false); status != http.StatusOK {
		t.Errorf("healthz: %d", status)
	}
}
