package cars

import (
	"net/http"
	"net/mail"
	"strings"
	"time"
)

type menuItem struct{ Name, Href string }
type menuSection struct {
	Title string
	Items []menuItem
}

// homeMenu is the e-Services menu of the guide. Only Mechanic Services is
// implemented here; every other entry opens a page that says so.
var homeMenu = func() []menuSection {
	sec := func(title string, names ...string) menuSection {
		m := menuSection{Title: title}
		for _, n := range names {
			href := "/service/" + slugify(n)
			if n == "Mechanic Services" {
				href = "/mechanic-services"
			}
			m.Items = append(m.Items, menuItem{n, href})
		}
		return m
	}
	return []menuSection{
		sec("Vehicle Transactions", "Vehicle Renewal", "Request a Duplicate Title", "More Online Vehicle Services"),
		sec("Vehicle Searches", "Abandoned Vehicle Search", "Check Personalized Plate Availability", "Search for Liens and Brands"),
		sec("Calculate Fees", "Registration Fee Calculator", "Renewal Fee Calculator"),
		sec("IRP", "IRP Services", "Trip Permits"),
		sec("Business Services", "Dealer Services", "Direct Access and List Sales Services", "Drivers Education Services",
			"Repair Facility Services", "BAIID Manufacturers"),
		sec("Additional Services", "Custodian Services", "EFT Management & Miscellaneous", "Fleet Services", "Mechanic Services",
			"Salvage Vehicle Inspector"),
		sec("Visit a Secretary of State Branch", "Find a Secretary of State Branch", "Get In Line Online"),
		sec("Contact Us", "Check the Status of an Application", "Submit a Dealer Complaint", "Submit a Repair Facility Complaint", "FAQs"),
	}
}()

// Services named on the Mechanic Services page and in the header that CARS
// does not implement either.
var otherServices = map[string]string{
	"apply-mechanic":         "Apply to be a Mechanic",
	"apply-mechanic-trainee": "Apply to be a Mechanic Trainee",
	"search-mechanic":        "Search Mechanic",
	"mechanic-testing":       "Sign Up for Mechanic Testing",
	"contact-us":             "Contact Us",
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func serviceName(slug string) (string, bool) {
	if n, ok := otherServices[slug]; ok {
		return n, true
	}
	for _, sec := range homeMenu {
		for _, it := range sec.Items {
			if it.Href == "/service/"+slug {
				return it.Name, true
			}
		}
	}
	return "", false
}

// optionalUser is the signed-in person on a public page, if any.
func (s *Server) optionalUser(r *http.Request) *User {
	si, err := s.current(r)
	if err != nil {
		return nil
	}
	return &si.User
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "home", &page{Title: "e-Services", User: s.optionalUser(r), Data: homeMenu})
}

func (s *Server) handleMechanicServices(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Mechanic and Mechanic School Services", User: s.optionalUser(r),
		Crumbs: []crumb{{"Home", "/"}, {"Mechanic and Mechanic School Services", ""}}}
	if r.URL.Query().Get("signed_out") == "1" {
		p.Notice = "Please log in to continue."
	}
	s.render(w, http.StatusOK, "mechanic-services", p)
}

func (s *Server) handleService(w http.ResponseWriter, r *http.Request) {
	name, ok := serviceName(r.PathValue("slug"))
	if !ok {
		s.notFound(w, r)
		return
	}
	s.render(w, http.StatusOK, "service", &page{Title: name, User: s.optionalUser(r),
		Crumbs: []crumb{{"Home", "/"}, {name, ""}}, Data: name})
}

func (s *Server) handleLoggedOff(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "logged-off", &page{Title: "Logged Off"})
}

func (s *Server) handleAccountAccess(w http.ResponseWriter, r *http.Request, si *signedIn) {
	p := &page{Title: "Account Access Options", User: &si.User, Crumbs: []crumb{{"Home", "/springboard"}, {"Account Access Options", ""}}}
	if r.URL.Query().Get("canceled") == "1" {
		p.Notice = "Nothing was submitted. What you entered is kept for when you continue."
	}
	s.render(w, http.StatusOK, "account-access", p)
}

type springboardData struct {
	Kind        string
	Unread      int
	Messages    []Message
	Tab         string
	Accounts    []AccessAccount
	Submissions []Submission
	Letters     map[string]Letter
	LastLogon   time.Time
}

func (s *Server) springboardData(r *http.Request, si *signedIn) (*springboardData, error) {
	ctx := r.Context()
	d := &springboardData{Kind: loginKinds[si.Session.Kind], LastLogon: si.User.PrevLogin, Letters: map[string]Letter{}}
	var err error
	if d.Messages, err = s.db.Messages(ctx, si.User.Sub); err != nil {
		return nil, err
	}
	for _, m := range d.Messages {
		if m.ReadAt.IsZero() {
			d.Unread++
		}
	}
	if d.Accounts, err = s.db.Accounts(ctx, si.User.Sub); err != nil {
		return nil, err
	}
	if d.Submissions, err = s.db.Submissions(ctx, si.User.Sub); err != nil {
		return nil, err
	}
	letters, err := s.db.LettersOf(ctx, si.User.Sub)
	if err != nil {
		return nil, err
	}
	for _, l := range letters {
		d.Letters[l.Confirmation] = l
	}
	return d, nil
}

func (s *Server) handleSpringboard(w http.ResponseWriter, r *http.Request, si *signedIn) {
	d, err := s.springboardData(r, si)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch d.Tab = r.URL.Query().Get("tab"); d.Tab {
	case "submissions", "correspondence":
	default:
		d.Tab = "accounts"
	}
	p := &page{Title: "e-Services", User: &si.User, Data: d}
	if r.URL.Query().Get("added") == "1" {
		p.Notice = "Account access was added."
	}
	s.render(w, http.StatusOK, "springboard", p)
}

func (s *Server) handleViewAccounts(w http.ResponseWriter, r *http.Request, si *signedIn) {
	d, err := s.springboardData(r, si)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "accounts", &page{Title: "View Accounts", User: &si.User,
		Crumbs: []crumb{{"Home", "/springboard"}, {"View Accounts", ""}}, Data: d})
}

func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request, si *signedIn) {
	d, err := s.springboardData(r, si)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "alerts", &page{Title: "Alerts", User: &si.User,
		Crumbs: []crumb{{"Home", "/springboard"}, {"Alerts", ""}}, Data: d})
}

func (s *Server) handleMarkRead(w http.ResponseWriter, r *http.Request, si *signedIn) {
	if err := s.db.MarkRead(r.Context(), si.User.Sub, r.PathValue("id"), s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
}

// Settings: where notifications of new messages go, per account.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request, si *signedIn) {
	s.settingsPage(w, r, si, http.StatusOK, nil, "")
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, si *signedIn, status int, errs []fieldError, notice string) {
	d, err := s.springboardData(r, si)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	form := map[string]string{}
	for _, a := range d.Accounts {
		form["email_"+a.Number] = a.NotifyEmail
		if a.Notify {
			form["notify_"+a.Number] = "on"
		}
	}
	if r.Method == http.MethodPost {
		for k := range form {
			form[k] = ""
		}
		for k := range r.PostForm {
			form[k] = r.PostFormValue(k)
		}
	}
	s.render(w, status, "settings", &page{Title: "Settings", User: &si.User, Crumbs: []crumb{{"Home", "/springboard"}, {"Settings", ""}},
		Data: d, Form: form, Errors: errs, Notice: notice})
}

func (s *Server) handleSettingsPost(w http.ResponseWriter, r *http.Request, si *signedIn) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	accts, err := s.db.Accounts(r.Context(), si.User.Sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var errs []fieldError
	type change struct {
		number, email string
		notify        bool
	}
	var changes []change
	for _, a := range accts {
		notify := r.PostFormValue("notify_"+a.Number) != ""
		email := strings.TrimSpace(r.PostFormValue("email_" + a.Number))
		if notify && !validEmail(email) {
			errs = append(errs, fieldError{"email_" + a.Number, "Enter a valid Email Address for notifications of account " + a.Number + "."})
		}
		changes = append(changes, change{a.Number, email, notify})
	}
	if len(errs) > 0 {
		s.settingsPage(w, r, si, http.StatusBadRequest, errs, "")
		return
	}
	for _, c := range changes {
		n := 0
		if c.notify {
			n = 1
		}
		if _, err := s.db.sql.ExecContext(r.Context(), `UPDATE cars_access SET notify = $3, notify_email = $4 WHERE sub = $1 AND account_number = $2`,
			si.User.Sub, c.number, n, c.email); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.settingsPage(w, r, si, http.StatusOK, nil, "Your settings were saved.")
}

func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e && strings.Contains(e, "@") && len(e) <= 254
}

func (s *Server) confirmation(w http.ResponseWriter, r *http.Request, si *signedIn, name string) {
	sub, err := s.db.Submission(r.Context(), si.User.Sub, r.PathValue("conf"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	p := &page{Title: "Confirmation", User: &si.User, Crumbs: []crumb{{"Account Access Options", "/account-access"}, {"Confirmation", ""}},
		Data: map[string]any{"Submission": sub, "Username": si.User.Username, "Mask": MaskEmail(sub.Account.Email)}}
	if name == "confirmation-print" {
		p.Printer, p.Crumbs = true, nil // the paper needs no menus
	}
	s.render(w, http.StatusOK, name, p)
}

func (s *Server) handleConfirmation(w http.ResponseWriter, r *http.Request, si *signedIn) {
	s.confirmation(w, r, si, "confirmation")
}

func (s *Server) handleConfirmationPrint(w http.ResponseWriter, r *http.Request, si *signedIn) {
	s.confirmation(w, r, si, "confirmation-print")
}
