package e2e

import (
	"strings"
	"testing"
	"time"
)

// The demo people of OSMIS (cmd/milogin demo, apps/osmis demo data).
const (
	leeEmail  = "lee.parker@miworks.example.org"
	tranEmail = "tran.nguyen@miworks.example.org"
)

// TestOSMISJourney is the OSMIS guide walked against `milogin demo`: the MWA
// Administrator signs in to OSMIS through MILogin (terms, emailed
// passcode), creates a staff account for a new MILogin user (the form
// refusing bad input first); MILogin emails that user that access was
// approved; the user signs in to MILogin, clicks One-Stop Management
// Information System (OSMIS), agrees to the terms, enters the emailed
// passcode and sees the dashboard, uses Tasks, the system page and the
// search bar; a second launch the same day asks no passcode; the next
// calendar day (the demo restarted on the same folder with its clock moved
// a day) asks again, and everything is still there. Every page passes
// axe-core.
func TestOSMISJourney(t *testing.T) {
	t.Parallel()
	d := startDemo(t)

	// The old address explains where to sign in now.
	admin := newBrowser(t, d.server)
	admin.visitURL(d.OSMIS + "/")
	admin.find(heading(1, "Please select how you would like to login"), "the old-URL page")
	admin.expectText("Your account has a Third-Party Email", "Your account has a michigan.gov E-mail")
	admin.follow("Click here if your account has a Third-Party Email")
	admin.expectSignInPage()

	// The administrator was granted access by OSMIS's demo data.
	d.waitAccess(t, "parkerl0001", "granted")
	d.Mail.WaitFor(t, mailFor(leeEmail, "Regarding your access to "+osmisLink, ""), 15*time.Second)
	admin.launchOSMIS("parkerl0001", "Lee Parker")
	admin.passTermsAndMFA(d.Mail, leeEmail, 1, true)
	admin.expectDashboard("Lee Parker")
	admin.expectText("2,140 Wagner-Peyser Active", "318 Wagner-Peyser Exited", "521 WIOA Title I Active",
		"42 WIOA Title I Training Activities", "21 WIOA Title I Exited", "0 Tasks")

	// A new staff member made their MILogin account first (the guide's order).
	d.addMILoginUser(t, "riverac0001", "Casey", "Rivera", "casey.rivera@miworks.example.org")

	admin.follow("Staff Account Admin Utility")
	admin.find(heading(1, "Staff Account Admin Utility"), "the admin utility")
	admin.expectText("Lee Parker", "nguyent0001", "No provisioning calls are pending")
	admin.follow("Add a staff account")
	admin.fill("First Name", "first_name", "Casey")
	admin.fill("Last Name", "last_name", "Rivera")
	admin.fill("MILogin ID", "login_id", "riverac0001")
	admin.fill("Email Address", "email", "casey.rivera@gmail.com")
	admin.press("Create staff account")
	admin.expectText("The work email must be in one of the email domains of Capital Area Michigan Works!: miworks.example.org.")
	if v := admin.attr(admin.field("First Name", "first_name"), "value"); v != "Casey" {
		t.Errorf("First Name re-displayed as %q, want Casey", v)
	}
	admin.fill("MILogin ID", "login_id", "nguyent0001")
	admin.fill("Email Address", "email", "casey.rivera@miworks.example.org")
	admin.press("Create staff account")
	admin.expectText("Another staff account already has the MILogin ID nguyent0001.")
	admin.fill("MILogin ID", "login_id", "riverac0001")
	admin.press("Create staff account")
	admin.expectText("Staff account created.", "riverac0001")

	// MILogin tells the new staff member (the guide's "OSMIS Access Granted").
	m := d.Mail.WaitFor(t, mailFor("casey.rivera@miworks.example.org", "Regarding your access to "+osmisLink, ""), 20*time.Second)
	if !strings.Contains(normalize(m.Text), "has been approved and the "+osmisLink+" link will be available on the home page the next time you log in") {
		t.Errorf("access email:\n%s", m.Text)
	}

	staff := newBrowser(t, d.server)
	staff.launchOSMIS("riverac0001", "Casey Rivera")
	staff.passTermsAndMFA(d.Mail, "casey.rivera@miworks.example.org", 1, true)
	staff.expectDashboard("Casey Rivera")
	staff.expectText("2,140 Wagner-Peyser Active", "0 Tasks")
	staff.expectNoText("Staff Account Admin Utility")

	// Tasks: Quick Add (a title is required), mark done, the filters.
	staff.press("Add Task")
	staff.expectText("Enter a title for the task.")
	staff.fill("Title", "title", "Call employer partners")
	staff.choose("Mark as important")
	staff.press("Add Task")
	staff.expectText("Task added.", "1 Task", "Call employer partners")
	staff.fill("Title", "title", "File the monthly report")
	staff.press("Add Task")
	staff.expectText("2 Tasks", "File the monthly report")
	staff.click(`//li[span[@class="title"]=`+xq("File the monthly report")+`]//button[normalize-space(.)="Mark done"]`, "Mark done of the monthly report")
	staff.expectText("Task updated.", "Completed")
	staff.choose("Hide Completed")
	staff.press("Apply filters")
	staff.expectText("1 Task", "Call employer partners")
	staff.expectNoText("File the monthly report")

	// The Dashboard button and the system page.
	staff.follow("Systems")
	staff.find(heading(1, "Please select the system you want to go to ..."), "the system page")
	staff.expectText("Wagner-Peyser ISS", "Welfare Reform Case Notes", "WIOA Reports", "TAA BRN")
	staff.follow("Dashboard")
	staff.expectDashboard("Casey Rivera")

	// The header's search bar: the person's tasks and the systems.
	staff.press("Search")
	staff.expectText("Enter a word to search for")
	staff.fill("Search OSMIS", "q", "report")
	staff.press("Search")
	staff.find(heading(1, "Search results for “report”"), "the search results")
	staff.expectText("File the monthly report", "WIOA Reports")
	staff.expectNoText("Call employer partners")
	staff.follow("Go to your tasks on the OSMIS Dashboard")
	staff.expectDashboard("Casey Rivera")

	// A second launch the same day: no terms, no passcode.
	staff.visit(homePath)
	staff.follow(osmisLink)
	staff.expectDashboard("Casey Rivera")
	if n := countMail(d.Mail, mailFor("casey.rivera@miworks.example.org", "passcode", "")); n != 1 {
		t.Errorf("%d passcodes sent the first day, want 1", n)
	}

	// The next calendar day: the same folder, every clock a day on.
	d.restart(t, "--clock-offset", "24h")
	staff.visit(homePath)
	if staff.path() != homePath {
		staff.signIn("riverac0001", demoPassword)
	}
	staff.expectHome("Casey Rivera")
	staff.follow(osmisLink)
	staff.find(heading(1, "MILogin Multifactor Authentication (MFA)"), "the MFA page on the next day")
	staff.press("Email")
	staff.fill("Passcode", "passcode", passcodeFor(t, d.Mail, "casey.rivera@miworks.example.org", 2))
	staff.press("Submit")
	staff.expectDashboard("Casey Rivera")
	staff.expectText("2 Tasks", "Call employer partners", "File the monthly report")
}

// editStaff opens a staff account in the admin utility, lets change fill
// the form, saves it and checks it was saved.
func (b *browser) editStaff(osmisURL, loginID string, change func()) {
	b.t.Helper()
	b.visitURL(osmisURL + "/admin?q=" + loginID)
	b.follow(loginID)
	change()
	b.press("Save")
	b.expectText("Staff account updated.")
}

// expectDenied launches OSMIS from the MILogin home page and expects the
// Access Denied screen.
func (b *browser) expectDenied() {
	b.t.Helper()
	b.visit(homePath)
	b.follow(osmisLink)
	b.find(heading(1, "Access Denied"), "the Access Denied screen")
	b.expectText("Contact your MWA Administrator for Access Denied error resolution.")
}

// TestOSMISPrerequisites breaks each of the guide's five prerequisites in
// turn and expects Access Denied for the staff member, with the reason on
// their account for the administrator; INACTIVE revokes the access in
// MILogin (the link disappears) and ends the OSMIS session at once.
func TestOSMISPrerequisites(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	d.waitAccess(t, "parkerl0001", "granted")
	d.waitAccess(t, "nguyent0001", "granted")

	admin := newBrowser(t, d.server)
	admin.launchOSMIS("parkerl0001", "Lee Parker")
	admin.passTermsAndMFA(d.Mail, leeEmail, 1, true)
	admin.expectDashboard("Lee Parker")

	staff := newBrowser(t, d.server)
	staff.launchOSMIS("nguyent0001", "Tran Nguyen")
	staff.passTermsAndMFA(d.Mail, tranEmail, 1, true)
	staff.expectDashboard("Tran Nguyen")

	expectReason := func(loginID, reason string) {
		t.Helper()
		admin.visitURL(d.OSMIS + "/admin?q=" + loginID)
		admin.expectText(reason)
		admin.follow(loginID)
		admin.expectText("Last denied sign-in: " + reason)
	}

	// (4) The MILogin ID must match exactly: a different case is refused.
	admin.editStaff(d.OSMIS, "nguyent0001", func() { admin.fill("MILogin ID", "login_id", "NguyenT0001") })
	staff.expectDenied()
	expectReason("NguyenT0001", "MILogin ID does not match MILogin")
	admin.editStaff(d.OSMIS, "NguyenT0001", func() { admin.fill("MILogin ID", "login_id", "nguyent0001") })

	// (5) The email must match exactly.
	admin.editStaff(d.OSMIS, "nguyent0001", func() { admin.fill("Email Address", "email", "t.nguyen@miworks.example.org") })
	staff.expectDenied()
	expectReason("nguyent0001", "email does not match MILogin")
	admin.editStaff(d.OSMIS, "nguyent0001", func() { admin.fill("Email Address", "email", tranEmail) })

	// (2) The work email must be in one of the MWA's domains.
	admin.visitURL(d.OSMIS + "/admin/mwas")
	admin.find(heading(2, "Capital Area Michigan Works!"), "the demo MWA")
	admin.fill("Add an email domain to Capital Area Michigan Works!", "domain", "not a domain")
	admin.press("Add domain")
	admin.expectText("Enter an email domain like miworks.org.")
	admin.fill("Add an email domain to Capital Area Michigan Works!", "domain", "capitalarea.example.org")
	admin.press("Add domain")
	admin.expectText("Email domains updated.", "capitalarea.example.org")
	admin.press("Remove miworks.example.org from Capital Area Michigan Works!")
	staff.expectDenied()
	expectReason("nguyent0001", "the work email is not in one of the MWA's email domains")

	// (1) The MWA must have a valid email domain.
	admin.visitURL(d.OSMIS + "/admin/mwas")
	admin.press("Remove capitalarea.example.org from Capital Area Michigan Works!")
	admin.expectText("No valid email domain")
	staff.expectDenied()
	expectReason("nguyent0001", "the MWA has no valid email domain")
	admin.visitURL(d.OSMIS + "/admin/mwas")
	admin.fill("Add an email domain to Capital Area Michigan Works!", "domain", "miworks.example.org")
	admin.press("Add domain")

	// Every prerequisite holds again.
	staff.visit(homePath)
	staff.follow(osmisLink)
	staff.expectDashboard("Tran Nguyen")

	// (3) INACTIVE: the OSMIS session ends at once, MILogin revokes the
	// access and the link disappears; the next launch is refused.
	admin.editStaff(d.OSMIS, "nguyent0001", func() { admin.choose("INACTIVE") })
	staff.visitURL(d.OSMIS + "/dashboard")
	staff.find(heading(1, "Access Denied"), "Access Denied instead of the dashboard")
	d.waitAccess(t, "nguyent0001", "revoked")
	staff.visit(homePath)
	staff.expectHome("Tran Nguyen")
	staff.expectNoText(osmisLink)

	// Re-activated: granted again, the link is back.
	admin.editStaff(d.OSMIS, "nguyent0001", func() { admin.choose("ACTIVE") })
	d.waitAccess(t, "nguyent0001", "granted")
	staff.visit(homePath)
	staff.follow(osmisLink)
	staff.expectDashboard("Tran Nguyen")
}

// TestOSMISLogOff: Log Off ends the OSMIS session and the MILogin session
// (RP-initiated logout); logging out of MILogin ends the OSMIS session
// (back-channel logout).
func TestOSMISLogOff(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	d.waitAccess(t, "nguyent0001", "granted")
	b := newBrowser(t, d.server)
	b.launchOSMIS("nguyent0001", "Tran Nguyen")
	b.passTermsAndMFA(d.Mail, tranEmail, 1, true)
	b.expectDashboard("Tran Nguyen")

	b.press("Log Off")
	b.find(heading(1, "You have logged off"), "the signed-out page")
	b.visit(homePath)
	b.expectSignInPage()
	b.visitURL(d.OSMIS + "/dashboard")
	b.expectSignInPage() // OSMIS sends the browser to MILogin to sign in

	// Signed in again; MILogin's LOGOUT reaches OSMIS over the back channel.
	b.launchOSMIS("nguyent0001", "Tran Nguyen")
	b.expectDashboard("Tran Nguyen")
	b.visit(homePath)
	b.press("LOGOUT")
	deadline := time.Now().Add(15 * time.Second)
	for {
		b.visitURL(d.OSMIS + "/dashboard")
		if b.path() == loginPath {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the OSMIS session still answers after MILogin's logout (on %s)", b.location())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestOSMISPagesAccessible visits the OSMIS pages the journeys do not (the
// link settings with a refused link, the sign-in error, the not-found and
// not-an-administrator pages, the cancelled terms) with JavaScript off:
// every page works without it and passes axe-core (checked on each load).
func TestOSMISPagesAccessible(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	d.waitAccess(t, "parkerl0001", "granted")
	d.waitAccess(t, "nguyent0001", "granted")

	admin := newBrowser(t, d.server, withoutJavaScript())
	admin.launchOSMIS("parkerl0001", "Lee Parker")
	admin.passTermsAndMFA(d.Mail, leeEmail, 1, true)
	admin.expectDashboard("Lee Parker")
	admin.follow("System links")
	admin.find(heading(1, "System links"), "the link settings")
	admin.fill("Link text", "label", "Career Services")
	admin.fill("Web address", "url", "career services")
	admin.press("Add link")
	admin.expectText("Enter a full web address starting with https://.")
	admin.fill("Web address", "url", "https://osmis.example.org/career")
	admin.press("Add link")
	admin.expectText("Link added.")
	admin.follow("Systems")
	admin.expectText("Career Services")
	admin.visitURL(d.OSMIS + "/no-such-page")
	admin.find(heading(1, "Page not found"), "the not-found page")
	admin.visitURL(d.OSMIS + "/callback?code=x&state=forged")
	admin.find(heading(1, "Sign-in failed"), "the sign-in error page")

	// A staff member who cancels the terms, then is no administrator.
	staff := newBrowser(t, d.server, withoutJavaScript())
	staff.launchOSMIS("nguyent0001", "Tran Nguyen")
	staff.find(heading(1, "Terms & Conditions"), "the Terms & Conditions dialog")
	staff.press("CANCEL")
	staff.expectText("You did not agree to the Terms & Conditions of " + osmisLink)
	staff.follow("Return to the application")
	staff.find(heading(1, "Sign-in cancelled"), "OSMIS's page after CANCEL")
	staff.follow("Start again")
	staff.press("Acknowledge/Agree")
	staff.press("Email")
	staff.fill("Passcode", "passcode", passcodeFor(t, d.Mail, tranEmail, 1))
	staff.press("Submit")
	staff.expectDashboard("Tran Nguyen")
	staff.visitURL(d.OSMIS + "/admin")
	staff.find(heading(1, "Not an administrator"), "the not-an-administrator page")
}
