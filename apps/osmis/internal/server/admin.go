package server

import (
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"milogin/apps/osmis/internal/store"
)

// PageSize is how many staff accounts one page of the utility lists.
const PageSize = 20

type adminListData struct {
	Query, Status string
	Staff         []*store.Staff
	Total         int
	Page, Pages   int
	PrevURL       string
	NextURL       string
	Pending       []*store.Call
}

// handleAdmin is the Staff Account Admin Utility's list: search, status
// filter, paging, and the provisioning calls still pending.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request, cur *current) {
	ctx := r.Context()
	q := r.URL.Query()
	d := adminListData{Query: strings.TrimSpace(q.Get("q")), Status: q.Get("status")}
	if d.Status != store.Active && d.Status != store.Inactive {
		d.Status = ""
	}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	var err error
	// An MWA Administrator manages the staff of their own MWA.
	d.Staff, d.Total, err = s.db.ListStaff(ctx, store.StaffFilter{Query: d.Query, Status: d.Status, MWAID: cur.staff.MWAID, Page: d.Page, PageSize: PageSize})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	d.Pages = max((d.Total+PageSize-1)/PageSize, 1)
	link := func(p int) string {
		v := url.Values{"page": {strconv.Itoa(p)}}
		if d.Query != "" {
			v.Set("q", d.Query)
		}
		if d.Status != "" {
			v.Set("status", d.Status)
		}
		return "/admin?" + v.Encode()
	}
	if d.Page > 1 {
		d.PrevURL = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.NextURL = link(d.Page + 1)
	}
	if d.Pending, err = s.db.Pending(ctx); err != nil {
		s.internalError(w, r, err)
		return
	}
	flash := map[string]string{"created": "Staff account created.", "updated": "Staff account updated."}[q.Get("done")]
	s.page(w, r, http.StatusOK, "admin", pageData{Title: "Staff Account Admin Utility", Staff: cur.staff, Nav: "admin", Flash: flash, Data: d})
}

// staffForm is the form of a staff account, as typed.
type staffForm struct {
	ID                                int64
	FirstName, LastName, LoginID      string
	Email, MWA, Status                string
	IsAdmin                           bool
	DeniedReason, DeniedAt, UpdatedAt string
	MWAs                              []*store.MWA
}

func formOf(s *store.Staff) staffForm {
	f := staffForm{ID: s.ID, FirstName: s.FirstName, LastName: s.LastName, LoginID: s.LoginID, Email: s.Email,
		MWA: strconv.FormatInt(s.MWAID, 10), Status: s.Status, IsAdmin: s.IsAdmin, DeniedReason: s.DeniedReason}
	if !s.DeniedAt.IsZero() {
		f.DeniedAt = s.DeniedAt.Format("01/02/2006 3:04 PM UTC")
	}
	return f
}

func readStaffForm(r *http.Request) staffForm {
	return staffForm{
		FirstName: strings.TrimSpace(r.PostFormValue("first_name")),
		LastName:  strings.TrimSpace(r.PostFormValue("last_name")),
		LoginID:   strings.TrimSpace(r.PostFormValue("login_id")),
		Email:     strings.TrimSpace(r.PostFormValue("email")),
		MWA:       r.PostFormValue("mwa"),
		Status:    r.PostFormValue("status"),
		IsAdmin:   r.PostFormValue("is_admin") == "1",
	}
}

// validate checks the form's rules; mwa is the chosen agency (nil if none).
func (f *staffForm) validate(mwa *store.MWA) map[string]string {
	errs := map[string]string{}
	name := func(field, label, v string) {
		switch {
		case v == "":
			errs[field] = "Enter the " + label + "."
		case utf8.RuneCountInString(v) > 64:
			errs[field] = "The " + label + " must be at most 64 characters."
		}
	}
	name("first_name", "First Name", f.FirstName)
	name("last_name", "Last Name", f.LastName)
	switch {
	case f.LoginID == "":
		errs["login_id"] = "Enter the MILogin ID exactly as in the person's MILogin for Third Party account."
	case strings.IndexFunc(f.LoginID, unicode.IsSpace) >= 0:
		errs["login_id"] = "The MILogin ID cannot contain spaces."
	case utf8.RuneCountInString(f.LoginID) > 64:
		errs["login_id"] = "The MILogin ID must be at most 64 characters."
	}
	if f.Email == "" {
		errs["email"] = "Enter the work email address."
	} else if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email || len(f.Email) > 254 {
		errs["email"] = "Enter a valid email address, like name@miworks.org."
	}
	switch {
	case mwa == nil:
		errs["mwa"] = "Select the MWA."
	case len(mwa.Domains) == 0:
		errs["mwa"] = "The MWA " + mwa.Name + " has no valid email domain yet: add one under MWAs first."
	case errs["email"] == "" && !mwa.HasDomain(f.Email):
		errs["email"] = "The work email must be in one of the email domains of " + mwa.Name + ": " + strings.Join(mwa.Domains, ", ") + "."
	}
	if f.Status != store.Active && f.Status != store.Inactive {
		errs["status"] = "Select ACTIVE or INACTIVE."
	}
	return errs
}

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request, cur *current, status int, f staffForm, errs map[string]string, flash string) {
	own, err := s.db.GetMWA(r.Context(), cur.staff.MWAID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	f.MWAs = []*store.MWA{own}
	title := "Add a staff account"
	if f.ID != 0 {
		title = "Staff account " + f.LoginID
	}
	s.page(w, r, status, "staff", pageData{Title: title, Staff: cur.staff, Nav: "admin", Errors: errs, Flash: flash, Data: f})
}

func (s *Server) handleNewStaff(w http.ResponseWriter, r *http.Request, cur *current) {
	s.staffPage(w, r, cur, http.StatusOK, staffForm{Status: store.Active, MWA: strconv.FormatInt(cur.staff.MWAID, 10)}, nil, "")
}

// chosenMWA is the MWA of the form: only the administrator's own.
func (s *Server) chosenMWA(r *http.Request, cur *current, f staffForm) (*store.MWA, error) {
	id, err := strconv.ParseInt(f.MWA, 10, 64)
	if err != nil || id != cur.staff.MWAID {
		return nil, nil
	}
	m, err := s.db.GetMWA(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return m, err
}

// conflictField maps a store conflict to the form field it is about.
func conflictField(err error) (string, string, bool) {
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		return "", "", false
	}
	if ce.Field == "Email Address" {
		return "email", "Another staff account already has the email address " + ce.Value + ".", true
	}
	return "login_id", "Another staff account already has the MILogin ID " + ce.Value + ".", true
}

func (s *Server) handleCreateStaff(w http.ResponseWriter, r *http.Request, cur *current) {
	f := readStaffForm(r)
	mwa, err := s.chosenMWA(r, cur, f)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if errs := f.validate(mwa); len(errs) > 0 {
		s.staffPage(w, r, cur, http.StatusUnprocessableEntity, f, errs, "")
		return
	}
	st := &store.Staff{FirstName: f.FirstName, LastName: f.LastName, LoginID: f.LoginID, Email: f.Email, MWAID: mwa.ID,
		Status: f.Status, IsAdmin: f.IsAdmin}
	s.staffSaved(w, r, cur, f, s.db.CreateStaff(r.Context(), st), "created")
}

// staffSaved answers a staff account's create or update: a duplicate MILogin
// ID or email re-displays the form with the field named, any other error is
// internal, and a saved account wakes the provisioning worker (its grant or
// revocation was queued in the same transaction) and returns to the list.
func (s *Server) staffSaved(w http.ResponseWriter, r *http.Request, cur *current, f staffForm, err error, done string) {
	if field, msg, ok := conflictField(err); ok {
		s.staffPage(w, r, cur, http.StatusConflict, f, map[string]string{field: msg}, "")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.log.Info("staff account "+done, "by", cur.staff.LoginID, "login_id", f.LoginID, "status", f.Status)
	s.cfg.Kick()
	http.Redirect(w, r, "/admin?done="+done, http.StatusSeeOther)
}

// staffByPath reads the staff account of the URL, if it belongs to the
// administrator's MWA (another MWA's accounts are not found).
func (s *Server) staffByPath(w http.ResponseWriter, r *http.Request, cur *current) (*store.Staff, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return nil, false
	}
	st, err := s.db.GetStaff(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && st.MWAID != cur.staff.MWAID {
		s.notFound(w, r)
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, err)
		return nil, false
	}
	return st, true
}

func (s *Server) handleEditStaff(w http.ResponseWriter, r *http.Request, cur *current) {
	st, ok := s.staffByPath(w, r, cur)
	if !ok {
		return
	}
	s.staffPage(w, r, cur, http.StatusOK, formOf(st), nil, "")
}

func (s *Server) handleUpdateStaff(w http.ResponseWriter, r *http.Request, cur *current) {
	old, ok := s.staffByPath(w, r, cur)
	if !ok {
		return
	}
	f := readStaffForm(r)
	f.ID, f.DeniedReason = old.ID, old.DeniedReason
	if !old.DeniedAt.IsZero() {
		f.DeniedAt = formOf(old).DeniedAt
	}
	mwa, err := s.chosenMWA(r, cur, f)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	errs := f.validate(mwa)
	if old.ID == cur.staff.ID && (f.Status != store.Active || !f.IsAdmin) && errs["status"] == "" {
		errs["status"] = "You cannot make your own account INACTIVE or remove your own administrator role."
	}
	if len(errs) > 0 {
		s.staffPage(w, r, cur, http.StatusUnprocessableEntity, f, errs, "")
		return
	}
	_, err = s.db.UpdateStaff(r.Context(), old.ID, func(st *store.Staff) error {
		st.FirstName, st.LastName, st.LoginID, st.Email = f.FirstName, f.LastName, f.LoginID, f.Email
		st.MWAID, st.Status, st.IsAdmin = mwa.ID, f.Status, f.IsAdmin
		return nil
	})
	s.staffSaved(w, r, cur, f, err, "updated")
}

type mwasData struct {
	MWAs           []*store.MWA // the administrator's own
	DomainFor      int64        // the agency whose Add domain form failed
	Domain         string
	DomainError    string
	SystemLinks    []*store.Link
	LinkLabel, URL string
}

var domainChars = func(d string) bool {
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (s *Server) mwasPage(w http.ResponseWriter, r *http.Request, cur *current, status int, d mwasData, errs map[string]string, flash string) {
	own, err := s.db.GetMWA(r.Context(), cur.staff.MWAID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	d.MWAs = []*store.MWA{own}
	s.page(w, r, status, "mwas", pageData{Title: "MWA email domains", Staff: cur.staff, Nav: "mwas", Errors: errs, Flash: flash, Data: d})
}

func (s *Server) handleMWAs(w http.ResponseWriter, r *http.Request, cur *current) {
	flash := map[string]string{"domain": "Email domains updated."}[r.URL.Query().Get("done")]
	s.mwasPage(w, r, cur, http.StatusOK, mwasData{}, nil, flash)
}

func (s *Server) handleAddDomain(w http.ResponseWriter, r *http.Request, cur *current) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	if id != cur.staff.MWAID {
		s.notFound(w, r)
		return
	}
	dom := store.NormDomain(r.PostFormValue("domain"))
	d := mwasData{DomainFor: id, Domain: r.PostFormValue("domain")}
	if !domainChars(dom) {
		d.DomainError = "Enter an email domain like miworks.org."
		s.mwasPage(w, r, cur, http.StatusUnprocessableEntity, d, nil, "")
		return
	}
	err = s.db.AddDomain(r.Context(), id, dom)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.Is(err, store.ErrConflict):
		d.DomainError = err.Error()
		s.mwasPage(w, r, cur, http.StatusConflict, d, nil, "")
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/mwas?done=domain", http.StatusSeeOther)
}

func (s *Server) handleRemoveDomain(w http.ResponseWriter, r *http.Request, cur *current) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	if id != cur.staff.MWAID {
		s.notFound(w, r)
		return
	}
	if err := s.db.RemoveDomain(r.Context(), id, r.PostFormValue("domain")); err != nil {
		s.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/mwas?done=domain", http.StatusSeeOther)
}

func (s *Server) linksPage(w http.ResponseWriter, r *http.Request, cur *current, status int, d mwasData, errs map[string]string, flash string) {
	var err error
	if d.SystemLinks, err = s.db.Links(r.Context()); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.page(w, r, status, "links", pageData{Title: "System links", Staff: cur.staff, Nav: "links", Errors: errs, Flash: flash, Data: d})
}

func (s *Server) handleLinks(w http.ResponseWriter, r *http.Request, cur *current) {
	flash := map[string]string{"added": "Link added.", "deleted": "Link removed."}[r.URL.Query().Get("done")]
	s.linksPage(w, r, cur, http.StatusOK, mwasData{}, nil, flash)
}

func (s *Server) handleAddLink(w http.ResponseWriter, r *http.Request, cur *current) {
	d := mwasData{LinkLabel: strings.TrimSpace(r.PostFormValue("label")), URL: strings.TrimSpace(r.PostFormValue("url"))}
	errs := map[string]string{}
	if d.LinkLabel == "" || utf8.RuneCountInString(d.LinkLabel) > 100 {
		errs["label"] = "Enter the link text (at most 100 characters)."
	}
	if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs["url"] = "Enter a full web address starting with https://."
	}
	if len(errs) > 0 {
		s.linksPage(w, r, cur, http.StatusUnprocessableEntity, d, errs, "")
		return
	}
	if err := s.db.AddLink(r.Context(), d.LinkLabel, d.URL); err != nil {
		s.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/links?done=added", http.StatusSeeOther)
}

func (s *Server) handleDeleteLink(w http.ResponseWriter, r *http.Request, cur *current) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	if err := s.db.DeleteLink(r.Context(), id); err != nil {
		s.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/links?done=deleted", http.StatusSeeOther)
}
