package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"milogin"
)

// activityPage is how many events one page of Your Activity shows.
const activityPage = 50

// activityRow is one line of Your Activity, in words.
type activityRow struct {
	Time    time.Time
	What    string
	Kind    string // sign-in, change, access, help desk
	By      string // "You", "Help desk: Helen Desk", "OSMIS", "MILogin"
	Reason  string
	Device  string
	IP      string
	HelpDsk bool
}

// eventWords names the events a person sees on Your Activity; other
// events (protocol bookkeeping) are not shown.
var eventWords = map[string][2]string{
	milogin.EventSignIn:             {"sign-in", "Signed in"},
	milogin.EventSignInFailed:       {"sign-in", "Sign-in failed (wrong password)"},
	milogin.EventSignInLocked:       {"sign-in", "Sign-in refused: the account was locked"},
	milogin.EventSignInDisabled:     {"sign-in", "Sign-in refused: the account was disabled"},
	milogin.EventSignOut:            {"sign-in", "Signed out"},
	milogin.EventSessionTakeover:    {"sign-in", "Another session was logged out"},
	milogin.EventMFASuccess:         {"sign-in", "Second factor passed"},
	milogin.EventMFAFailed:          {"sign-in", "Second factor failed"},
	milogin.EventLockout:            {"change", "Account locked after too many failed sign-ins"},
	milogin.EventUnlock:             {"change", "Account unlocked"},
	milogin.EventDisabledInactive:   {"change", "Account disabled after 18 months without a sign-in"},
	milogin.EventReactivated:        {"change", "Account reactivated"},
	milogin.EventAccountDeactivated: {"change", "Account deactivated"},
	milogin.EventAccountCreated:     {"change", "Account created"},
	milogin.EventPasswordChanged:    {"change", "Password changed"},
	milogin.EventPasswordReset:      {"change", "Password reset"},
	milogin.EventProfileChanged:     {"change", "Profile updated"},
	milogin.EventTOTPEnrolled:       {"change", "Authenticator app set up"},
	milogin.EventTOTPRemoved:        {"change", "Authenticator app removed"},
	milogin.EventPasskeyAdded:       {"change", "Passkey added"},
	milogin.EventPasskeyRemoved:     {"change", "Passkey removed"},
	milogin.EventSessionsEnded:      {"change", "Every session was ended"},
	milogin.EventUserIDResent:       {"change", "User ID emailed to you"},
	milogin.EventResetSent:          {"change", "Password reset link emailed to you"},
	milogin.EventAccessRequested:    {"access", "Access requested"},
	milogin.EventAccessGranted:      {"access", "Access granted"},
	milogin.EventAccessDenied:       {"access", "Access request denied"},
	milogin.EventAccessRevoked:      {"access", "Access revoked"},
	milogin.EventLaunchDenied:       {"access", "Access denied at sign-in to an application"},
	milogin.EventTermsAccepted:      {"access", "Terms & Conditions accepted"},
	milogin.EventTermsDeclined:      {"access", "Terms & Conditions declined"},
}

func (s *Server) activityRows(r *http.Request, a *milogin.Account, before int64) ([]activityRow, int64, error) {
	var events []*milogin.AuditEvent
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) (err error) {
		events, err = tx.Audit().List(r.Context(), milogin.AuditFilter{SubjectID: a.ID, Before: before, Limit: activityPage})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var rows []activityRow
	apps := map[string]string{}
	for _, e := range events {
		w, ok := eventWords[e.Type]
		if !ok {
			continue
		}
		row := activityRow{Time: e.Time, Kind: w[0], What: w[1], Reason: e.Reason, IP: e.IP}
		if e.UserAgent != "" {
			row.Device = milogin.Device(e.UserAgent)
		}
		if app := e.Detail["app"]; app != "" {
			if _, ok := apps[app]; !ok {
				apps[app] = app
				_ = s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) error {
					if x, err := tx.Apps().Get(r.Context(), app); err == nil {
						apps[app] = x.Name
					}
					return nil
				})
			}
			row.What += ": " + apps[app]
		}
		switch {
		case e.ActorKind == milogin.ActorStaff:
			row.By, row.Kind, row.HelpDsk = "Help desk: "+e.ActorName, "help desk", true
		case e.ActorID == a.ID:
			row.By = "You"
		case e.ActorKind == milogin.ActorApplication:
			row.By = e.ActorName
		default:
			row.By = "MILogin"
		}
		rows = append(rows, row)
	}
	var next int64
	if len(events) == activityPage {
		next = events[len(events)-1].ID
	}
	return rows, next, nil
}

type activityData struct {
	Rows []activityRow
	Next string
}

// handleActivity is Your Activity: the person's own sign-ins, changes,
// access decisions and every help-desk action on the account, with the
// staff member's name and reason.
func (s *Server) handleActivity(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	si := sessionOf(r)
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			s.errorPage(w, r, http.StatusBadRequest, "That page of your activity is not available.")
			return
		}
		before = n
	}
	rows, next, err := s.activityRows(r, si.Account, before)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := activityData{Rows: rows}
	if next > 0 {
		d.Next = "/" + string(p.ID) + "/activity?before=" + strconv.FormatInt(next, 10)
	}
	s.render(w, r, http.StatusOK, "activity", &page{Title: "Your Activity", Portal: p, Account: si.Account, Data: d})
}

// The download: everything MILogin holds about the account except secrets
// (password hashes, authenticator keys, security answers, codes, tokens).
type dataExport struct {
	ExportedAt   time.Time         `json:"exported_at"`
	Account      exportAccount     `json:"account"`
	Recovery     exportRecovery    `json:"recovery"`
	SecondFactor exportFactors     `json:"second_factors"`
	Applications []exportGrant     `json:"applications"`
	Sessions     []exportSession   `json:"sessions"`
	Activity     []exportEvent     `json:"activity"`
	Messages     []exportMessage   `json:"messages"`
	Notes        map[string]string `json:"notes"`
}

type exportAccount struct {
	ID                string    `json:"id"`
	Portal            string    `json:"portal"`
	UserID            string    `json:"user_id"`
	FirstName         string    `json:"first_name"`
	MiddleInitial     string    `json:"middle_initial"`
	LastName          string    `json:"last_name"`
	Suffix            string    `json:"suffix"`
	Email             string    `json:"email"`
	EmailVerified     bool      `json:"email_verified"`
	WorkPhone         string    `json:"work_phone"`
	Mobile            string    `json:"mobile"`
	Status            string    `json:"status"`
	LockedUntil       time.Time `json:"locked_until,omitzero"`
	FailedSignIns     int       `json:"failed_sign_ins"`
	LastSignIn        time.Time `json:"last_sign_in,omitzero"`
	PasswordChangedAt time.Time `json:"password_changed_at,omitzero"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

type exportRecovery struct {
	ByEmail           bool `json:"by_email"`
	ByMobile          bool `json:"by_mobile"`
	SecurityQuestions int  `json:"security_questions_on_file"`
}

type exportFactors struct {
	AuthenticatorApp bool            `json:"authenticator_app"`
	Passkeys         []exportPasskey `json:"passkeys"`
}

type exportPasskey struct {
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

type exportGrant struct {
	App           string    `json:"app"`
	Status        string    `json:"status"`
	RequestedAt   time.Time `json:"requested_at,omitzero"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	Reason        string    `json:"reason,omitempty"`
	TermsAccepted int       `json:"terms_version_accepted,omitempty"`
}

type exportSession struct {
	SignedIn time.Time `json:"signed_in"`
	LastSeen time.Time `json:"last_seen"`
	Device   string    `json:"device"`
	IP       string    `json:"ip"`
}

type exportEvent struct {
	Time   time.Time         `json:"time"`
	Type   string            `json:"type"`
	Actor  string            `json:"actor"`
	Kind   string            `json:"actor_kind"`
	IP     string            `json:"ip,omitempty"`
	Device string            `json:"device,omitempty"`
	Reason string            `json:"reason,omitempty"`
	Detail map[string]string `json:"detail,omitempty"`
}

type exportMessage struct {
	Time    time.Time `json:"time"`
	Channel string    `json:"channel"`
	To      string    `json:"to"`
	Subject string    `json:"subject,omitempty"`
}

// maxExportEvents bounds the activity in one download.
const maxExportEvents = 10000

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	si := sessionOf(r)
	a := si.Account
	d := dataExport{ExportedAt: s.cfg.Auth.Now().UTC(), Notes: map[string]string{
		"secrets": "Passwords, authenticator keys, security answers, PINs and session tokens are stored only as hashes or sealed, and are not included.",
	}}
	d.Account = exportAccount{ID: a.ID, Portal: string(a.Portal), UserID: a.UserID, FirstName: a.FirstName, MiddleInitial: a.MiddleInitial,
		LastName: a.LastName, Suffix: a.Suffix, Email: a.Email, EmailVerified: a.EmailVerified, WorkPhone: a.WorkPhone, Mobile: a.Mobile,
		Status: string(a.Status), LockedUntil: a.LockedUntil, FailedSignIns: a.FailedLogins, LastSignIn: a.LastLoginAt,
		PasswordChangedAt: a.PasswordChangedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	d.Recovery = exportRecovery{ByEmail: a.RecoverByEmail, ByMobile: a.RecoverByMobile}
	err := s.cfg.Store.Read(r.Context(), func(tx milogin.Tx) error {
		ctx := r.Context()
		answers, err := tx.SecurityAnswers().List(ctx, a.ID)
		if err != nil {
			return err
		}
		d.Recovery.SecurityQuestions = len(answers)
		if k, err := tx.TOTP().Get(ctx, a.ID); err == nil {
			d.SecondFactor.AuthenticatorApp = k.Confirmed
		} else if !milogin.IsKind(err, milogin.ENOTFOUND) {
			return err
		}
		creds, err := tx.WebAuthn().ListByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, c := range creds {
			d.SecondFactor.Passkeys = append(d.SecondFactor.Passkeys, exportPasskey{c.Name, c.CreatedAt, c.LastUsedAt})
		}
		grants, err := tx.Grants().ListByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			eg := exportGrant{App: g.AppID, Status: string(g.Status), RequestedAt: g.RequestedAt, DecidedAt: g.DecidedAt, Reason: g.Reason}
			if t, err := tx.Grants().Terms(ctx, g.AppID, a.ID); err == nil {
				eg.TermsAccepted = t.Version
			}
			d.Applications = append(d.Applications, eg)
		}
		sessions, err := tx.Sessions().ListByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, x := range sessions {
			d.Sessions = append(d.Sessions, exportSession{x.CreatedAt, x.LastSeenAt, milogin.Device(x.UserAgent), x.IP})
		}
		var before int64
		for len(d.Activity) < maxExportEvents {
			es, err := tx.Audit().List(ctx, milogin.AuditFilter{SubjectID: a.ID, Before: before, Limit: 1000})
			if err != nil {
				return err
			}
			for _, e := range es {
				d.Activity = append(d.Activity, exportEvent{Time: e.Time, Type: e.Type, Actor: e.ActorName, Kind: e.ActorKind,
					IP: e.IP, Device: deviceOrEmpty(e.UserAgent), Reason: e.Reason, Detail: e.Detail})
			}
			if len(es) < 1000 {
				break
			}
			before = es[len(es)-1].ID
		}
		// Emails only: a mobile number may be shared by several accounts,
		// whose texts are not this person's data.
		for _, to := range []string{a.Email} {
			if to == "" {
				continue
			}
			ms, err := tx.Outbox().List(ctx, milogin.MessageFilter{To: to, Limit: 1000})
			if err != nil {
				return err
			}
			for _, m := range ms {
				// The subject only: bodies can carry PINs.
				d.Messages = append(d.Messages, exportMessage{m.CreatedAt, string(m.Channel), m.To, m.Subject})
			}
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		s.fail(w, r, milogin.Wrap("web.handleDownload", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="milogin-`+safeFile(a.UserID)+`.json"`)
	_, _ = w.Write(b)
}

func deviceOrEmpty(ua string) string {
	if ua == "" {
		return ""
	}
	return milogin.Device(ua)
}

func safeFile(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// handleResetLink opens a password-reset link the help desk sent: it puts
// the link's flow behind the usual cookie and continues at 4 New Password.
// The token itself leaves the address bar at once.
func (s *Server) handleResetLink(w http.ResponseWriter, r *http.Request) {
	p := portalOf(r)
	token := r.URL.Query().Get("t")
	var st milogin.PasswordReset
	if token == "" || len(token) > 128 {
		s.errorPage(w, r, http.StatusGone, "This password reset link has expired or has already been used. Please use Forgot your password? or call the help desk.")
		return
	}
	if _, err := s.cfg.Auth.FlowState(r.Context(), milogin.FlowResetPassword, p.ID, token, &st); err != nil || !st.Verified {
		s.errorPage(w, r, http.StatusGone, "This password reset link has expired or has already been used. Please use Forgot your password? or call the help desk.")
		return
	}
	s.setFlowCookie(w, milogin.FlowResetPassword, p.ID, token)
	redirect(w, r, portalPath(p, "/forgot-password/new-password"))
}
