package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
)

func TestYourActivityShowsHelpDeskActions(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	if r := e.login(t, c, "smithj0001", goodPassword); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	var acct *milogin.Account
	staff := &milogin.Account{ID: "staff-1", Portal: milogin.Staff, UserID: "helen@michigan.gov", FirstName: "Helen", LastName: "Desk", Status: milogin.StatusActive}
	if err := e.store.Write(t.Context(), func(tx milogin.Tx) (err error) {
		if acct, err = tx.Accounts().GetByUserID(t.Context(), milogin.ThirdParty, "smithj0001"); err != nil {
			return err
		}
		if err := tx.Accounts().Create(t.Context(), staff); err != nil {
			return err
		}
		return tx.Audit().Append(t.Context(), &milogin.AuditEvent{Time: e.clk.Now(), Type: milogin.EventUnlock, Portal: milogin.ThirdParty,
			ActorID: staff.ID, SubjectID: acct.ID, IP: "10.0.0.9", Reason: "Caller verified by user ID and email"})
	}); err != nil {
		t.Fatal(err)
	}
	r := do(t, c, http.MethodGet, e.srv.URL+"/thirdparty/activity", nil)
	if r.status != http.StatusOK {
		t.Fatalf("activity: %d", r.status)
	}
	for _, want := range []string{"Your Activity", "Signed in", "Account unlocked", "Help desk: Helen Desk", "Caller verified by user ID and email", `href="/thirdparty/activity"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Your Activity lacks %q", want)
		}
	}

	r = do(t, c, http.MethodGet, e.srv.URL+"/thirdparty/activity/download", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %q", r.status, r.header.Get("Content-Disposition"))
	}
	if strings.Contains(r.body, "argon2") || strings.Contains(r.body, acct.PasswordHash) {
		t.Fatal("the download contains the password hash")
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"account", "recovery", "second_factors", "applications", "sessions", "activity", "messages"} {
		if _, ok := d[k]; !ok {
			t.Errorf("download lacks %q", k)
		}
	}
	if !strings.Contains(string(d["account"]), "john.smith@example.org") || !strings.Contains(string(d["activity"]), "Helen Desk") {
		t.Errorf("download: %s", r.body)
	}

	// Signed out, neither page shows anything.
	for _, p := range []string{"/thirdparty/activity", "/thirdparty/activity/download"} {
		if r := do(t, e.client(t), http.MethodGet, e.srv.URL+p, nil); r.status != http.StatusSeeOther {
			t.Errorf("%s signed out: %d, want the sign-in redirect", p, r.status)
		}
	}
}

func TestHelpDeskResetLink(t *testing.T) {
	e := newEnv(t, false)
	var acct *milogin.Account
	token, id := authn.NewToken()
	now := e.clk.Now()
	if err := e.store.Write(t.Context(), func(tx milogin.Tx) (err error) {
		if acct, err = tx.Accounts().GetByUserID(t.Context(), milogin.ThirdParty, "smithj0001"); err != nil {
			return err
		}
		st, _ := json.Marshal(milogin.PasswordReset{UserID: acct.UserID, Method: "helpdesk", Verified: true})
		return tx.Flows().Create(t.Context(), &milogin.Flow{ID: id, Kind: milogin.FlowResetPassword, Portal: milogin.ThirdParty, Subject: acct.ID,
			State: st, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	if r := do(t, c, http.MethodGet, e.srv.URL+"/thirdparty/forgot-password/link?t=nonsense", nil); r.status != http.StatusGone {
		t.Fatalf("a made-up link: %d, want 410", r.status)
	}
	if r := do(t, c, http.MethodGet, e.srv.URL+"/citizen/forgot-password/link?t="+url.QueryEscape(token), nil); r.status != http.StatusGone {
		t.Fatalf("the link in another portal: %d, want 410", r.status)
	}
	r := do(t, c, http.MethodGet, e.srv.URL+"/thirdparty/forgot-password/link?t="+url.QueryEscape(token), nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/thirdparty/forgot-password/new-password" {
		t.Fatalf("link: %d %s", r.status, r.header.Get("Location"))
	}
	const next = "Lansing!River2027"
	r = do(t, c, http.MethodPost, e.srv.URL+"/thirdparty/forgot-password/new-password", url.Values{"new_password": {next}, "confirm_password": {next}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("new password: %d\n%s", r.status, r.body)
	}
	if r := e.login(t, e.client(t), "smithj0001", next); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", r.status)
	}
	// The link worked once.
	if r := do(t, e.client(t), http.MethodGet, e.srv.URL+"/thirdparty/forgot-password/link?t="+url.QueryEscape(token), nil); r.status != http.StatusGone {
		t.Fatalf("the link a second time: %d, want 410", r.status)
	}
}
