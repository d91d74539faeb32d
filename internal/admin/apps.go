package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"milogin"
	"milogin/internal/oidc"
)

// The audit types of the catalog, as `milogin apps` writes them.
const (
	eventAppRegistered = "app.registered"
	eventAppUpdated    = "app.updated"
	eventAppRemoved    = "app.removed"
)

// appFromForm applies the application form to a (a copy of the stored one,
// or a new one), naming each field that fails. The client ID is the
// application ID and "public" is chosen once, when it is registered.
func appFromForm(a *milogin.Application, form url.Values, create bool) []milogin.Violation {
	var vs []milogin.Violation
	bad := func(field, msg string) {
		vs = append(vs, milogin.Violation{Field: field, Rule: milogin.RuleRequired, Message: msg})
	}
	text := func(name string, max int) string {
		v := strings.TrimSpace(form.Get(name))
		if utf8.RuneCountInString(v) > max || !utf8.ValidString(v) {
			bad(name, "At most "+itoa(max)+" characters.")
		}
		return v
	}
	lines := func(name string) []string {
		var out []string
		for _, l := range strings.Split(form.Get(name), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	if create {
		a.ID = strings.TrimSpace(form.Get("id"))
		if !oidc.ValidClientID(a.ID) {
			bad("id", "Application ID: use 1 to 64 lower-case letters, digits, '.', '-' or '_'.")
		}
		a.Client.ID = a.ID
		a.Client.Public = form.Get("public") == "on"
		a.Client.GrantTypes = oidc.DefaultGrantTypes(a.Client.Public)
	}
	if a.Name = text("name", 200); a.Name == "" {
		bad("name", "Name is required.")
	}
	a.Category = text("category", 100)
	a.Portals = nil
	for _, p := range ResidentPortals {
		if slices.Contains(form["portal"], string(p)) {
			a.Portals = append(a.Portals, p)
		}
	}
	if len(a.Portals) == 0 {
		bad("portal-citizen", "Choose at least one portal.")
	}
	switch m := milogin.ApprovalModel(form.Get("approval")); m {
	case milogin.ApprovalOpen, milogin.ApprovalRequired, milogin.ApprovalProvisioned:
		a.Approval = m
	default:
		bad("approval", "Choose an approval model.")
	}
	switch m := milogin.MFAPolicy(form.Get("mfa")); m {
	case milogin.MFANone, milogin.MFADaily, milogin.MFAAlways:
		a.MFA = m
	default:
		bad("mfa", "Choose an MFA policy.")
	}
	a.Client.RedirectURIs = lines("redirect_uris")
	a.Client.PostLogoutURIs = lines("post_logout_uris")
	a.Client.BackchannelLogoutURI = text("backchannel_uri", 500)
	switch alg := form.Get("id_token_alg"); alg {
	case "", "RS256":
		a.Client.IDTokenAlg = ""
	case "ES256":
		a.Client.IDTokenAlg = alg
	default:
		bad("id_token_alg", "Choose RS256 or ES256.")
	}
	a.LaunchURL = text("launch_url", 500)
	if a.LaunchURL != "" {
		if u, err := url.Parse(a.LaunchURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("launch_url", "The launch URL must be an http(s) URL.")
		}
	}
	a.Contact = text("contact", 200)
	terms := strings.TrimSpace(strings.ReplaceAll(form.Get("terms"), "\r\n", "\n"))
	if len(terms) > 64<<10 {
		bad("terms", "The terms may be at most 64 KB.")
	} else if terms != a.TermsText {
		a.TermsText = terms
		a.TermsVersion++ // a new version asks everyone again
	}
	if len(vs) > 0 {
		return vs
	}
	c := a.Client
	if !c.Public && c.SecretHash == "" {
		c.SecretHash = "pending" // the secret is made once the rest is valid
	}
	if err := oidc.ValidateClient(&c); err != nil {
		field := "redirect_uris"
		if msg := milogin.ErrorMessage(err); strings.Contains(msg, "post-logout") {
			field = "post_logout_uris"
		} else if strings.Contains(msg, "back-channel") {
			field = "backchannel_uri"
		}
		bad(field, milogin.ErrorMessage(err))
	}
	return vs
}

// SaveApp registers (create) or changes an application from the form. A
// new confidential client's secret is returned once and stored as a hash.
func (s *Service) SaveApp(ctx context.Context, actor Actor, id string, form url.Values, create bool) (*milogin.Application, string, error) {
	const op = "admin.SaveApp"
	now := s.now()
	var a *milogin.Application
	if create {
		a = &milogin.Application{CreatedAt: now}
	} else {
		err := s.Store.Read(ctx, func(tx milogin.Tx) (err error) {
			a, err = tx.Apps().Get(ctx, id)
			return err
		})
		if err != nil {
			return nil, "", milogin.Wrap(op, err)
		}
	}
	if vs := appFromForm(a, form, create); len(vs) > 0 {
		return a, "", milogin.Invalid(op, vs)
	}
	secret := ""
	if create && !a.Client.Public {
		secret = oidc.NewClientSecret()
		h, err := s.Staff.Hasher.Hash(ctx, secret)
		if err != nil {
			return nil, "", milogin.Wrap(op, err)
		}
		a.Client.SecretHash = h
	}
	a.UpdatedAt = now
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		typ := eventAppRegistered
		if create {
			if err := tx.Apps().Create(ctx, a); err != nil {
				return err
			}
		} else {
			typ = eventAppUpdated
			if _, err := tx.Apps().Update(ctx, a.ID, func(x *milogin.Application) error {
				keep := x.Client.SecretHash
				*x = *a
				x.Client.SecretHash = keep // never from the form
				return nil
			}); err != nil {
				return err
			}
		}
		var ps []string
		for _, p := range a.Portals {
			ps = append(ps, string(p))
		}
		return appendAudit(ctx, tx, now, typ, "", actor, "", "", map[string]string{"app_id": a.ID, "portals": strings.Join(ps, ",")})
	})
	if err != nil {
		return a, "", milogin.Wrap(op, err)
	}
	return a, secret, nil
}

// RemoveApp removes an application and revokes every token of its client.
func (s *Service) RemoveApp(ctx context.Context, actor Actor, id string) error {
	now := s.now()
	return milogin.Wrap("admin.RemoveApp", s.Store.Write(ctx, func(tx milogin.Tx) error {
		a, err := tx.Apps().Get(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.Apps().Delete(ctx, id); err != nil {
			return err
		}
		if _, err := tx.OAuthTokens().RevokeByClient(ctx, a.Client.ID, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, eventAppRemoved, "", actor, "", "", map[string]string{"app_id": id})
	}))
}

type appFormData struct {
	Create  bool
	App     *milogin.Application
	Portals []milogin.PortalID
}

// appForm returns the form values of a stored application.
func appForm(a *milogin.Application) url.Values {
	v := url.Values{"id": {a.ID}, "name": {a.Name}, "category": {a.Category}, "approval": {string(a.Approval)}, "mfa": {string(a.MFA)},
		"redirect_uris": {strings.Join(a.Client.RedirectURIs, "\n")}, "post_logout_uris": {strings.Join(a.Client.PostLogoutURIs, "\n")},
		"backchannel_uri": {a.Client.BackchannelLogoutURI}, "id_token_alg": {a.Client.IDTokenAlg}, "launch_url": {a.LaunchURL},
		"contact": {a.Contact}, "terms": {a.TermsText}}
	for _, p := range a.Portals {
		v.Add("portal", string(p))
	}
	if a.Client.Public {
		v.Set("public", "on")
	}
	return v
}

func (s *Server) appPage(w http.ResponseWriter, r *http.Request, status int, create bool, a *milogin.Application, form url.Values, vs []milogin.Violation) {
	title := "Register an application"
	if !create {
		title = "Application " + a.ID
	}
	s.render(w, r, status, "app", &page{Title: title, Staff: staffOf(r), Form: form, Errors: vs,
		Data: appFormData{Create: create, App: a, Portals: ResidentPortals}})
}

func (s *Server) handleAppNew(w http.ResponseWriter, r *http.Request) {
	s.appPage(w, r, http.StatusOK, true, &milogin.Application{}, url.Values{"approval": {"open"}, "mfa": {"none"}}, nil)
}

func (s *Server) handleAppEdit(w http.ResponseWriter, r *http.Request) {
	var a *milogin.Application
	err := s.svc.Store.Read(r.Context(), func(tx milogin.Tx) (err error) {
		a, err = tx.Apps().Get(r.Context(), r.PathValue("app"))
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.appPage(w, r, http.StatusOK, false, a, appForm(a), nil)
}

func (s *Server) handleAppSave(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	st := staffOf(r)
	id := r.PathValue("app")
	create := id == ""
	a, secret, err := s.svc.SaveApp(r.Context(), Actor{ID: st.Account.ID, Meta: meta(r)}, id, r.PostForm, create)
	if err != nil {
		switch milogin.ErrorKind(err) {
		case milogin.EINVALID:
			s.appPage(w, r, http.StatusUnprocessableEntity, create, a, r.PostForm, milogin.ViolationsOf(err))
		case milogin.ECONFLICT:
			s.appPage(w, r, http.StatusConflict, create, a, r.PostForm, []milogin.Violation{{Field: "id", Message: milogin.ErrorMessage(err)}})
		default:
			s.fail(w, r, err)
		}
		return
	}
	s.appsPage(w, r, appsData{Secret: secret, For: a.ID, Saved: a.ID})
}

func (s *Server) handleAppRemove(w http.ResponseWriter, r *http.Request) {
	st := staffOf(r)
	if err := s.svc.RemoveApp(r.Context(), Actor{ID: st.Account.ID, Meta: meta(r)}, r.PathValue("app")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.appsPage(w, r, appsData{Removed: r.PathValue("app")})
}
