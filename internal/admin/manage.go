package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/oidc"
)

// QueueEntry is one access request or grant of an application.
type QueueEntry struct {
	Grant   *milogin.Grant
	Account *milogin.Account
}

// AppQueue is one application's requests and grants for its administrator.
type AppQueue struct {
	App     *milogin.Application
	Pending []QueueEntry
	Granted []QueueEntry
}

// Queues returns the access requests and grants of the applications appIDs.
func (s *Service) Queues(ctx context.Context, appIDs []string) ([]AppQueue, error) {
	var out []AppQueue
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		for _, id := range appIDs {
			app, err := tx.Apps().Get(ctx, id)
			if milogin.IsKind(err, milogin.ENOTFOUND) {
				continue // removed since the role was given
			}
			if err != nil {
				return err
			}
			q := AppQueue{App: app}
			for status, list := range map[milogin.GrantStatus]*[]QueueEntry{milogin.GrantPending: &q.Pending, milogin.GrantActive: &q.Granted} {
				gs, err := tx.Grants().ListByApp(ctx, id, status)
				if err != nil {
					return err
				}
				for _, g := range gs {
					a, err := tx.Accounts().Get(ctx, g.AccountID)
					if err != nil {
						return err
					}
					*list = append(*list, QueueEntry{Grant: g, Account: a})
				}
			}
			out = append(out, q)
		}
		return nil
	})
	return out, milogin.Wrap("admin.Queues", err)
}

func (s *Server) handleAccessQueue(w http.ResponseWriter, r *http.Request) {
	s.queuePage(w, r, http.StatusOK, r.URL.Query().Get("done"), nil, nil)
}

var decisionDone = map[string]string{
	"approve": "The request was approved and the person was emailed.",
	"deny":    "The request was denied and the person was emailed.",
	"revoke":  "The access was revoked and the person was emailed.",
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, status int, done string, vs []milogin.Violation, form url.Values) {
	st := staffOf(r)
	qs, err := s.svc.Queues(r.Context(), st.Apps())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, "access", &page{Title: "Access requests", Staff: st, Notice: decisionDone[done], Errors: vs, Form: form, Data: qs})
}

// handleAccessDecision approves or denies a request or revokes a grant,
// through internal/access (audited, the person emailed), for an
// application the staff member administers.
func (s *Server) handleAccessDecision(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	st := staffOf(r)
	appID, id, decision := r.PathValue("app"), r.PathValue("id"), r.PathValue("decision")
	if !st.AdminOf(appID) {
		s.render(w, r, http.StatusForbidden, "error", &page{Title: "Forbidden", Staff: st, Error: "You do not administer this application."})
		return
	}
	field := "reason-" + appID + "-" + id + "-" + decision
	raw := r.PostFormValue(field)
	reason, v := checkReason(raw)
	if v != nil && (decision != "approve" || raw != "") {
		v.Field = field
		s.queuePage(w, r, http.StatusUnprocessableEntity, "", []milogin.Violation{*v}, url.Values{field: {raw}})
		return
	}
	actor := access.Actor{ID: st.Account.ID, Meta: meta(r)}
	var err error
	switch decision {
	case "approve":
		_, err = s.svc.Access.Approve(r.Context(), appID, id, reason, actor)
	case "deny":
		_, err = s.svc.Access.Deny(r.Context(), appID, id, reason, actor)
	case "revoke":
		_, err = s.svc.Access.Revoke(r.Context(), appID, id, reason, actor)
	default:
		s.errorPage(w, r, http.StatusNotFound, "No such decision.")
		return
	}
	if err != nil {
		if k := milogin.ErrorKind(err); k == milogin.EINVALID || k == milogin.ECONFLICT || k == milogin.ENOTFOUND {
			s.queuePage(w, r, milogin.HTTPStatus(err), "", []milogin.Violation{{Field: field, Message: milogin.ErrorMessage(err)}}, nil)
			return
		}
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/admin/access?done="+decision)
}

// RotateSecret gives a confidential client a new secret, returned once and
// stored as a hash; the old one stops working.
func (s *Service) RotateSecret(ctx context.Context, appID string, actor Actor) (string, error) {
	const op = "admin.RotateSecret"
	secret := oidc.NewClientSecret()
	hash, err := s.Staff.Hasher.Hash(ctx, secret)
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	now := s.now()
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		_, err := tx.Apps().Update(ctx, appID, func(a *milogin.Application) error {
			if a.Client.Public {
				return milogin.Errorf(op, milogin.ECONFLICT, "A public client has no secret.")
			}
			a.Client.SecretHash, a.UpdatedAt = hash, now
			return nil
		})
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, milogin.EventAppChanged, "", actor, "", "", map[string]string{"app_id": appID, "changed": "client_secret"})
	})
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	return secret, nil
}

type appsData struct {
	Apps           []*milogin.Application
	Secret         string
	For            string
	Saved, Removed string
}

func (s *Server) handleApps(w http.ResponseWriter, r *http.Request) {
	s.appsPage(w, r, appsData{})
}

func (s *Server) appsPage(w http.ResponseWriter, r *http.Request, d appsData) {
	err := s.svc.Store.Read(r.Context(), func(tx milogin.Tx) (err error) {
		d.Apps, err = tx.Apps().List(r.Context(), "")
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "apps", &page{Title: "Applications and clients", Staff: staffOf(r), Data: d})
}

func (s *Server) handleRotateSecret(w http.ResponseWriter, r *http.Request) {
	st := staffOf(r)
	secret, err := s.svc.RotateSecret(r.Context(), r.PathValue("app"), Actor{ID: st.Account.ID, Meta: meta(r)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Shown once, in this response only (no-store): never stored or logged.
	s.appsPage(w, r, appsData{Secret: secret, For: r.PathValue("app")})
}

// Deviation is one place where a portal's policy departs from NIST SP
// 800-63B-4.
type Deviation struct {
	Rule, Policy, NIST string
}

// Deviations lists where p departs from NIST SP 800-63B-4 (§3.1.1 and
// §3.2.2): its composition rules, expiry, short minimum, security
// questions, lockout beyond the 100-failure cap.
func Deviations(p milogin.Policy) []Deviation {
	n := milogin.NISTPolicy()
	var out []Deviation
	if p.PasswordMinLength < n.PasswordMinLength {
		out = append(out, Deviation{"Minimum password length", itoa(p.PasswordMinLength) + " characters", "at least 15 characters when the password is the only factor (8 with MFA)"})
	}
	if p.PasswordMaxLength < 64 {
		out = append(out, Deviation{"Maximum password length", itoa(p.PasswordMaxLength) + " characters", "at least 64 characters allowed"})
	}
	if p.PasswordClasses > 0 {
		out = append(out, Deviation{"Composition rules", "characters from " + itoa(p.PasswordClasses) + " of 4 classes", "no composition rules (SHALL NOT)"})
	}
	if p.PasswordMaxAge > 0 {
		out = append(out, Deviation{"Password expiry", itoa(int(p.PasswordMaxAge.Hours()/24)) + " days", "no periodic change (SHALL NOT); change only on evidence of compromise"})
	}
	if p.SecurityQuestions {
		out = append(out, Deviation{"Security questions", "offered for recovery", "knowledge-based questions not used (SHALL NOT)"})
	}
	if p.MaxFailuresPerHour <= 0 || p.MaxFailuresPerHour > 100 {
		out = append(out, Deviation{"Failed attempts", "no hourly cap", "at most 100 consecutive failures"})
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

type policyView struct {
	Portal     milogin.Portal // as this node runs it
	Deviations []Deviation
	Editable   bool
	Form       url.Values // the form: stored policy, or what was typed
	Fields     []policyInput
	Pending    bool // a stored policy differs from the running one
	Saved      *milogin.PortalPolicy
}

type policyInput struct {
	ID, Name, Label, Value string
	Errors                 []string
}

func (s *Server) handlePolicies(w http.ResponseWriter, r *http.Request) {
	s.policiesPage(w, r, http.StatusOK, "", nil, nil)
}

// policiesPage shows every portal's running policy with its departures
// from NIST SP 800-63B-4 and, for resident portals, the form to change it.
func (s *Server) policiesPage(w http.ResponseWriter, r *http.Request, status int, notice string, vs []milogin.Violation, forms map[milogin.PortalID]url.Values) {
	stored, err := s.svc.storedPolicies(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &page{Title: "Portal policies", Staff: staffOf(r), Notice: notice, Errors: vs}
	var views []policyView
	for _, id := range ResidentPortals {
		portal, err := s.svc.Residents.Portal(id)
		if err != nil {
			continue
		}
		v := policyView{Portal: portal, Deviations: Deviations(portal.Policy), Editable: true}
		shown := portal.Policy
		if sp, ok := stored[id]; ok {
			v.Saved = &sp
			shown = sp.Policy
			v.Pending = fmt.Sprint(sp.Policy) != fmt.Sprint(portal.Policy)
		}
		v.Form = policyForm(shown)
		if f, ok := forms[id]; ok {
			v.Form = f
		}
		for _, f := range policyFields {
			in := policyInput{ID: string(id) + "-" + f.Name, Name: f.Name, Label: f.Label, Value: v.Form.Get(f.Name)}
			in.Errors = p.FieldErrors(in.ID)
			v.Fields = append(v.Fields, in)
		}
		views = append(views, v)
	}
	sp := milogin.StaffPortal()
	views = append(views, policyView{Portal: sp, Deviations: Deviations(sp.Policy)})
	p.Data = views
	s.render(w, r, status, "policies", p)
}

func (s *Server) handleRotateKeys(w http.ResponseWriter, r *http.Request) {
	st := staffOf(r)
	if s.cfg.Keys == nil {
		s.errorPage(w, r, http.StatusNotFound, "Key rotation is not available here.")
		return
	}
	fresh, err := s.cfg.Keys.Rotate(r.Context(), st.Account.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var ids []string
	for _, k := range fresh {
		ids = append(ids, k.Alg+" "+k.ID)
	}
	s.render(w, r, http.StatusOK, "policies-keys", &page{Title: "Signing keys rotated", Staff: st,
		Notice: "New signing keys are published now and sign tokens a minute from now: " + strings.Join(ids, ", ") + "."})
}

type staffRow struct {
	Account *milogin.Account
	Roles   []milogin.StaffGrant
}

type staffData struct {
	Staff []staffRow
	Apps  []*milogin.Application
	Link  string
}

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request, status int, p *page, link string) {
	d := staffData{Link: link}
	err := s.svc.Store.Read(r.Context(), func(tx milogin.Tx) error {
		gs, err := tx.Staff().List(r.Context())
		if err != nil {
			return err
		}
		for _, g := range gs {
			if n := len(d.Staff); n > 0 && d.Staff[n-1].Account.ID == g.AccountID {
				d.Staff[n-1].Roles = append(d.Staff[n-1].Roles, g)
				continue
			}
			a, err := tx.Accounts().Get(r.Context(), g.AccountID)
			if err != nil {
				return err
			}
			d.Staff = append(d.Staff, staffRow{Account: a, Roles: []milogin.StaffGrant{g}})
		}
		d.Apps, err = tx.Apps().List(r.Context(), "")
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Title, p.Staff, p.Data = "Staff accounts", staffOf(r), d
	s.render(w, r, status, "staff", p)
}

func (s *Server) handleStaffList(w http.ResponseWriter, r *http.Request) {
	s.staffPage(w, r, http.StatusOK, &page{}, "")
}

func (s *Server) handleStaffAdd(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	form := url.Values{}
	for _, k := range []string{"email", "name", "role", "app"} {
		form.Set(k, strings.TrimSpace(r.PostFormValue(k)))
	}
	n := NewStaff{Email: form.Get("email"), Name: form.Get("name")}
	if role, err := milogin.ParseStaffRole(form.Get("role")); err == nil {
		g := milogin.StaffGrant{Role: role}
		if role == milogin.RoleAppAdmin {
			g.AppID = form.Get("app")
		}
		n.Roles = []milogin.StaffGrant{g}
	}
	st := staffOf(r)
	res, err := s.svc.AddStaff(r.Context(), n, false, Actor{ID: st.Account.ID, Meta: meta(r)})
	if err != nil {
		switch milogin.ErrorKind(err) {
		case milogin.EINVALID, milogin.ECONFLICT:
			vs := milogin.ViolationsOf(err)
			if len(vs) == 0 {
				vs = []milogin.Violation{{Field: "email", Message: milogin.ErrorMessage(err)}}
			}
			s.staffPage(w, r, http.StatusUnprocessableEntity, &page{Errors: vs, Form: form}, "")
		default:
			s.fail(w, r, err)
		}
		return
	}
	notice := "Roles of " + res.Account.Email + ": " + RolesText(res.Roles) + "."
	s.staffPage(w, r, http.StatusOK, &page{Notice: notice}, res.Link)
}
