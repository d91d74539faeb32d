package cars

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The two wizards of the guides. What is typed is kept in the session
// (sealed: it may hold a code) at every Cancel, < Previous and Next >, so
// going back, or leaving and coming back, shows it again.

type requestDraft struct {
	Type, Ident, ZIP, Delivery string
	Account                    string // the account found at Account Details
}

type accessDraft struct {
	Code, Ident, ZIP string
	Notify           bool
	Email, Confirm   string
	Agree            bool
	CodeOK           bool   // step 1 passed with this code
	Account          string // step 2 passed: the code's account
}

const (
	sealRequestDraft = "cars request draft"
	sealAccessDraft  = "cars access draft"
)

func (s *Server) loadDraft(label, sealed string, v any) {
	if sealed == "" {
		return
	}
	js, err := s.keys.openString(label, sealed)
	if err == nil {
		_ = json.Unmarshal([]byte(js), v)
	}
}

func (s *Server) saveDrafts(r *http.Request, si *signedIn, req *requestDraft, acc *accessDraft) error {
	seal := func(label string, v any, old string) string {
		if v == nil {
			return old
		}
		b, _ := json.Marshal(v)
		if string(b) == "{}" || string(b) == "null" {
			return ""
		}
		return s.keys.sealString(label, string(b))
	}
	reqS := seal(sealRequestDraft, req, si.Session.RequestDraft)
	accS := seal(sealAccessDraft, acc, si.Session.AccessDraft)
	return s.db.SaveDrafts(r.Context(), si.Session.ID, reqS, accS)
}

type stepItem struct {
	Group, Name, Href string
	Current, Done     bool
	N                 int
}

func stepBar(steps [][3]string, current string) []stepItem {
	var out []stepItem
	done := true
	for i, st := range steps {
		if st[2] == current {
			done = false
		}
		out = append(out, stepItem{Group: st[0], Name: st[1], Href: st[2], Current: st[2] == current, Done: done, N: i + 1})
	}
	return out
}

// --- Request Code ------------------------------------------------------------

var requestSteps = [][3]string{{"SELECT", "Account Type", "type"}, {"ACCOUNT INFO", "Account Details", "details"},
	{"ACCOUNT INFO", "Email Option", "email"}, {"SUMMARY", "Summary", "summary"}}

type wizardData struct {
	Steps    []stepItem
	Step     string
	Types    []AccountType
	Type     AccountType
	HasType  bool
	Username string
	Account  Account
	Masked   string
	Delivery string
	Notify   bool
	Agree    bool
	Conf     string
}

func stepIndex(steps [][3]string, step string) int {
	return slices.IndexFunc(steps, func(s [3]string) bool { return s[2] == step })
}

// requestReady is the first step whose earlier steps are not complete.
func (s *Server) requestReady(r *http.Request, d *requestDraft) (string, Account) {
	if _, ok := LookupType(d.Type); !ok {
		return "type", Account{}
	}
	if d.Account == "" {
		return "details", Account{}
	}
	a, err := s.db.Account(r.Context(), d.Account)
	if err != nil {
		return "details", Account{}
	}
	if d.Delivery != ByEmail && d.Delivery != ByMail {
		return "email", a
	}
	return "summary", a
}

func (s *Server) handleRequestStep(w http.ResponseWriter, r *http.Request, si *signedIn) {
	var d requestDraft
	s.loadDraft(sealRequestDraft, si.Session.RequestDraft, &d)
	step := r.PathValue("step")
	i := stepIndex(requestSteps, step)
	if i < 0 {
		s.notFound(w, r)
		return
	}
	ready, a := s.requestReady(r, &d)
	if i > stepIndex(requestSteps, ready) {
		http.Redirect(w, r, "/request-code/"+ready, http.StatusSeeOther)
		return
	}
	s.requestPage(w, si, http.StatusOK, step, &d, a, nil)
}

func (s *Server) requestPage(w http.ResponseWriter, si *signedIn, status int, step string, d *requestDraft, a Account, errs []fieldError, pageErr ...string) {
	t, ok := LookupType(d.Type)
	data := &wizardData{Steps: stepBar(requestSteps, step), Step: step, Types: AccountTypes, Type: t, HasType: ok,
		Username: si.User.Username, Account: a, Masked: MaskEmail(a.Email), Delivery: d.Delivery}
	s.render(w, status, "request-code", &page{Title: "Online Authentication", User: &si.User,
		Crumbs: []crumb{{"Account Access Options", "/account-access"}, {"Request Code", ""}},
		Form:   map[string]string{"type": d.Type, "ident": d.Ident, "zip": d.ZIP, "delivery": d.Delivery}, Errors: errs, Data: data,
		Error: strings.Join(pageErr, " ")})
}

func (s *Server) handleRequestPost(w http.ResponseWriter, r *http.Request, si *signedIn) {
	step := r.PathValue("step")
	i := stepIndex(requestSteps, step)
	if i < 0 {
		s.notFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	var d requestDraft
	s.loadDraft(sealRequestDraft, si.Session.RequestDraft, &d)
	// Keep what this step's form holds, whichever button was pressed.
	switch step {
	case "type":
		if v := r.PostFormValue("type"); v != d.Type {
			d.Type, d.Account = v, ""
		}
	case "details":
		ident, zip := strings.TrimSpace(r.PostFormValue("ident")), strings.TrimSpace(r.PostFormValue("zip"))
		if ident != d.Ident || zip != d.ZIP {
			d.Ident, d.ZIP, d.Account = ident, zip, ""
		}
	case "email":
		d.Delivery = r.PostFormValue("delivery")
	}
	action := r.PostFormValue("action")
	save := func() bool {
		if err := s.saveDrafts(r, si, &d, nil); err != nil {
			s.fail(w, r, err)
			return false
		}
		return true
	}
	switch action {
	case "cancel":
		if save() {
			http.Redirect(w, r, "/account-access?canceled=1", http.StatusSeeOther)
		}
		return
	case "previous":
		if !save() {
			return
		}
		if i == 0 {
			http.Redirect(w, r, "/account-access", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, "/request-code/"+requestSteps[i-1][2], http.StatusSeeOther)
		}
		return
	}
	// Next > (or Submit on the summary): this step must be right.
	var errs []fieldError
	var a Account
	now := s.now()
	switch step {
	case "type":
		if _, ok := LookupType(d.Type); !ok {
			errs = append(errs, fieldError{"type", "Select the type of account you are requesting access for."})
		}
	case "details":
		t, ok := LookupType(d.Type)
		if !ok {
			http.Redirect(w, r, "/request-code/type", http.StatusSeeOther)
			return
		}
		errs = identErrors(t, d.Ident, d.ZIP)
		if len(errs) == 0 {
			acct, err := s.lookupForRequest(r, si, t, d.Ident, d.ZIP)
			var th *ThrottledError
			switch {
			case errors.As(err, &th):
				errs = append(errs, fieldError{"ident", th.Message(now)})
			case errors.Is(err, errNotFound):
				msg := "No " + t.Name + " account matches the " + t.Ident
				if t.ZIP {
					msg += " and ZIP Code"
				}
				errs = append(errs, fieldError{"ident", msg + " you entered. Please check and try again."})
			case err != nil:
				s.fail(w, r, err)
				return
			default:
				d.Account, a = acct.Number, acct
			}
		}
	case "email":
		if d.Delivery != ByEmail && d.Delivery != ByMail {
			errs = append(errs, fieldError{"delivery-email", "Choose Yes or No: would you like to receive your authorization code by email?"})
		}
	}
	if len(errs) > 0 {
		if !save() {
			return
		}
		if a.Number == "" && d.Account != "" {
			a, _ = s.db.Account(r.Context(), d.Account)
		}
		s.requestPage(w, si, http.StatusBadRequest, step, &d, a, errs)
		return
	}
	if step != "summary" {
		if save() {
			http.Redirect(w, r, "/request-code/"+requestSteps[i+1][2], http.StatusSeeOther)
		}
		return
	}
	ready, acct := s.requestReady(r, &d)
	if ready != "summary" {
		http.Redirect(w, r, "/request-code/"+ready, http.StatusSeeOther)
		return
	}
	conf, err := s.codes.RequestCode(r.Context(), Request{User: si.User, Account: acct, Delivery: d.Delivery}, now)
	if errors.Is(err, ErrTooManyRequests) {
		s.requestPage(w, si, http.StatusTooManyRequests, step, &d, acct, nil, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.saveDrafts(r, si, &requestDraft{}, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/request-code/confirmation/"+conf, http.StatusSeeOther)
}

// lookupForRequest finds the account for Request Code; a miss counts as a
// try like a wrong code, so identifiers cannot be guessed freely either.
func (s *Server) lookupForRequest(r *http.Request, si *signedIn, t AccountType, ident, zip string) (Account, error) {
	now := s.now()
	if _, err := s.db.reserveTry(r.Context(), si.User.Sub, now); err != nil {
		return Account{}, err
	}
	a, err := s.db.FindAccount(r.Context(), t, ident, zip)
	if err == nil {
		return a, s.db.releaseTry(r.Context(), si.User.Sub)
	}
	if errors.Is(err, errNotFound) {
		_ = s.db.Audit(r.Context(), now, si.User.Sub, "request.no_account", "type="+t.Slug)
	}
	return Account{}, err
}

func identErrors(t AccountType, ident, zip string) []fieldError {
	var errs []fieldError
	if strings.TrimSpace(ident) == "" {
		errs = append(errs, fieldError{"ident", "Enter your " + t.Ident + "."})
	} else if len(Normalize(ident)) > 20 {
		errs = append(errs, fieldError{"ident", t.Ident + " must be at most 20 letters and digits."})
	}
	if t.ZIP {
		switch z := strings.TrimSpace(zip); {
		case z == "":
			errs = append(errs, fieldError{"zip", "Enter your ZIP Code."})
		case !zipRE.MatchString(z) && !(len(Normalize(z)) == 9 && allDigits(Normalize(z))):
			errs = append(errs, fieldError{"zip", "ZIP Code must be 5 digits (for example 48933)."})
		}
	}
	return errs
}

// --- Add Account Access ---------------------------------------------------------

var accessSteps = [][3]string{{"ACCESS", "Authorization Code", "code"}, {"ACCESS", "Account Info", "info"},
	{"ACCOUNT INFO", "Email", "email"}, {"SUMMARY", "Summary", "summary"}}

func (s *Server) accessReady(r *http.Request, d *accessDraft) (string, Account) {
	if !d.CodeOK {
		return "code", Account{}
	}
	if d.Account == "" {
		return "info", Account{}
	}
	a, err := s.db.Account(r.Context(), d.Account)
	if err != nil {
		return "info", Account{}
	}
	if !d.Agree || (d.Notify && (!validEmail(d.Email) || !strings.EqualFold(d.Email, d.Confirm))) {
		return "email", a
	}
	return "summary", a
}

// accessPage renders a step of Add Account Access; step 2's labels are the
// identifiers of the checked code's account type.
func (s *Server) accessPage(w http.ResponseWriter, r *http.Request, si *signedIn, status int, step string, d *accessDraft, errs []fieldError) {
	data := &wizardData{Steps: stepBar(accessSteps, step), Step: step, Username: si.User.Username, Notify: d.Notify, Agree: d.Agree}
	if d.Account != "" {
		if a, err := s.db.Account(r.Context(), d.Account); err == nil {
			data.Account, data.Type, data.HasType = a, a.Type, true
		}
	} else if d.CodeOK {
		// Step 2 asks for the identifiers of the code's account type.
		if red, err := s.codes.peekType(r, si.User.Sub, d.Code); err == nil {
			data.Type, data.HasType = red, true
		}
	}
	form := map[string]string{"code": d.Code, "ident": d.Ident, "zip": d.ZIP, "email": d.Email, "confirm_email": d.Confirm}
	s.render(w, status, "add-access", &page{Title: "Add Account Access", User: &si.User,
		Crumbs: []crumb{{"Account Access Options", "/account-access"}, {"Add Account Access", ""}}, Form: form, Errors: errs, Data: data})
}

func (s *Server) handleAccessStep(w http.ResponseWriter, r *http.Request, si *signedIn) {
	var d accessDraft
	s.loadDraft(sealAccessDraft, si.Session.AccessDraft, &d)
	step := r.PathValue("step")
	i := stepIndex(accessSteps, step)
	if i < 0 {
		s.notFound(w, r)
		return
	}
	if ready, _ := s.accessReady(r, &d); i > stepIndex(accessSteps, ready) {
		http.Redirect(w, r, "/add-access/"+ready, http.StatusSeeOther)
		return
	}
	s.accessPage(w, r, si, http.StatusOK, step, &d, nil)
}

func (s *Server) handleAccessPost(w http.ResponseWriter, r *http.Request, si *signedIn) {
	step := r.PathValue("step")
	i := stepIndex(accessSteps, step)
	if i < 0 {
		s.notFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	var d accessDraft
	s.loadDraft(sealAccessDraft, si.Session.AccessDraft, &d)
	switch step {
	case "code":
		if v := strings.TrimSpace(r.PostFormValue("code")); v != d.Code {
			d.Code, d.CodeOK, d.Account = v, false, ""
		}
	case "info":
		ident, zip := strings.TrimSpace(r.PostFormValue("ident")), strings.TrimSpace(r.PostFormValue("zip"))
		if ident != d.Ident || zip != d.ZIP {
			d.Ident, d.ZIP, d.Account = ident, zip, ""
		}
	case "email":
		d.Notify = r.PostFormValue("notify") != ""
		d.Email = strings.TrimSpace(r.PostFormValue("email"))
		d.Confirm = strings.TrimSpace(r.PostFormValue("confirm_email"))
		d.Agree = r.PostFormValue("agree") != ""
	}
	save := func() bool {
		if err := s.saveDrafts(r, si, nil, &d); err != nil {
			s.fail(w, r, err)
			return false
		}
		return true
	}
	switch r.PostFormValue("action") {
	case "cancel":
		if save() {
			http.Redirect(w, r, "/account-access?canceled=1", http.StatusSeeOther)
		}
		return
	case "previous":
		if !save() {
			return
		}
		if i == 0 {
			http.Redirect(w, r, "/account-access", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, "/add-access/"+accessSteps[i-1][2], http.StatusSeeOther)
		}
		return
	}
	now := s.now()
	var errs []fieldError
	codeErr := func(field string, err error) {
		var th *ThrottledError
		switch {
		case errors.As(err, &th):
			errs = append(errs, fieldError{field, th.Message(now)})
		case errors.Is(err, ErrCodeFormat):
			errs = append(errs, fieldError{field, ErrCodeFormat.Error()})
		default:
			var wt *wrongTry
			if errors.As(err, &wt) {
				msg := wt.err.Error()
				if wt.left > 0 {
					msg += " You have " + plural(wt.left, "more try", "more tries") + " this hour."
				}
				errs = append(errs, fieldError{field, msg})
			} else {
				errs = append(errs, fieldError{field, err.Error()})
			}
		}
	}
	switch step {
	case "code":
		if d.Code == "" {
			errs = append(errs, fieldError{"code", "Enter your authorization code."})
			break
		}
		_, err := s.codes.CheckCode(r.Context(), si.User.Sub, d.Code, now)
		if err != nil && !isCodeProblem(err) {
			s.fail(w, r, err)
			return
		}
		if err != nil {
			codeErr("code", err)
		} else {
			d.CodeOK = true
		}
	case "info":
		t, err := s.codes.peekType(r, si.User.Sub, d.Code)
		if err != nil || !d.CodeOK {
			d.CodeOK = false
			if save() {
				http.Redirect(w, r, "/add-access/code", http.StatusSeeOther)
			}
			return
		}
		if errs = identErrors(t, d.Ident, d.ZIP); len(errs) == 0 {
			a, err := s.codes.CheckAccount(r.Context(), si.User.Sub, d.Code, d.Ident, d.ZIP, now)
			switch {
			case err == nil:
				d.Account = a.Number
			case isCodeProblem(err):
				codeErr("ident", err)
			default:
				s.fail(w, r, err)
				return
			}
		}
	case "email":
		if d.Notify {
			switch {
			case d.Email == "":
				errs = append(errs, fieldError{"email", "Enter the Email Address for notifications."})
			case !validEmail(d.Email):
				errs = append(errs, fieldError{"email", "Enter a valid Email Address, for example name@example.com."})
			}
			if d.Email != "" && !strings.EqualFold(d.Email, d.Confirm) {
				errs = append(errs, fieldError{"confirm_email", "Confirm Email Address must match the Email Address."})
			}
		}
		if !d.Agree {
			errs = append(errs, fieldError{"agree", "You must agree to the Access Terms & Conditions to continue."})
		}
	}
	if len(errs) > 0 {
		if !save() {
			return
		}
		s.accessPage(w, r, si, http.StatusBadRequest, step, &d, errs)
		return
	}
	if step != "summary" {
		if save() {
			http.Redirect(w, r, "/add-access/"+accessSteps[i+1][2], http.StatusSeeOther)
		}
		return
	}
	if ready, _ := s.accessReady(r, &d); ready != "summary" {
		http.Redirect(w, r, "/add-access/"+ready, http.StatusSeeOther)
		return
	}
	_, err := s.codes.AddAccess(r.Context(), Grant{User: si.User, Code: d.Code, Ident: d.Ident, ZIP: d.ZIP, Notify: d.Notify, NotifyEmail: d.Email}, now)
	if err != nil {
		if !isCodeProblem(err) {
			s.fail(w, r, err)
			return
		}
		// The code was used or expired meanwhile: back to step 1 with why.
		d.CodeOK, d.Account = false, ""
		codeErr("code", err)
		if !save() {
			return
		}
		s.accessPage(w, r, si, http.StatusBadRequest, "code", &d, errs)
		return
	}
	if err := s.saveDrafts(r, si, nil, &accessDraft{}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/springboard?added=1", http.StatusSeeOther)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// isCodeProblem tells the person's mistakes (shown on the page) from
// failures of CARS (the error page).
func isCodeProblem(err error) bool {
	var th *ThrottledError
	var wt *wrongTry
	return errors.As(err, &th) || errors.As(err, &wt) || errors.Is(err, ErrCodeFormat) ||
		errors.Is(err, errCodeUsed) || errors.Is(err, errCodeExpired)
}
