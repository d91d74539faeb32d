package authn_test

import (
	"strings"
	"testing"

	"milogin"
	"milogin/internal/authn"
)

func (f *fixture) putCards(t *testing.T, recs ...milogin.CardRecord) {
	t.Helper()
	err := f.store.Write(ctx, func(tx milogin.Tx) error {
		for i := range recs {
			if _, err := tx.Records().Put(ctx, &recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// citizenToVerify runs a citizen sign-up up to identity verification and
// returns its flow token.
func (f *fixture) citizenToVerify(t *testing.T, userID, email string, m authn.Meta) string {
	t.Helper()
	token, err := f.svc.SaveCitizenProfile(ctx, "", authn.CitizenProfileInput{
		FirstName: "Mary", MiddleName: "Ann", LastName: "Smith-Jones", Email: email, ConfirmEmail: email, Phone: "517-555-0199",
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.SubmitSignup(ctx, milogin.Citizen, token, authn.SecuritySetupInput{
		UserID: userID, Password: goodPassword, ConfirmPassword: goodPassword, RecoverByEmail: true, RecoverByMobile: true,
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	// The PIN goes to the email, even with mobile recovery chosen: it
	// proves the address.
	pin := f.lastPIN(t, email)
	if _, err := f.svc.VerifyCitizen(ctx, token, authn.VerifyInput{}, m); !milogin.IsKind(err, milogin.EEXPIRED) {
		t.Fatalf("verification before the PIN: %v, want EEXPIRED", err)
	}
	a, err := f.svc.ConfirmSignup(ctx, milogin.Citizen, token, pin, m)
	if err != nil || a != nil {
		t.Fatalf("ConfirmSignup = %v, %v; want no account yet", a, err)
	}
	if _, err := f.accountByUserID(t, userID); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Fatalf("account exists before verification: %v", err)
	}
	return token
}

func TestCitizenSignup(t *testing.T) {
	f := newFixture(t)
	f.putCards(t,
		milogin.CardRecord{Number: "S123456789012", FirstName: "Mary", MiddleName: "Ann", LastName: "Smith-Jones", DateOfBirth: "1980-02-29", Status: milogin.CardValid},
		milogin.CardRecord{Number: "D123456789013", FirstName: "Mary", LastName: "Smith-Jones", DateOfBirth: "1980-02-29", Status: milogin.CardSuspended},
	)
	token := f.citizenToVerify(t, "mary.sj@home", "mary@example.org", meta)

	// Form mistakes are named beside their fields and are no tries.
	vs := violationsOf(t, func() error {
		_, err := f.svc.VerifyCitizen(ctx, token, authn.VerifyInput{CardNumber: "S12"}, meta)
		return err
	}())
	for _, field := range []string{"business_vehicle", "verify_first_name", "verify_last_name", "card_number"} {
		if vs[field] == "" {
			t.Errorf("no violation for %s: %v", field, vs)
		}
	}
	good := authn.VerifyInput{BusinessVehicle: "no", FirstName: "Mary", LastName: "Smith Jones", CardNumber: "123 456 789 012"}
	// A wrong card number and a wrong name get the same message.
	for _, in := range []authn.VerifyInput{
		{BusinessVehicle: "no", FirstName: "Mary", LastName: "Smith Jones", CardNumber: "S 999 456 789 012"},
		{BusinessVehicle: "no", FirstName: "Ann", LastName: "Smith Jones", CardNumber: "S123456789012"},
	} {
		_, err := f.svc.VerifyCitizen(ctx, token, in, meta)
		if !milogin.IsKind(err, milogin.EINVALID) || milogin.ErrorMessage(err) != authn.MsgVerifyIncorrect {
			t.Errorf("VerifyCitizen(%+v) = %v", in, err)
		}
	}
	// A suspended card.
	_, err := f.svc.VerifyCitizen(ctx, token, authn.VerifyInput{BusinessVehicle: "no", FirstName: "Mary", LastName: "Smith-Jones", CardNumber: "D-123-456-789-013"}, meta)
	if milogin.ErrorMessage(err) != authn.MsgCardNotValid {
		t.Errorf("suspended card: %v", err)
	}
	// Verified with the hyphen left out and the letter left out.
	res, err := f.svc.VerifyCitizen(ctx, token, good, meta)
	if err != nil {
		t.Fatal(err)
	}
	if res.Token == "" || res.Account.UserID != "mary.sj@home" || res.Account.Mobile != "517-555-0199" || !res.Account.EmailVerified || res.Account.MiddleInitial != "A" {
		t.Errorf("account %+v", res.Account)
	}
	if _, _, err := f.svc.Authenticate(ctx, milogin.Citizen, res.Token); err != nil {
		t.Errorf("the new session does not authenticate: %v", err)
	}
	if ms := f.messagesTo(t, "mary@example.org"); len(ms) == 0 || ms[0].Subject != "Account Creation Confirmed" {
		t.Errorf("no Account Creation Confirmed email: %+v", ms)
	}

	// A second sign-up with the same card is told to recover the account,
	// and the owner hears about it.
	token2 := f.citizenToVerify(t, "mary.second", "mary2@example.org", authn.Meta{IP: "192.0.2.99"})
	_, err = f.svc.VerifyCitizen(ctx, token2, good, authn.Meta{IP: "192.0.2.99"})
	if milogin.ErrorMessage(err) != authn.MsgCardInUse {
		t.Errorf("second account on the card: %v", err)
	}
	ms := f.messagesTo(t, "mary@example.org")
	if len(ms) == 0 || !strings.Contains(ms[0].Subject, "tried to create") {
		t.Errorf("owner not told: %+v", ms)
	}
	if _, err := f.accountByUserID(t, "mary.second"); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Errorf("second account created: %v", err)
	}

	// Every try was audited.
	var evs []*milogin.AuditEvent
	_ = f.store.Read(ctx, func(tx milogin.Tx) (err error) {
		evs, err = tx.Audit().List(ctx, milogin.AuditFilter{Type: milogin.EventCitizenVerifyFailed})
		return err
	})
	if len(evs) != 4 {
		t.Errorf("%d failed tries audited, want 4", len(evs))
	}
}

func TestCitizenVerifyThrottle(t *testing.T) {
	f := newFixture(t)
	f.putCards(t, milogin.CardRecord{Number: "L123456789012", FirstName: "Ann", LastName: "Lee", DateOfBirth: "1990-01-01", Status: milogin.CardValid})
	token := f.citizenToVerify(t, "ann.lee", "ann@example.org", meta)
	bad := authn.VerifyInput{BusinessVehicle: "no", FirstName: "Ann", LastName: "Lee", CardNumber: "L000000000000"}
	for i := range authn.VerifyLimit {
		if _, err := f.svc.VerifyCitizen(ctx, token, bad, meta); milogin.ErrorMessage(err) != authn.MsgVerifyIncorrect {
			t.Fatalf("try %d: %v", i+1, err)
		}
	}
	// The sixth, even the right one, waits.
	good := bad
	good.CardNumber = "L123456789012"
	if _, err := f.svc.VerifyCitizen(ctx, token, good, meta); !milogin.IsKind(err, milogin.ERATELIMIT) {
		t.Fatalf("sixth try: %v, want ERATELIMIT", err)
	}
	// A new sign-up from the same address waits too (the per-IP count)...
	token2 := f.citizenToVerify(t, "ann.lee2", "ann2@example.org", meta)
	if _, err := f.svc.VerifyCitizen(ctx, token2, good, meta); !milogin.IsKind(err, milogin.ERATELIMIT) {
		t.Fatalf("new sign-up, same IP: %v, want ERATELIMIT", err)
	}
	// ...from elsewhere it does not, and an hour later (the sign-up itself
	// has expired by then: start again) it works from here too.
	token3 := f.citizenToVerify(t, "ann.lee3", "ann3@example.org", authn.Meta{IP: "198.51.100.1"})
	if _, err := f.svc.VerifyCitizen(ctx, token3, bad, authn.Meta{IP: "198.51.100.1"}); milogin.ErrorMessage(err) != authn.MsgVerifyIncorrect {
		t.Fatalf("other IP: %v", err)
	}
	f.clk.Add(authn.VerifyWindow)
	token4 := f.citizenToVerify(t, "ann.lee4", "ann4@example.org", meta)
	if _, err := f.svc.VerifyCitizen(ctx, token4, good, meta); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// The citizen portal's usernames are free-form, 6 to 64 characters.
func TestCitizenUsername(t *testing.T) {
	pol := milogin.DefaultPortals()[0].Policy
	for id, ok := range map[string]bool{"mary.sj@home": true, "abc_12-3": true, "abcde": false, "has space1": false,
		"semi;colon": false, "ünïcode1": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false} {
		if got := len(pol.CheckUserID(id, "", "")) == 0; got != ok {
			t.Errorf("CheckUserID(%q) ok = %v, want %v", id, got, ok)
		}
	}
}
