package access_test

import (
	"slices"
	"testing"
	"time"

	"milogin"
	"milogin/internal/access"
)

func detroit(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Detroit")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at is a wall-clock time in Detroit, returned in UTC as the server keeps it.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, detroit(t))
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func catalogApp(approval milogin.ApprovalModel, mfa milogin.MFAPolicy, terms int) *milogin.Application {
	return &milogin.Application{ID: "osmis", Name: "OSMIS", Portals: []milogin.PortalID{milogin.ThirdParty},
		Approval: approval, MFA: mfa, TermsVersion: terms, TermsText: "Terms", Contact: "the MWA Administrator"}
}

func TestSameDayInDetroit(t *testing.T) {
	loc := detroit(t)
	tests := []struct {
		name string
		a, b string // Detroit wall clock
		want bool
	}{
		{"same morning", "2026-03-02 08:00", "2026-03-02 11:59", true},
		{"one minute either side of midnight", "2026-03-02 23:59", "2026-03-03 00:00", false},
		{"midnight to last minute", "2026-03-03 00:00", "2026-03-03 23:59", true},
		// 8 p.m. EST is 01:00 UTC the next day: a UTC calendar would say
		// "another day" and ask again; the state's calendar does not.
		{"evening across UTC midnight", "2026-01-15 18:00", "2026-01-15 21:30", true},
		// Spring forward (2026-03-08 02:00 EST → 03:00 EDT): 23 hours long.
		{"spring-forward day, both sides of the gap", "2026-03-08 00:30", "2026-03-08 23:30", true},
		{"spring-forward night", "2026-03-07 23:30", "2026-03-08 03:30", false},
		// Fall back (2026-11-01 02:00 EDT → 01:00 EST): 25 hours long.
		{"fall-back day, 25 hours", "2026-11-01 00:05", "2026-11-01 23:55", true},
		{"fall-back eve", "2026-10-31 23:55", "2026-11-01 00:05", false},
		{"a year apart", "2025-06-01 09:00", "2026-06-01 09:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := access.SameDay(at(t, tt.a), at(t, tt.b), loc); got != tt.want {
				t.Errorf("SameDay(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
	// The repeated hour of fall-back: 01:30 EDT and 01:30 EST are the same day.
	first := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)  // 01:30 EDT
	second := time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC) // 01:30 EST
	if !access.SameDay(first, second, loc) {
		t.Error("the repeated 01:30 of fall-back counted as two days")
	}
	// Another zone can be configured: in Chicago 23:30 Detroit is 22:30,
	// still the same day as 00:30 Detroit+1 (23:30 Chicago).
	chicago, _ := time.LoadLocation("America/Chicago")
	if !access.SameDay(at(t, "2026-05-05 23:30"), at(t, "2026-05-06 00:30"), chicago) {
		t.Error("configured time zone ignored")
	}
	// nil means the state's time zone.
	if access.SameDay(at(t, "2026-05-05 23:59"), at(t, "2026-05-06 00:01"), nil) {
		t.Error("nil location is not America/Detroit")
	}
}

func TestNeedsMFA(t *testing.T) {
	loc := detroit(t)
	now := at(t, "2026-03-08 09:00") // the spring-forward morning
	ev := func(s string) *milogin.MFAEvent {
		return &milogin.MFAEvent{AccountID: "a", AppID: "osmis", Method: milogin.MFAMethodEmail, At: at(t, s)}
	}
	req := &milogin.LoginRequest{ID: "lr"}
	forced := &milogin.LoginRequest{ID: "lr", ForceMFA: true}
	marked := &milogin.LoginRequest{ID: "lr", SessionID: "s1", AMR: []string{"pwd", "mfa", "otp"}}
	markedOther := &milogin.LoginRequest{ID: "lr", SessionID: "s0", AMR: []string{"pwd", "mfa", "otp"}}
	tests := []struct {
		name   string
		policy milogin.MFAPolicy
		req    *milogin.LoginRequest
		last   *milogin.MFAEvent
		want   bool
	}{
		{"none", milogin.MFANone, req, nil, false},
		{"none, empty policy", "", req, nil, false},
		{"none but the request asks", milogin.MFANone, forced, ev("2026-03-08 08:59"), true},
		{"daily, never", milogin.MFADaily, req, nil, true},
		{"daily, earlier today", milogin.MFADaily, req, ev("2026-03-08 00:01"), false},
		{"daily, before the clocks sprang forward", milogin.MFADaily, req, ev("2026-03-08 01:59"), false},
		{"daily, last night", milogin.MFADaily, req, ev("2026-03-07 23:59"), true},
		{"daily, yesterday at the same hour", milogin.MFADaily, req, ev("2026-03-07 09:00"), true},
		{"daily, done for this request", milogin.MFADaily, marked, nil, false},
		{"daily, forced overrides today", milogin.MFADaily, forced, ev("2026-03-08 08:00"), true},
		{"always, even minutes ago", milogin.MFAAlways, req, ev("2026-03-08 08:59"), true},
		{"always, done for this request", milogin.MFAAlways, marked, ev("2026-03-08 08:59"), false},
		{"always, marked in another session", milogin.MFAAlways, markedOther, ev("2026-03-08 08:59"), true},
		{"unknown policy is always", "sometimes", req, ev("2026-03-08 08:59"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := catalogApp(milogin.ApprovalRequired, tt.policy, 0)
			if got := access.NeedsMFA(app, tt.req, "s1", tt.last, now, loc); got != tt.want {
				t.Errorf("NeedsMFA = %v, want %v", got, tt.want)
			}
		})
	}
}

// A daily-MFA application asks once per calendar day: walk a clock across
// two days and count the prompts.
func TestDailyPromptsOncePerDay(t *testing.T) {
	loc := detroit(t)
	app := catalogApp(milogin.ApprovalProvisioned, milogin.MFADaily, 0)
	var last *milogin.MFAEvent
	prompts := 0
	for _, s := range []string{"2026-11-01 00:30", "2026-11-01 01:30", "2026-11-01 13:00", "2026-11-01 23:59",
		"2026-11-02 00:00", "2026-11-02 08:00", "2026-11-02 17:00"} {
		now := at(t, s)
		if access.NeedsMFA(app, &milogin.LoginRequest{}, "s", last, now, loc) {
			prompts++
			last = &milogin.MFAEvent{Method: milogin.MFAMethodEmail, At: now}
		}
	}
	if prompts != 2 {
		t.Errorf("prompts over two days = %d, want 2", prompts)
	}
}

func TestNeedsTerms(t *testing.T) {
	tests := []struct {
		version int
		ta      *milogin.TermsAcceptance
		want    bool
	}{
		{0, nil, false},
		{1, nil, true},
		{1, &milogin.TermsAcceptance{Version: 1}, false},
		{2, &milogin.TermsAcceptance{Version: 1}, true},
		{2, &milogin.TermsAcceptance{Version: 3}, false},
	}
	for _, tt := range tests {
		app := catalogApp(milogin.ApprovalOpen, milogin.MFANone, tt.version)
		if got := access.NeedsTerms(app, tt.ta); got != tt.want {
			t.Errorf("NeedsTerms(version %d, %+v) = %v, want %v", tt.version, tt.ta, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	loc := detroit(t)
	now := at(t, "2026-06-01 10:00")
	sessStart := at(t, "2026-06-01 09:55")
	active := &milogin.Grant{Status: milogin.GrantActive}
	accepted := &milogin.TermsAcceptance{Version: 1}
	today := &milogin.MFAEvent{Method: milogin.MFAMethodTOTP, At: at(t, "2026-06-01 07:00")}
	thisSession := &milogin.MFAEvent{Method: milogin.MFAMethodWebAuthn, At: at(t, "2026-06-01 09:58")}
	tests := []struct {
		name     string
		approval milogin.ApprovalModel
		mfa      milogin.MFAPolicy
		terms    int
		portal   milogin.PortalID
		grant    *milogin.Grant
		ta       *milogin.TermsAcceptance
		last     *milogin.MFAEvent
		req      *milogin.LoginRequest
		want     access.Step
		enrols   bool
		amr      []string
	}{
		{name: "other portal", approval: milogin.ApprovalOpen, portal: milogin.Citizen, want: access.Denied},
		{name: "open, no grant, terms", approval: milogin.ApprovalOpen, terms: 1, want: access.Terms, enrols: true},
		{name: "open, no grant, no terms", approval: milogin.ApprovalOpen, want: access.Enrol},
		{name: "open, pending (from before the app became open)", approval: milogin.ApprovalOpen, terms: 1,
			grant: &milogin.Grant{Status: milogin.GrantPending}, want: access.Terms, enrols: true},
		{name: "open, revoked", approval: milogin.ApprovalOpen, terms: 1, grant: &milogin.Grant{Status: milogin.GrantRevoked}, want: access.Denied},
		{name: "open, denied", approval: milogin.ApprovalOpen, grant: &milogin.Grant{Status: milogin.GrantDenied}, want: access.Denied},
		{name: "open, enrolled", approval: milogin.ApprovalOpen, terms: 1, grant: active, ta: accepted, want: access.Enter, amr: []string{"pwd"}},
		{name: "open, enrolled, new terms", approval: milogin.ApprovalOpen, terms: 2, grant: active, ta: accepted, want: access.Terms},
		{name: "approval, no grant", approval: milogin.ApprovalRequired, want: access.Denied},
		{name: "approval, pending", approval: milogin.ApprovalRequired, grant: &milogin.Grant{Status: milogin.GrantPending}, want: access.Denied},
		{name: "approval, granted, first launch", approval: milogin.ApprovalRequired, terms: 1, grant: active, want: access.Terms},
		{name: "provisioned, no grant", approval: milogin.ApprovalProvisioned, mfa: milogin.MFADaily, want: access.Denied},
		{name: "provisioned, revoked", approval: milogin.ApprovalProvisioned, grant: &milogin.Grant{Status: milogin.GrantRevoked}, want: access.Denied},
		{name: "provisioned, daily, first today", approval: milogin.ApprovalProvisioned, mfa: milogin.MFADaily, grant: active, want: access.MFA},
		{name: "provisioned, daily, done this morning", approval: milogin.ApprovalProvisioned, mfa: milogin.MFADaily, grant: active, last: today,
			want: access.Enter, amr: []string{"pwd"}},
		{name: "daily, done in this session", approval: milogin.ApprovalProvisioned, mfa: milogin.MFADaily, grant: active, last: thisSession,
			want: access.Enter, amr: []string{"pwd", "mfa", "hwk"}},
		{name: "terms before MFA", approval: milogin.ApprovalProvisioned, mfa: milogin.MFAAlways, terms: 3, grant: active, want: access.Terms},
		{name: "always, marked", approval: milogin.ApprovalRequired, mfa: milogin.MFAAlways, grant: active,
			req: &milogin.LoginRequest{SessionID: "s1", AMR: []string{"pwd", "mfa", "otp"}}, want: access.Enter, amr: []string{"pwd", "mfa", "otp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := catalogApp(tt.approval, tt.mfa, tt.terms)
			portal := tt.portal
			if portal == "" {
				portal = milogin.ThirdParty
			}
			req := tt.req
			if req == nil {
				req = &milogin.LoginRequest{}
			}
			d := access.Decide(access.Input{App: app, Portal: portal, Grant: tt.grant, Terms: tt.ta, LastMFA: tt.last,
				Request: req, SessionID: "s1", SessionStart: sessStart, Now: now, Location: loc})
			if d.Step != tt.want || d.Enrols != tt.enrols {
				t.Fatalf("Decide = %v (enrols %v, %s), want %v (enrols %v)", d.Step, d.Enrols, d.Reason, tt.want, tt.enrols)
			}
			if tt.want == access.Enter && !slices.Equal(d.AMR, tt.amr) {
				t.Errorf("AMR = %v, want %v", d.AMR, tt.amr)
			}
			if d.Reason == "" {
				t.Error("no reason for the audit trail")
			}
		})
	}
}

func TestRequestPageRules(t *testing.T) {
	g := func(s milogin.GrantStatus) *milogin.Grant { return &milogin.Grant{Status: s} }
	tests := []struct {
		approval milogin.ApprovalModel
		grant    *milogin.Grant
		status   access.Status
		can      bool
	}{
		{milogin.ApprovalOpen, nil, access.StatusNone, true},
		{milogin.ApprovalOpen, g(milogin.GrantRevoked), access.StatusRevoked, false},
		{milogin.ApprovalRequired, nil, access.StatusNone, true},
		{milogin.ApprovalRequired, g(milogin.GrantPending), access.StatusPending, false},
		{milogin.ApprovalRequired, g(milogin.GrantDenied), access.StatusDenied, true},
		{milogin.ApprovalRequired, g(milogin.GrantRevoked), access.StatusRevoked, true},
		{milogin.ApprovalRequired, g(milogin.GrantActive), access.StatusGranted, false},
		{milogin.ApprovalProvisioned, nil, access.StatusProvisioned, false},
		{milogin.ApprovalProvisioned, g(milogin.GrantRevoked), access.StatusRevoked, false},
	}
	for _, tt := range tests {
		app := catalogApp(tt.approval, milogin.MFANone, 1)
		if got := access.StatusOf(app, tt.grant); got != tt.status {
			t.Errorf("StatusOf(%s, %+v) = %q, want %q", tt.approval, tt.grant, got, tt.status)
		}
		if got := access.CanRequest(app, tt.grant); got != tt.can {
			t.Errorf("CanRequest(%s, %+v) = %v, want %v", tt.approval, tt.grant, got, tt.can)
		}
	}
}
