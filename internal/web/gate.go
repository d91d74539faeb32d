package web

import (
	"net/http"

	"milogin"
	"milogin/internal/access"
)

// appGate decides whether the signed-in person may enter the application of
// a parked sign-in (internal/access.Decide). It returns the authentication
// methods used ("pwd", and "mfa" with the factor when a second factor
// counts for this sign-in) and true to proceed; false when it has answered
// the request itself with the next step:
//
//   - the application is not offered in the portal: an error page;
//   - no access: the Access Denied page naming whom to contact (approval and
//     provisioned applications; an open one after access was revoked);
//   - an open application the person is not enrolled in: its Terms &
//     Conditions, and agreeing enrols them on the spot (no terms: enrolled
//     at once);
//   - terms never accepted, or accepted in an older version: the Terms &
//     Conditions dialog;
//   - the MFA policy asks (daily: no second factor for this application
//     today in the state's time zone; always; or the request asks): the
//     MILogin Multifactor Authentication (MFA) page.
//
// Each step's page posts back and returns to /continue?login=ID, which
// calls the gate again; the decisions are stored server-side (grants, terms
// acceptances, MFA events, the mark on the request), so any node can take
// the next request.
func (s *Server) appGate(w http.ResponseWriter, r *http.Request, p milogin.Portal, req *milogin.LoginRequest, si *signedIn) ([]string, bool) {
	ctx := r.Context()
	li, d, err := s.cfg.Access.Decide(ctx, req, si.Account, si.Session)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if d.Step == access.Enrol {
		// An open application without terms (or with its current terms
		// accepted): enrolling is the person's first launch of it. The
		// rules are applied again with the grant Agree gave.
		g, err := s.cfg.Access.Agree(ctx, si.Account, li.App.ID, li.App.TermsVersion, actorOf(r, si.Account))
		if err != nil {
			s.fail(w, r, err)
			return nil, false
		}
		li.Grant = g
		d = s.cfg.Access.Apply(li, req, si.Session)
	}
	switch d.Step {
	case access.Enter:
		return d.AMR, true
	case access.Denied:
		if err := s.cfg.Access.LaunchDenied(ctx, si.Account, li.App.ID, d.Reason, actorOf(r, si.Account)); err != nil {
			s.fail(w, r, err)
			return nil, false
		}
		if !li.App.InPortal(p.ID) {
			s.errorPage(w, r, http.StatusForbidden, "This application is not offered in "+p.Name+".")
			return nil, false
		}
		s.renderAccessDenied(w, r, p, si.Account, li.App, li.Grant)
		return nil, false
	case access.Terms:
		s.renderTerms(w, r, http.StatusOK, &page{Portal: p, Account: si.Account}, termsData{
			App: li.App, Action: "/" + string(p.ID) + "/continue/terms", LoginID: req.ID, Enrols: d.Enrols})
		return nil, false
	case access.MFA:
		s.renderMFA(w, r, http.StatusOK, &page{Portal: p, Account: si.Account}, &loginFlow{req: req, si: si}, li.App)
		return nil, false
	}
	s.fail(w, r, milogin.Errorf("web.appGate", milogin.EINTERNAL, ""))
	return nil, false
}
