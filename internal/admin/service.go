package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
	"milogin/internal/mfa"
	"milogin/internal/notify"
)

// EnrolLife is how long an enrolment link works.
const EnrolLife = 24 * time.Hour

// ResetLinkLife is how long a password-reset link sent by the help desk works.
const ResetLinkLife = 24 * time.Hour

// MaxReason bounds the reason staff give for an action.
const MaxReason = 500

// Service is what the console does, apart from HTTP: the command line
// (milogin admin …) and the pages both call it.
type Service struct {
	Store milogin.Store
	// Residents is the residents' authn service (its portals and policies).
	Residents *authn.Service
	// Staff is an authn service over the staff portal only.
	Staff  *authn.Service
	MFA    *mfa.Service
	Access *access.Service
	// BaseURL is the public URL, for links in emails and enrolment links.
	BaseURL string
	Now     func() time.Time
	Kick    func()
	Logger  *slog.Logger
}

// NewService returns a Service whose staff sign-in shares residents'
// store, hasher and limits but knows only the staff portal.
func NewService(store milogin.Store, residents *authn.Service, m *mfa.Service, acc *access.Service, baseURL string) *Service {
	staff := *residents
	staff.Portals = map[milogin.PortalID]milogin.Portal{milogin.Staff: milogin.StaffPortal()}
	return &Service{
		Store: store, Residents: residents, Staff: &staff, MFA: m, Access: acc,
		BaseURL: strings.TrimRight(baseURL, "/"), Now: residents.Now, Kick: residents.Kick, Logger: residents.Logger,
	}
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) kick() {
	if s.Kick != nil {
		s.Kick()
	}
}

// Actor is who performs an action: a staff account (ID) or the command
// line ("cli"), with the request behind it.
type Actor struct {
	ID   string
	Meta authn.Meta
}

func appendAudit(ctx context.Context, tx milogin.Tx, now time.Time, typ string, portal milogin.PortalID, actor Actor, subject, reason string, detail map[string]string) error {
	return tx.Audit().Append(ctx, &milogin.AuditEvent{
		Time: now, Type: typ, Portal: portal, ActorID: actor.ID, SubjectID: subject,
		IP: actor.Meta.IP, UserAgent: actor.Meta.UserAgent, Reason: reason, Detail: detail,
	})
}

func queueMail(ctx context.Context, tx milogin.Tx, now time.Time, to, name string, data any) error {
	if to == "" {
		return nil
	}
	m, err := notify.Compose(milogin.ChannelEmail, to, name, data)
	if err != nil {
		return err
	}
	m.CreatedAt, m.NextAttemptAt = now, now
	return tx.Outbox().Enqueue(ctx, m)
}

// NewStaff is a staff account to create (or a role to add to one).
type NewStaff struct {
	Email string
	Name  string
	Roles []milogin.StaffGrant
}

// StaffResult is what adding staff yields. Link is the one-time enrolment
// link, "" when the account had already enrolled (a role was added).
type StaffResult struct {
	Account *milogin.Account
	Roles   []milogin.StaffGrant
	Link    string
	Created bool
}

func splitName(name string) (first, last string) {
	f := strings.Fields(name)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return f[0], f[0]
	}
	return strings.Join(f[:len(f)-1], " "), f[len(f)-1]
}

// validateStaff checks the fields of n, naming each that fails.
func validateStaff(n *NewStaff) []milogin.Violation {
	n.Email, n.Name = strings.TrimSpace(n.Email), strings.Join(strings.Fields(n.Name), " ")
	var vs []milogin.Violation
	if !authn.ValidEmail(n.Email) {
		vs = append(vs, milogin.Violation{Field: "email", Rule: milogin.RuleRequired, Message: "Enter a valid work email address."})
	}
	if n.Name == "" || len(n.Name) > 100 {
		vs = append(vs, milogin.Violation{Field: "name", Rule: milogin.RuleRequired, Message: "Enter the staff member's name (at most 100 characters)."})
	}
	if len(n.Roles) == 0 {
		vs = append(vs, milogin.Violation{Field: "role", Rule: milogin.RuleRequired, Message: "Choose a role."})
	}
	for _, g := range n.Roles {
		if g.Role == milogin.RoleAppAdmin && g.AppID == "" {
			vs = append(vs, milogin.Violation{Field: "app", Rule: milogin.RuleRequired, Message: "An application administrator needs an application (--app)."})
		}
		if g.Role != milogin.RoleAppAdmin && g.AppID != "" {
			vs = append(vs, milogin.Violation{Field: "app", Rule: milogin.RuleRequired, Message: "Only an application administrator is given an application."})
		}
	}
	return vs
}

// AddStaff creates a staff account with its roles and a one-time enrolment
// link, or adds the roles to an existing staff account (a fresh link only
// if it has not enrolled yet). With bootstrap it refuses (ECONFLICT) once
// any security administrator exists: it makes the first one.
func (s *Service) AddStaff(ctx context.Context, n NewStaff, bootstrap bool, actor Actor) (*StaffResult, error) {
	const op = "admin.AddStaff"
	if vs := validateStaff(&n); len(vs) > 0 {
		return nil, milogin.Invalid(op, vs)
	}
	now := s.now()
	unusable, err := s.unusableHash(ctx)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	var res *StaffResult
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		res = &StaffResult{}
		for _, g := range n.Roles {
			if g.AppID == "" {
				continue
			}
			if _, err := tx.Apps().Get(ctx, g.AppID); err != nil {
				if milogin.IsKind(err, milogin.ENOTFOUND) {
					return milogin.Errorf(op, milogin.EINVALID, "There is no application %q.", g.AppID)
				}
				return err
			}
		}
		if bootstrap {
			all, err := tx.Staff().List(ctx)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(all, func(g milogin.StaffGrant) bool { return g.Role == milogin.RoleSecurity }) {
				return milogin.Errorf(op, milogin.ECONFLICT, "A security administrator already exists; add staff with \"milogin admin add\" or in the console.")
			}
		}
		a, err := tx.Accounts().GetByUserID(ctx, milogin.Staff, n.Email)
		switch {
		case milogin.IsKind(err, milogin.ENOTFOUND):
			first, last := splitName(n.Name)
			a = &milogin.Account{
				ID: authn.NewID(), Portal: milogin.Staff, UserID: milogin.NormalizeLogin(n.Email),
				FirstName: first, LastName: last, Email: n.Email, Status: milogin.StatusActive,
				PasswordHash: unusable, CreatedAt: now, UpdatedAt: now,
			}
			if err := tx.Accounts().Create(ctx, a); err != nil {
				return err
			}
			res.Created = true
			if err := appendAudit(ctx, tx, now, milogin.EventStaffCreated, milogin.Staff, actor, a.ID, "", map[string]string{"email": a.Email}); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		res.Account = a
		have, err := tx.Staff().Roles(ctx, a.ID)
		if err != nil {
			return err
		}
		roles := slices.Clone(have)
		for _, g := range n.Roles {
			g.AccountID, g.CreatedAt = a.ID, now
			if !slices.ContainsFunc(roles, func(h milogin.StaffGrant) bool { return h.Role == g.Role && h.AppID == g.AppID }) {
				roles = append(roles, g)
			}
		}
		if err := tx.Staff().SetRoles(ctx, a.ID, roles); err != nil {
			return err
		}
		res.Roles = roles
		if err := appendAudit(ctx, tx, now, milogin.EventStaffRolesChanged, milogin.Staff, actor, a.ID, "", map[string]string{"roles": RolesText(roles)}); err != nil {
			return err
		}
		if Enrolled(a) {
			return nil // enrolled already
		}
		token, id := authn.NewToken()
		if err := tx.Flows().Create(ctx, &milogin.Flow{ID: id, Kind: milogin.FlowStaffEnrol, Portal: milogin.Staff, Subject: a.ID,
			State: []byte("{}"), CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(EnrolLife)}); err != nil {
			return err
		}
		res.Link = s.BaseURL + "/admin/enrol?t=" + url.QueryEscape(token)
		return nil
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return res, nil
}

// Enrolled reports whether a staff account has chosen its password through
// an enrolment link. Until then its hash is of a random secret nobody knows.
func Enrolled(a *milogin.Account) bool { return !a.PasswordChangedAt.IsZero() }

// unusableHash is the password hash of a staff account before enrolment: a
// real argon2id hash (so sign-in does the same work and fails like a wrong
// password) of 256 random bits that are thrown away.
func (s *Service) unusableHash(ctx context.Context) (string, error) {
	secret, _ := authn.NewToken()
	return s.Staff.Hasher.Hash(ctx, secret)
}

// RolesText writes grants for people: "appadmin (osmis), helpdesk".
func RolesText(gs []milogin.StaffGrant) string {
	var out []string
	for _, g := range gs {
		if g.AppID != "" {
			out = append(out, fmt.Sprintf("%s (%s)", g.Role, g.AppID))
		} else {
			out = append(out, string(g.Role))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// MsgEnrolExpired is shown for a used, expired or unknown enrolment link.
const MsgEnrolExpired = "This enrolment link has expired or has already been used. Ask a security administrator for a new one."

// enrolment loads the staff account behind an enrolment token.
func (s *Service) enrolment(ctx context.Context, token string) (*milogin.Flow, *milogin.Account, error) {
	const op = "admin.enrolment"
	gone := milogin.Errorf(op, milogin.EEXPIRED, MsgEnrolExpired)
	if token == "" || len(token) > 128 {
		return nil, nil, gone
	}
	var f *milogin.Flow
	var a *milogin.Account
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		if f, err = tx.Flows().Get(ctx, authn.TokenID(token)); err != nil {
			return err
		}
		a, err = tx.Accounts().Get(ctx, f.Subject)
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, nil, gone
	}
	if err != nil {
		return nil, nil, milogin.Wrap(op, err)
	}
	if f.Kind != milogin.FlowStaffEnrol || f.Portal != milogin.Staff || !f.Live(s.now()) || a.Portal != milogin.Staff {
		return nil, nil, gone
	}
	return f, a, nil
}

// EnrolPage returns the account and its authenticator enrolment (QR code and
// key), starting one if none is pending.
func (s *Service) EnrolPage(ctx context.Context, token string) (*milogin.Account, *mfa.TOTPEnrolment, error) {
	const op = "admin.EnrolPage"
	_, a, err := s.enrolment(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.MFA.TOTPStatus(ctx, a)
	if err != nil {
		return nil, nil, milogin.Wrap(op, err)
	}
	if st.Pending == nil {
		if st.Confirmed {
			return nil, nil, milogin.Errorf(op, milogin.EEXPIRED, MsgEnrolExpired)
		}
		if err := s.MFA.BeginTOTP(ctx, a); err != nil {
			return nil, nil, milogin.Wrap(op, err)
		}
		if st, err = s.MFA.TOTPStatus(ctx, a); err != nil {
			return nil, nil, milogin.Wrap(op, err)
		}
	}
	return a, st.Pending, nil
}

// Enrol sets the staff member's password and confirms their authenticator
// app with a code from it; the link is used up. Violations are EINVALID
// (milogin.ViolationsOf); a wrong code EUNAUTHORIZED.
func (s *Service) Enrol(ctx context.Context, token, password, confirm, code string, m authn.Meta) (*milogin.Account, error) {
	const op = "admin.Enrol"
	f, a, err := s.enrolment(ctx, token)
	if err != nil {
		return nil, err
	}
	pol := milogin.StaffPortal().Policy
	var vs []milogin.Violation
	if password == "" {
		vs = append(vs, milogin.Violation{Field: "password", Rule: milogin.RuleRequired, Message: "Password is required."})
	} else {
		pvs, err := s.Staff.CheckNewPassword(ctx, pol, a, password)
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		for i := range pvs {
			pvs[i].Field = "password"
		}
		vs = append(vs, pvs...)
	}
	if confirm != password {
		vs = append(vs, milogin.Violation{Field: "confirm", Rule: milogin.RuleConfirm, Message: "Confirm Password must match the password."})
	}
	if c := strings.Join(strings.Fields(code), ""); len(c) != 6 {
		vs = append(vs, milogin.Violation{Field: "code", Rule: milogin.RuleRequired, Message: "Enter the 6-digit code from your authenticator app."})
	}
	if len(vs) > 0 {
		return nil, milogin.Invalid(op, vs)
	}
	hash, err := s.Staff.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	withPassword := *a
	withPassword.PasswordHash = hash
	// The code confirms the app; the password, the link's end and the audit
	// event are written in the same transaction that uses the code up.
	err = s.MFA.ConfirmTOTPWith(ctx, &withPassword, code, m, func(tx milogin.Tx, now time.Time) error {
		if _, err := tx.Flows().Get(ctx, f.ID); err != nil {
			if milogin.IsKind(err, milogin.ENOTFOUND) {
				return milogin.Errorf(op, milogin.EEXPIRED, MsgEnrolExpired)
			}
			return err
		}
		if err := tx.Flows().Delete(ctx, f.ID); err != nil {
			return err
		}
		updated, err := tx.Accounts().Update(ctx, a.ID, func(x *milogin.Account) error {
			x.SetPassword(hash, pol, now)
			x.EmailVerified = true
			x.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		a = updated
		return appendAudit(ctx, tx, now, milogin.EventStaffEnrolled, milogin.Staff, Actor{ID: a.ID, Meta: m}, a.ID, "", map[string]string{"method": milogin.MFAMethodTOTP})
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return a, nil
}

// marshal is json.Marshal for flow states that cannot fail.
func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
