package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/records"
)

// citizenEnv is the access env (the home page needs the catalog) with card
// records and a citizen service.
func newCitizenEnv(t *testing.T) *accessEnv {
	t.Helper()
	e := newAccessEnv(t)
	err := e.store.Write(t.Context(), func(tx milogin.Tx) error {
		for _, r := range []milogin.CardRecord{
			{Number: "S123456789012", FirstName: "Mary", MiddleName: "Ann", LastName: "Smith-Jones", DateOfBirth: "1980-02-29", Status: milogin.CardValid},
			{Number: "D123456789013", FirstName: "John", LastName: "Doe", DateOfBirth: "1975-07-04", Status: milogin.CardSuspended},
		} {
			if _, err := tx.Records().Put(t.Context(), &r); err != nil {
				return err
			}
		}
		return tx.Apps().Create(t.Context(), &milogin.Application{ID: "sos", Name: "Secretary of State Online Services",
			Category: "Driver and Vehicle", Portals: []milogin.PortalID{milogin.Citizen}, LaunchURL: "https://sos.example/",
			Approval: milogin.ApprovalOpen, MFA: milogin.MFANone})
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// citizenToVerify runs citizen sign-up in c up to the verification page.
func (e *accessEnv) citizenToVerify(t *testing.T, c *http.Client, first, last, userID, email string) {
	t.Helper()
	base := e.srv.URL + "/citizen/signup"
	r := do(t, c, "GET", base, nil)
	for _, want := range []string{"Create Your Account", "Middle Name", "Phone Number (optional)", "entering both"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("profile page lacks %q", want)
		}
	}
	r = do(t, c, "POST", base, url.Values{"first_name": {first}, "middle_name": {"Ann"}, "last_name": {last},
		"email": {email}, "confirm_email": {email}})
	if r.header.Get("Location") != "/citizen/signup/security" {
		t.Fatalf("profile: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	r = do(t, c, "GET", base+"/security", nil)
	for _, want := range []string{"Username Guidelines:", "Password Guidelines:", `class="guidelines"`, "Email: " + email, ">Create Account<"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("security page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "opt_mobile") || strings.Contains(r.body, "Security Question") {
		t.Error("security page offers recovery methods that were not entered")
	}
	// A username that is too short is named; the password is not kept.
	r = do(t, c, "POST", base+"/security", url.Values{"user_id": {"mary"}, "password": {goodPassword}, "confirm_password": {goodPassword}, "opt_email": {"on"}})
	wantField(t, r.body, "user_id", "Username must be 6 to 64 characters: letters (A-Z, a-z), numbers (0-9) and . _ - @ only, with no spaces.")
	if strings.Contains(r.body, goodPassword) {
		t.Error("the password was re-displayed")
	}
	r = do(t, c, "POST", base+"/security", url.Values{"user_id": {userID}, "password": {goodPassword}, "confirm_password": {goodPassword}, "opt_email": {"on"}})
	if r.header.Get("Location") != "/citizen/signup/pin" {
		t.Fatalf("security: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	// No account before verification, and verification waits for the PIN.
	if r := do(t, c, "GET", base+"/verify", nil); r.header.Get("Location") != "/citizen/signup/pin" {
		t.Errorf("verify before the PIN: %d %s", r.status, r.header.Get("Location"))
	}
	r = do(t, c, "POST", base+"/pin", url.Values{"pin": {e.lastPIN(t, email)}})
	if r.header.Get("Location") != "/citizen/signup/verify" {
		t.Fatalf("pin: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
}

func TestCitizenSignupPages(t *testing.T) {
	e := newCitizenEnv(t)
	c := e.client(t)
	e.citizenToVerify(t, c, "Mary", "Smith-Jones", "mary.sj@home", "mary@example.org")
	verify := e.srv.URL + "/citizen/signup/verify"
	r := do(t, c, "GET", verify, nil)
	for _, want := range []string{"Identity Verification", "Is your vehicle registered in the name of a business or organization?",
		">Yes<", ">No<", `value="Smith-Jones"`, "Driver's License or State ID Number", ">Confirm<"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("verify page lacks %q", want)
		}
	}
	// Every field is checked and the input kept.
	r = do(t, c, "POST", verify, url.Values{"verify_first_name": {"Mary"}, "verify_last_name": {"Smith Jones"}, "card_number": {"12345"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("bad form: %d", r.status)
	}
	wantField(t, r.body, "business_vehicle", authn.MsgVehicleQuestion)
	wantField(t, r.body, "card_number", records.MsgCardFormat)
	if !strings.Contains(r.body, `value="12345"`) || !strings.Contains(r.body, `value="Smith Jones"`) {
		t.Error("input not kept")
	}
	// A wrong card number: the 'incorrect' message, no account.
	r = do(t, c, "POST", verify, url.Values{"business_vehicle": {"no"}, "verify_first_name": {"Mary"}, "verify_last_name": {"Smith Jones"}, "card_number": {"S 999 456 789 012"}})
	if !strings.Contains(r.body, "incorrect") || !strings.Contains(r.body, "with and without the hyphens") {
		t.Errorf("wrong card: %d\n%s", r.status, r.body)
	}
	// Right, with the hyphen left out: signed in, on the home page.
	r = do(t, c, "POST", verify, url.Values{"business_vehicle": {"no"}, "verify_first_name": {"Mary"}, "verify_last_name": {"Smith Jones"}, "card_number": {"123456789012"}})
	if r.header.Get("Location") != "/citizen/home" {
		t.Fatalf("verified: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	home := do(t, c, "GET", e.srv.URL+"/citizen/home", nil)
	for _, want := range []string{"Home Page of Mary Smith-Jones", "Your password will expire in", "Driver and Vehicle",
		`<a href="https://sos.example/">Secretary of State Online Services</a>`, ">UPDATE PROFILE<", ">LOGOUT<"} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	// Update Profile: no work phone on the citizen portal, and it saves
	// without one.
	up := do(t, c, "GET", e.srv.URL+"/citizen/update-profile", nil)
	if strings.Contains(up.body, `name="work_phone"`) || strings.Contains(up.body, "MWA Administrator") || !strings.Contains(up.body, `name="mobile"`) {
		t.Errorf("citizen Update Profile:\n%s", up.body)
	}
	r = do(t, c, "POST", e.srv.URL+"/citizen/update-profile", url.Values{"first_name": {"Mary"}, "last_name": {"Smith-Jones"},
		"email": {"mary@example.org"}, "confirm_email": {"mary@example.org"}, "suffix": {"Jr."}})
	if r.status != http.StatusSeeOther {
		t.Errorf("update profile: %d\n%s", r.status, r.body)
	}

	// A second sign-up with the same card.
	c2 := e.client(t)
	e.citizenToVerify(t, c2, "Mary", "Smith-Jones", "mary.second", "mary2@example.org")
	r = do(t, c2, "POST", verify, url.Values{"business_vehicle": {"no"}, "verify_first_name": {"Mary Ann"}, "verify_last_name": {"Smith-Jones"}, "card_number": {"S123456789012"}})
	if !strings.Contains(r.body, "Forgot your User ID?") || !strings.Contains(r.body, "888-767-6424") {
		t.Errorf("second account: %d\n%s", r.status, r.body)
	}
	// A suspended card.
	c3 := e.client(t)
	e.citizenToVerify(t, c3, "John", "Doe", "john.doe", "john@example.org")
	r = do(t, c3, "POST", verify, url.Values{"business_vehicle": {"no"}, "verify_first_name": {"John"}, "verify_last_name": {"Doe"}, "card_number": {"D123456789013"}})
	if !strings.Contains(r.body, "Please visit a Secretary of State office.") {
		t.Errorf("suspended: %d\n%s", r.status, r.body)
	}
	// Yes to the business question is explained.
	r = do(t, c3, "POST", verify, url.Values{"business_vehicle": {"yes"}, "verify_first_name": {"John"}, "verify_last_name": {"Doe"}, "card_number": {"D123456789013"}})
	wantField(t, r.body, "business_vehicle", authn.MsgBusinessVehicle)
}

// The workforce portal is provisioned: no SIGN UP, no sign-up pages.
func TestWorkforceHasNoSignup(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(t)
	login := do(t, c, "GET", e.srv.URL+"/workforce/login", nil)
	if strings.Contains(login.body, ">SIGN UP<") || !strings.Contains(login.body, "Forgot your password?") {
		t.Errorf("workforce login page:\n%s", login.body)
	}
	if !strings.Contains(do(t, c, "GET", e.srv.URL+"/citizen/login", nil).body, ">SIGN UP<") {
		t.Error("citizen login page lacks SIGN UP")
	}
	for _, path := range []string{"/workforce/signup", "/workforce/signup/security", "/workforce/signup/verify", "/thirdparty/signup/verify"} {
		if r := do(t, c, "GET", e.srv.URL+path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, r.status)
		}
	}
	if r := do(t, c, "POST", e.srv.URL+"/workforce/signup", url.Values{"first_name": {"A"}}); r.status != http.StatusNotFound {
		t.Errorf("POST /workforce/signup: %d", r.status)
	}
}

// The self-service pages work on the citizen portal as on the third-party
// one: Forgot your User ID?, Forgot your password? (by email PIN), Change
// Password, Security Options, LOGOUT, and the 30-minute lockout.
func TestCitizenSelfService(t *testing.T) {
	e := newCitizenEnv(t)
	_, err := e.auth.CreateAccount(t.Context(), authn.NewAccount{Portal: milogin.Citizen, UserID: "mary.sj@home", FirstName: "Mary",
		LastName: "Smith-Jones", Email: "mary@example.org", Mobile: "517-555-0142", Password: goodPassword, RecoverByEmail: true}, "test", authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	base := e.srv.URL + "/citizen"

	// Forgot your User ID?
	c := e.client(t)
	p := do(t, c, "GET", base+"/forgot-user-id", nil)
	r := do(t, c, "POST", base+"/forgot-user-id", merge(url.Values{"email": {"mary@example.org"}}, answerQuestion(t, p.body)))
	wantRedirect(t, r, "/citizen/forgot-user-id/done")
	found := false
	for _, m := range e.messages(t) {
		found = found || (m.To == "mary@example.org" && strings.Contains(m.Text, "mary.sj@home"))
	}
	if !found {
		t.Error("no email with the user ID")
	}

	// Forgot your password? by email PIN.
	p = do(t, c, "GET", base+"/forgot-password", nil)
	wantRedirect(t, do(t, c, "POST", base+"/forgot-password", merge(url.Values{"action": {"next"}, "user_id": {"MARY.SJ@HOME"}}, answerQuestion(t, p.body))), "/citizen/forgot-password/options")
	wantRedirect(t, do(t, c, "POST", base+"/forgot-password/options", url.Values{"method": {"email"}}), "/citizen/forgot-password/verify")
	wantRedirect(t, do(t, c, "POST", base+"/forgot-password/verify", url.Values{"pin": {e.lastPIN(t, "mary@example.org")}}), "/citizen/forgot-password/new-password")
	const newPassword = "Great-Lakes-2026"
	wantRedirect(t, do(t, c, "POST", base+"/forgot-password/new-password", url.Values{"new_password": {newPassword}, "confirm_password": {newPassword}}), "/citizen/forgot-password/done")

	// Sign in with it; the signed-in pages answer.
	r = do(t, c, "POST", base+"/login", url.Values{"user_id": {"mary.sj@home"}, "password": {newPassword}})
	wantRedirect(t, r, "/citizen/home")
	for _, path := range []string{"/home", "/update-profile", "/security-options", "/change-password", "/request-access"} {
		if r := do(t, c, "GET", base+path, nil); r.status != http.StatusOK {
			t.Errorf("GET /citizen%s: %d", path, r.status)
		}
	}
	wantRedirect(t, do(t, c, "POST", base+"/change-password", url.Values{"current_password": {newPassword}, "new_password": {"Upper-Peninsula-9"}, "confirm_password": {"Upper-Peninsula-9"}}), "/citizen/change-password/done")
	r = do(t, c, "POST", base+"/logout", url.Values{})
	if r.status != http.StatusSeeOther {
		t.Errorf("LOGOUT: %d", r.status)
	}
	if r := do(t, c, "GET", base+"/home", nil); r.status != http.StatusSeeOther {
		t.Errorf("home after LOGOUT: %d", r.status)
	}

	// Five wrong passwords lock the account for 30 minutes.
	for range 5 {
		do(t, c, "POST", base+"/login", url.Values{"user_id": {"mary.sj@home"}, "password": {"Wrong-Password-1"}})
	}
	r = do(t, c, "POST", base+"/login", url.Values{"user_id": {"mary.sj@home"}, "password": {"Upper-Peninsula-9"}})
	if !strings.Contains(r.body, "30 minutes") {
		t.Errorf("locked sign-in: %d\n%s", r.status, r.body)
	}
}

// The sixth failed verification within the hour waits, with its message.
func TestCitizenVerifyThrottledPage(t *testing.T) {
	e := newCitizenEnv(t)
	c := e.client(t)
	e.citizenToVerify(t, c, "Mary", "Smith-Jones", "mary.sj@home", "mary@example.org")
	verify := e.srv.URL + "/citizen/signup/verify"
	wrong := url.Values{"business_vehicle": {"no"}, "verify_first_name": {"Mary"}, "verify_last_name": {"Smith-Jones"}, "card_number": {"S000000000000"}}
	for i := range authn.VerifyLimit {
		if r := do(t, c, "POST", verify, wrong); r.status != http.StatusBadRequest {
			t.Fatalf("try %d: %d", i+1, r.status)
		}
	}
	wrong.Set("card_number", "S123456789012")
	r := do(t, c, "POST", verify, wrong)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, authn.MsgVerifyThrottled) {
		t.Errorf("sixth try: %d\n%s", r.status, r.body)
	}
}
