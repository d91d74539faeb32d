package authn

import (
	"context"
	"strings"
	"time"

	"milogin"
)

// NewAccount is what is needed to create an account.
type NewAccount struct {
	Portal        milogin.PortalID
	UserID        string
	FirstName     string
	MiddleInitial string
	LastName      string
	Suffix        string
	Email         string
	WorkPhone     string
	Mobile        string
	Password      string
	// RecoverByEmail and RecoverByMobile are the chosen recovery options;
	// when both are false, email is used.
	RecoverByEmail  bool
	RecoverByMobile bool
	// MobileVerified says Mobile was proven before the account is created
	// (a help desk that checked it, an import that carries the flag); it is
	// unproven otherwise and serves no recovery until a PIN proves it.
	MobileVerified bool
}

// CheckNewPassword applies every password rule of the portal's policy to pw
// for acct (which may be a not-yet-created account), including the history
// rule against its recent hashes. Each failed rule is one violation.
func (s *Service) CheckNewPassword(ctx context.Context, pol milogin.Policy, acct *milogin.Account, pw string) ([]milogin.Violation, error) {
	vs := pol.CheckPassword(milogin.PasswordCandidate{
		Password: pw,
		UserID:   acct.UserID,
		Names:    []string{acct.FirstName, acct.LastName},
	}, s.Common)
	for _, h := range acct.RecentPasswordHashes(pol) {
		ok, _, err := s.Hasher.Verify(ctx, h, pw)
		if err != nil {
			return nil, err
		}
		if ok {
			vs = append(vs, milogin.Violation{Field: "password", Rule: milogin.RuleHistory,
				Message: "Password should not be one of the last 3 used passwords."})
			break
		}
	}
	return vs, nil
}

// ValidateProfile checks the fields every account must have.
func ValidateProfile(n *NewAccount) []milogin.Violation {
	var vs []milogin.Violation
	req := func(field, label, v string) {
		if strings.TrimSpace(v) == "" {
			vs = append(vs, milogin.Violation{Field: field, Rule: milogin.RuleRequired, Message: label + " is required."})
		}
	}
	req("first_name", "First Name", n.FirstName)
	req("last_name", "Last Name", n.LastName)
	req("email", "Email Address", n.Email)
	if e := strings.TrimSpace(n.Email); e != "" && !ValidEmail(e) {
		vs = append(vs, milogin.Violation{Field: "email", Rule: "email", Message: "Enter a valid email address, such as name@example.org."})
	}
	if len([]rune(n.MiddleInitial)) > 1 {
		vs = append(vs, milogin.Violation{Field: "middle_initial", Rule: "middle-initial", Message: "Middle Initial is one letter."})
	}
	for _, p := range []struct{ field, label, v string }{{"work_phone", "Work Phone Number", n.WorkPhone}, {"mobile", "Mobile Number", n.Mobile}} {
		if p.v != "" && !ValidPhone(p.v) {
			vs = append(vs, milogin.Violation{Field: p.field, Rule: "phone", Message: p.label + " must be a 10-digit phone number, such as 517-555-0100."})
		}
	}
	return vs
}

// ValidEmail is a deliberately simple check: one @, a dot in the domain,
// no spaces. Deliverability is proven by the PIN sent to it.
func ValidEmail(e string) bool {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>\"(),;:") || len(e) > 254 {
		return false
	}
	dom := e[at+1:]
	return strings.Contains(dom, ".") && !strings.HasPrefix(dom, ".") && !strings.HasSuffix(dom, ".")
}

// ValidPhone accepts a US number: 10 digits, or 11 starting with 1, with any
// punctuation.
func ValidPhone(p string) bool {
	n := 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			n++
		case strings.ContainsRune(" -().+", r):
		default:
			return false
		}
	}
	return n == 10 || (n == 11 && strings.TrimLeft(p, " +(")[0] == '1')
}

// CreateAccount applies every profile, user ID and password rule and creates
// the account with an audit event. Violations come back as one EINVALID error
// (milogin.ViolationsOf lists them); a taken user ID or email is ECONFLICT.
func (s *Service) CreateAccount(ctx context.Context, n NewAccount, actor string, m Meta) (*milogin.Account, error) {
	const op = "authn.CreateAccount"
	portal, err := s.Portal(n.Portal)
	if err != nil {
		return nil, err
	}
	pol := portal.Policy
	now := s.now()
	a := &milogin.Account{
		ID: NewID(), Portal: n.Portal, UserID: strings.TrimSpace(n.UserID),
		FirstName: strings.TrimSpace(n.FirstName), MiddleInitial: strings.TrimSpace(n.MiddleInitial),
		LastName: strings.TrimSpace(n.LastName), Suffix: strings.TrimSpace(n.Suffix),
		Email: strings.TrimSpace(n.Email), WorkPhone: strings.TrimSpace(n.WorkPhone), Mobile: strings.TrimSpace(n.Mobile),
		MobileVerified: n.MobileVerified && strings.TrimSpace(n.Mobile) != "",
		RecoverByEmail: n.RecoverByEmail || !n.RecoverByMobile, RecoverByMobile: n.RecoverByMobile,
		Status: milogin.StatusActive, CreatedAt: now, UpdatedAt: now,
	}
	vs := ValidateProfile(&n)
	vs = append(vs, pol.CheckUserID(a.UserID, a.FirstName, a.LastName)...)
	pvs, err := s.CheckNewPassword(ctx, pol, a, n.Password)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	vs = append(vs, pvs...)
	if n.RecoverByMobile && a.Mobile == "" {
		vs = append(vs, milogin.Violation{Field: "mobile", Rule: milogin.RuleRequired, Message: "Mobile Number is required for the Mobile (Text/SMS) option."})
	}
	if len(vs) > 0 {
		return nil, milogin.Invalid(op, vs)
	}
	hash, err := s.Hasher.Hash(ctx, n.Password)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	a.SetPassword(hash, pol, now)
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(ctx, a); err != nil {
			return err
		}
		return audit(ctx, tx, now, milogin.EventAccountCreated, a.Portal, actor, a.ID, m, map[string]string{"user_id": a.UserID})
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return a, nil
}

// ChangePasswordResult tells the caller which session to keep.
type ChangePasswordResult struct {
	Token   string // a new session token (the old one was replaced)
	Session *milogin.Session
	// Takeover is true when another session is active and the person must
	// now confirm ending it (the session is in StageConfirmTakeover).
	Takeover bool
}

// ChangePassword changes the password of the account behind the session for
// token after checking the current one. It works for an active session and
// for one that must change an expired password. The session is replaced by a
// new one (new token); the account's other sessions are ended unless the
// change completes an expired-password sign-in, where the one-session rule
// asks first.
func (s *Service) ChangePassword(ctx context.Context, portalID milogin.PortalID, token, current, next, confirm string, m Meta) (*ChangePasswordResult, error) {
	const op = "authn.ChangePassword"
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, err
	}
	pol := portal.Policy
	sess, acct, err := s.PendingSession(ctx, portalID, token)
	if err != nil {
		return nil, err
	}
	if sess.Stage == milogin.StageActive {
		if sess, acct, err = s.Authenticate(ctx, portalID, token); err != nil {
			return nil, err
		}
	} else if sess.Stage != milogin.StageChangePassword {
		return nil, milogin.Errorf(op, milogin.EUNAUTHORIZED, "Your sign-in has expired. Please sign in again.")
	}

	var vs []milogin.Violation
	if current == "" {
		vs = append(vs, milogin.Violation{Field: "current_password", Rule: milogin.RuleRequired, Message: "Enter Current Password is required."})
	} else if ok, _, err := s.Hasher.Verify(ctx, acct.PasswordHash, current); err != nil {
		return nil, milogin.Wrap(op, err)
	} else if !ok {
		vs = append(vs, milogin.Violation{Field: "current_password", Rule: "current", Message: "The current password you entered is incorrect."})
	}
	if next == "" {
		vs = append(vs, milogin.Violation{Field: "new_password", Rule: milogin.RuleRequired, Message: "Enter New Password is required."})
	} else {
		pvs, err := s.CheckNewPassword(ctx, pol, acct, next)
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		for i := range pvs {
			pvs[i].Field = "new_password"
		}
		vs = append(vs, pvs...)
	}
	if next != confirm {
		vs = append(vs, milogin.Violation{Field: "confirm_password", Rule: milogin.RuleConfirm, Message: "Confirm New Password must match the new password."})
	}
	if len(vs) > 0 {
		return nil, milogin.Invalid(op, vs)
	}
	hash, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	now := s.now()
	res := &ChangePasswordResult{}
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		a, err := tx.Accounts().Update(ctx, acct.ID, func(a *milogin.Account) error {
			if a.PasswordHash != acct.PasswordHash {
				return milogin.Errorf(op, milogin.ECONFLICT, "Your password was changed at the same time. Please sign in again.")
			}
			a.SetPassword(hash, pol, now)
			a.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.Sessions().Delete(ctx, sess.ID); err != nil {
			return err
		}
		if err := s.ended(ctx, tx, a.ID, []string{sess.ID}); err != nil {
			return err
		}
		stage := milogin.StageActive
		if sess.Stage == milogin.StageChangePassword {
			live, err := s.otherLiveSessions(ctx, tx, pol, a.ID, "", now)
			if err != nil {
				return err
			}
			if len(live) > 0 {
				stage = milogin.StageConfirmTakeover
				res.Takeover = true
			}
		} else if ids, err := tx.Sessions().DeleteByAccount(ctx, a.ID, ""); err != nil {
			return err
		} else if err := s.endedBecause(ctx, tx, pol, a.ID, ids, milogin.EndPasswordChanged, now); err != nil {
			return err
		}
		res.Token, res.Session = s.newSession(a, stage, pol, now, m)
		if err := tx.Sessions().Create(ctx, res.Session); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventPasswordChanged, portalID, a.ID, a.ID, m, nil); err != nil {
			return err
		}
		return mail(ctx, tx, now, a.Email, "password-changed", accountMail(portal, a))
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	s.kick()
	return res, nil
}

// SweepInactive disables every active account in every portal that has not
// signed in within the portal's inactivity period, and ends expired sessions,
// codes and counters. It returns how many accounts it disabled.
func (s *Service) SweepInactive(ctx context.Context) (int, error) {
	const op = "authn.SweepInactive"
	now := s.now()
	n := 0
	for id := range s.Portals {
		portal, err := s.Portal(id) // with the policy in force (LoadPolicies)
		if err != nil {
			return n, milogin.Wrap(op, err)
		}
		pol := portal.Policy
		if pol.InactivityMonths <= 0 {
			continue
		}
		cutoff := now.AddDate(0, -pol.InactivityMonths, 0)
		var stale []*milogin.Account
		err = s.Store.Read(ctx, func(tx milogin.Tx) error {
			var err error
			stale, err = tx.Accounts().List(ctx, milogin.AccountFilter{Portal: portal.ID, Status: milogin.StatusActive, LastActiveBefore: cutoff, Limit: 1000})
			return err
		})
		if err != nil {
			return n, milogin.Wrap(op, err)
		}
		for _, a := range stale {
			err := s.Store.Write(ctx, func(tx milogin.Tx) error {
				changed := false
				_, err := tx.Accounts().Update(ctx, a.ID, func(x *milogin.Account) error {
					if x.Status == milogin.StatusActive && x.Inactive(pol, now) {
						x.Status = milogin.StatusDisabled
						x.UpdatedAt = now
						changed = true
					}
					return nil
				})
				if err != nil || !changed {
					return err
				}
				n++
				ids, err := tx.Sessions().DeleteByAccount(ctx, a.ID, "")
				if err != nil {
					return err
				}
				if err := s.ended(ctx, tx, a.ID, ids); err != nil {
					return err
				}
				return audit(ctx, tx, now, milogin.EventDisabledInactive, portal.ID, "system", a.ID, Meta{}, nil)
			})
			if err != nil {
				return n, milogin.Wrap(op, err)
			}
		}
	}
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		if _, err := tx.Sessions().DeleteExpired(ctx, now); err != nil {
			return err
		}
		if _, err := tx.Codes().DeleteExpired(ctx, now.Add(-24*time.Hour)); err != nil {
			return err
		}
		if _, err := tx.Flows().DeleteExpired(ctx, now); err != nil {
			return err
		}
		if _, err := tx.Accounts().DeleteUnknownBefore(ctx, now.Add(-2*time.Hour)); err != nil {
			return err
		}
		_, err := tx.Limits().DeleteExpired(ctx, now.Add(-2*time.Hour))
		return err
	})
	return n, milogin.Wrap(op, err)
}
