package access_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

type fixture struct {
	store milogin.Store
	svc   *access.Service
	now   time.Time
	acct  *milogin.Account
	kicks int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, now: time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)}
	f.svc = access.New(store)
	f.svc.Now = func() time.Time { return f.now }
	f.svc.Kick = func() { f.kicks++ }
	f.acct = &milogin.Account{ID: "acct-1", Portal: milogin.ThirdParty, UserID: "smithj0001", FirstName: "John", LastName: "Smith",
		Email: "john.smith@example.org", Status: milogin.StatusActive, CreatedAt: f.now}
	apps := []*milogin.Application{
		{ID: "osmis", Name: "One-Stop Management Information System (OSMIS)", Category: "Administration",
			Portals: []milogin.PortalID{milogin.ThirdParty}, Approval: milogin.ApprovalProvisioned, MFA: milogin.MFADaily,
			TermsVersion: 1, TermsText: "Official use only.", Contact: "the MWA Administrator"},
		{ID: "grants", Name: "Grant Reporting", Category: "Finance", Portals: []milogin.PortalID{milogin.ThirdParty},
			Approval: milogin.ApprovalRequired, MFA: milogin.MFANone, Contact: "the Grants Office"},
		{ID: "cars", Name: "CARS e-Services", Category: "Business Services", Portals: []milogin.PortalID{milogin.ThirdParty, milogin.Citizen},
			Approval: milogin.ApprovalOpen, MFA: milogin.MFANone, TermsVersion: 2, TermsText: "Access Terms & Conditions"},
		{ID: "payroll", Name: "Payroll", Category: "Administration", Portals: []milogin.PortalID{milogin.Workforce},
			Approval: milogin.ApprovalOpen},
	}
	err = store.Write(t.Context(), func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(t.Context(), f.acct); err != nil {
			return err
		}
		for _, a := range apps {
			// Each has a home-page entry; "grants" through third-party
			// initiated login.
			if a.ID == "grants" {
				a.Client.InitiateLoginURI = "https://grants.example.gov/oidc/initiate"
			} else {
				a.LaunchURL = "https://" + a.ID + ".example.gov/"
			}
			if err := tx.Apps().Create(t.Context(), a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) outbox(t *testing.T) []*milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	err := f.store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(t.Context(), milogin.MessageFilter{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (f *fixture) events(t *testing.T, typ string) []*milogin.AuditEvent {
	t.Helper()
	var evs []*milogin.AuditEvent
	err := f.store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(t.Context(), milogin.AuditFilter{Type: typ})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (f *fixture) homeApps(t *testing.T) []string {
	t.Helper()
	groups, err := f.svc.Home(t.Context(), f.acct)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range groups {
		for _, a := range g.Apps {
			out = append(out, g.Category+"/"+a.ID)
		}
	}
	return out
}

func wantKind(t *testing.T, err error, k milogin.Kind) {
	t.Helper()
	if !milogin.IsKind(err, k) {
		t.Fatalf("err = %v, want kind %s", err, k)
	}
}

var me = access.Actor{ID: "acct-1"}

func TestRequestApproveEmailsAndHomeLink(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, err := f.svc.Request(ctx, f.acct, "grants", me)
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != milogin.GrantPending {
		t.Fatalf("status %s", g.Status)
	}
	_, err = f.svc.Request(ctx, f.acct, "grants", me)
	wantKind(t, err, milogin.ECONFLICT)
	if len(f.homeApps(t)) != 0 {
		t.Fatal("pending request shows on the home page")
	}
	ms := f.outbox(t)
	if len(ms) != 1 || !strings.Contains(ms[0].Text, "Your request for access to Grant Reporting has been received") || ms[0].To != f.acct.Email {
		t.Fatalf("request email: %+v", ms)
	}

	res, err := f.svc.Approve(ctx, "grants", f.acct.ID, "", access.Actor{ID: "cli"})
	if err != nil || !res.Changed || res.Grant.Status != milogin.GrantActive || res.Grant.DecidedBy != "cli" {
		t.Fatalf("approve: %+v %v", res, err)
	}
	if !res.Grant.RequestedAt.Equal(f.now) {
		t.Errorf("requested at lost: %v", res.Grant.RequestedAt)
	}
	ms = f.outbox(t)
	body := ms[0].Text
	for _, want := range []string{"Hello John Smith,",
		"Your request for access to Grant Reporting has been approved and the Grant Reporting link will be available on the home page the next time you log in",
		"MILogin Team"} {
		if !strings.Contains(body, want) {
			t.Errorf("granted email lacks %q:\n%s", want, body)
		}
	}
	if got := f.homeApps(t); len(got) != 1 || got[0] != "Finance/grants" {
		t.Errorf("home = %v", got)
	}
	// Approving twice: nothing pending.
	_, err = f.svc.Approve(ctx, "grants", f.acct.ID, "", access.Actor{ID: "cli"})
	wantKind(t, err, milogin.ECONFLICT)
	if n := len(f.events(t, milogin.EventAccessGranted)); n != 1 {
		t.Errorf("granted events = %d", n)
	}
	if n := len(f.events(t, milogin.EventAccessRequested)); n != 1 {
		t.Errorf("requested events = %d", n)
	}
	if f.kicks != 2 {
		t.Errorf("worker kicked %d times, want 2", f.kicks)
	}
}

func TestDenyThenRequestAgain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Request(ctx, f.acct, "grants", me); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Deny(ctx, "grants", f.acct.ID, "Not an MWA staff member.", access.Actor{ID: "cli"})
	if err != nil || res.Grant.Status != milogin.GrantDenied {
		t.Fatalf("deny: %+v %v", res, err)
	}
	body := f.outbox(t)[0].Text
	for _, want := range []string{"Your request for access to Grant Reporting has been denied.", "Reason: Not an MWA staff member.",
		"Contact the Grants Office for access denied errors."} {
		if !strings.Contains(body, want) {
			t.Errorf("denied email lacks %q:\n%s", want, body)
		}
	}
	ev := f.events(t, milogin.EventAccessDenied)
	if len(ev) != 1 || ev[0].ActorID != "cli" || ev[0].Detail["reason"] != "Not an MWA staff member." {
		t.Errorf("audit: %+v", ev)
	}
	if _, err := f.svc.Request(ctx, f.acct, "grants", me); err != nil {
		t.Errorf("request after a denial: %v", err)
	}
}

func TestGrantRevokeIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := access.Actor{ID: "app:osmis"}
	res, err := f.svc.Grant(ctx, "osmis", f.acct.ID, "", app)
	if err != nil || !res.Changed {
		t.Fatalf("grant: %+v %v", res, err)
	}
	res, err = f.svc.Grant(ctx, "osmis", f.acct.ID, "", app)
	if err != nil || res.Changed {
		t.Fatalf("second grant changed something: %+v %v", res, err)
	}
	if n := len(f.outbox(t)); n != 1 {
		t.Fatalf("emails after two grants = %d, want 1", n)
	}
	if got := f.homeApps(t); len(got) != 1 || got[0] != "Administration/osmis" {
		t.Errorf("home = %v", got)
	}
	res, err = f.svc.Revoke(ctx, "osmis", f.acct.ID, "Status set to INACTIVE.", app)
	if err != nil || !res.Changed || res.Grant.Status != milogin.GrantRevoked {
		t.Fatalf("revoke: %+v %v", res, err)
	}
	if got := f.homeApps(t); len(got) != 0 {
		t.Errorf("home after revoke = %v", got)
	}
	ms := f.outbox(t)
	if len(ms) != 2 || !strings.Contains(ms[0].Text, "Your access to One-Stop Management Information System (OSMIS) has been revoked") {
		t.Fatalf("revoked email: %+v", ms[0])
	}
	res, err = f.svc.Revoke(ctx, "osmis", f.acct.ID, "", app)
	if err != nil || res.Changed {
		t.Fatalf("second revoke: %+v %v", res, err)
	}
	if n := len(f.outbox(t)); n != 2 {
		t.Errorf("emails after second revoke = %d", n)
	}
	// An application of another portal cannot be granted to this account.
	_, err = f.svc.Grant(ctx, "payroll", f.acct.ID, "", app)
	wantKind(t, err, milogin.EINVALID)
	_, err = f.svc.Grant(ctx, "nope", f.acct.ID, "", app)
	wantKind(t, err, milogin.ENOTFOUND)
	_, err = f.svc.Grant(ctx, "osmis", "nobody", "", app)
	wantKind(t, err, milogin.ENOTFOUND)
	_, err = f.svc.Grant(ctx, "osmis", f.acct.ID, strings.Repeat("x", 501), app)
	wantKind(t, err, milogin.EINVALID)
}

func TestRequestByModel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.Request(ctx, f.acct, "cars", me)
	wantKind(t, err, milogin.EINVALID)
	_, err = f.svc.Request(ctx, f.acct, "osmis", me)
	wantKind(t, err, milogin.EFORBIDDEN)
	if !strings.Contains(milogin.ErrorMessage(err), "Contact the MWA Administrator") {
		t.Errorf("message %q", milogin.ErrorMessage(err))
	}
	_, err = f.svc.Request(ctx, f.acct, "payroll", me) // another portal's
	wantKind(t, err, milogin.ENOTFOUND)
	if n := len(f.outbox(t)); n != 0 {
		t.Errorf("%d emails for refused requests", n)
	}
}

func TestAgreeEnrolsOpenApplication(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.Agree(ctx, f.acct, "cars", 1, me) // stale version
	wantKind(t, err, milogin.ECONFLICT)
	g, err := f.svc.Agree(ctx, f.acct, "cars", 2, me)
	if err != nil || g.Status != milogin.GrantActive || g.DecidedBy != "self" {
		t.Fatalf("agree: %+v %v", g, err)
	}
	li, err := f.svc.Launch(ctx, "cars", f.acct.ID)
	if err != nil || li.Terms == nil || li.Terms.Version != 2 {
		t.Fatalf("terms not recorded: %+v %v", li, err)
	}
	if got := f.homeApps(t); len(got) != 1 || got[0] != "Business Services/cars" {
		t.Errorf("home = %v", got)
	}
	if len(f.events(t, milogin.EventTermsAccepted)) != 1 || len(f.events(t, milogin.EventAccessGranted)) != 1 {
		t.Error("audit events missing")
	}
	// Agreeing to a provisioned application's terms records them only.
	g, err = f.svc.Agree(ctx, f.acct, "osmis", 1, me)
	if err != nil || g != nil {
		t.Fatalf("agree to osmis: %+v %v", g, err)
	}
	// After a revocation, self-enrolment is refused.
	if _, err := f.svc.Revoke(ctx, "cars", f.acct.ID, "", access.Actor{ID: "cli"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Agree(ctx, f.acct, "cars", 2, me)
	wantKind(t, err, milogin.EFORBIDDEN)
}

func TestCatalogListsTheOthers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Grant(ctx, "osmis", f.acct.ID, "", access.Actor{ID: "app:osmis"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Request(ctx, f.acct, "grants", me); err != nil {
		t.Fatal(err)
	}
	es, err := f.svc.Catalog(ctx, f.acct)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.App.ID+":"+string(e.Status))
	}
	want := "cars:Not requested grants:Pending approval"
	if strings.Join(got, " ") != want {
		t.Errorf("catalog = %v, want %s", got, want)
	}
}

// TestHomeListsOnlyLaunchableEntries: an application without a launch URL
// or an initiate_login_uri gets no home-page entry; one with an
// initiate_login_uri links there with iss and login_hint (OpenID Connect
// Core 1.0 §4).
func TestHomeListsOnlyLaunchableEntries(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"osmis", "grants"} {
		if _, err := f.svc.Grant(t.Context(), id, f.acct.ID, "", access.Actor{ID: "cli"}); err != nil {
			t.Fatal(err)
		}
	}
	err := f.store.Write(t.Context(), func(tx milogin.Tx) error {
		_, err := tx.Apps().Update(t.Context(), "osmis", func(a *milogin.Application) error { a.LaunchURL = ""; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := f.svc.Home(t.Context(), f.acct)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		for _, a := range g.Apps {
			names = append(names, a.ID)
			if got, want := a.HomeURL("https://id.example.gov/thirdparty", "smithj0001"),
				"https://grants.example.gov/oidc/initiate?iss=https%3A%2F%2Fid.example.gov%2Fthirdparty&login_hint=smithj0001"; a.ID == "grants" && got != want {
				t.Errorf("grants' home link %q, want %q", got, want)
			}
		}
	}
	if len(names) != 1 || names[0] != "grants" {
		t.Errorf("home lists %v, want only grants (osmis has no way to launch)", names)
	}
}
