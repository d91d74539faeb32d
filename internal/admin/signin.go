package admin

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"milogin"
	"milogin/internal/authn"
)

// secondFactorLife bounds the step between the password and the code.
const secondFactorLife = 10 * time.Minute

// Messages of the staff sign-in.
const (
	MsgNoAuthenticator = "Your staff account has no authenticator app. Ask a security administrator for a new enrolment link."
	MsgSignInExpired   = "Your sign-in has expired. Please sign in again."
)

// SignIn checks a staff member's email and password (lockout, per-IP
// limit and the same hash work for an unknown email come from authn) and
// returns a token for the second-factor step only: the session is marked
// milogin.StageSecondFactor before its token leaves the server.
func (s *Service) SignIn(ctx context.Context, email, password string, m authn.Meta) (string, error) {
	const op = "admin.SignIn"
	res, err := s.Staff.SignIn(ctx, milogin.Staff, email, password, m)
	if err != nil {
		return "", err
	}
	opts, err := s.MFA.OptionsFor(ctx, res.Account)
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	// Only an authenticator app or a passkey: never a code by email or text.
	factor := opts.TOTP || opts.Passkeys
	now := s.now()
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		if !factor {
			return tx.Sessions().Delete(ctx, res.Session.ID)
		}
		_, err := tx.Sessions().Update(ctx, res.Session.ID, func(x *milogin.Session) error {
			x.Stage = milogin.StageSecondFactor
			x.ExpiresAt = now.Add(secondFactorLife)
			return nil
		})
		return err
	})
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	if !factor {
		return "", milogin.Errorf(op, milogin.EFORBIDDEN, MsgNoAuthenticator)
	}
	return res.Token, nil
}

// Pending returns the staff account waiting for its second factor.
func (s *Service) Pending(ctx context.Context, token string) (*milogin.Session, *milogin.Account, error) {
	sess, acct, err := s.Staff.PendingSession(ctx, milogin.Staff, token)
	if err != nil {
		return nil, nil, err
	}
	if sess.Stage != milogin.StageSecondFactor {
		return nil, nil, milogin.Errorf("admin.Pending", milogin.EUNAUTHORIZED, MsgSignInExpired)
	}
	return sess, acct, nil
}

// SecondFactor checks the authenticator code of a pending sign-in and, in
// the transaction that uses the code up, replaces the pending session with
// an active one under a new token, ending the account's other console
// sessions (one console session per staff member).
func (s *Service) SecondFactor(ctx context.Context, token, code string, m authn.Meta) (string, error) {
	sess, acct, err := s.Pending(ctx, token)
	if err != nil {
		return "", err
	}
	var fresh string
	err = s.MFA.VerifyTOTPCode(ctx, acct, code, m, func(tx milogin.Tx, now time.Time) (err error) {
		fresh, err = s.promote(ctx, tx, now, sess, acct, m, milogin.MFAMethodTOTP)
		return err
	})
	if err != nil {
		return "", err
	}
	return fresh, nil
}

// PasskeyBegin starts the passkey option of a pending staff sign-in.
func (s *Service) PasskeyBegin(ctx context.Context, token string) (json.RawMessage, string, error) {
	sess, acct, err := s.Pending(ctx, token)
	if err != nil {
		return nil, "", err
	}
	return s.MFA.BeginPasskeyCheck(ctx, acct, sess)
}

// PasskeyFinish verifies the passkey of a pending staff sign-in and, in the
// same transaction, makes the session active under a new token.
func (s *Service) PasskeyFinish(ctx context.Context, token, challenge string, response []byte, m authn.Meta) (string, error) {
	sess, acct, err := s.Pending(ctx, token)
	if err != nil {
		return "", err
	}
	var fresh string
	err = s.MFA.FinishPasskeyCheck(ctx, acct, sess, challenge, response, m, func(tx milogin.Tx, now time.Time) (err error) {
		fresh, err = s.promote(ctx, tx, now, sess, acct, m, milogin.MFAMethodWebAuthn)
		return err
	})
	if err != nil {
		return "", err
	}
	return fresh, nil
}

// promote replaces the pending session sess with an active one under a new
// token, ending the account's other console sessions, inside tx.
func (s *Service) promote(ctx context.Context, tx milogin.Tx, now time.Time, sess *milogin.Session, acct *milogin.Account, m authn.Meta, method string) (string, error) {
	const op = "admin.promote"
	x, err := tx.Sessions().Get(ctx, sess.ID)
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return "", milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgSignInExpired)
	}
	if err != nil {
		return "", err
	}
	if x.Stage != milogin.StageSecondFactor || !now.Before(x.ExpiresAt) {
		return "", milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgSignInExpired)
	}
	ended, err := tx.Sessions().DeleteByAccount(ctx, acct.ID, "")
	if err != nil {
		return "", err
	}
	tok, id := authn.NewToken()
	if err := tx.Sessions().Create(ctx, &milogin.Session{
		ID: id, AccountID: acct.ID, Portal: milogin.Staff, Stage: milogin.StageActive,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(milogin.StaffPortal().Policy.SessionAbsolute),
		IP: m.IP, UserAgent: clip(m.UserAgent, 256),
	}); err != nil {
		return "", err
	}
	return tok, appendAudit(ctx, tx, now, milogin.EventStaffSignIn, milogin.Staff, Actor{ID: acct.ID, Meta: m}, acct.ID, "",
		map[string]string{"method": method, "sessions_ended": strconv.Itoa(len(ended) - 1)})
}

// Staff is a signed-in staff member and what they may do.
type Staff struct {
	Account *milogin.Account
	Session *milogin.Session
	Grants  []milogin.StaffGrant
}

// Has reports whether the staff member holds role (for any application).
func (st *Staff) Has(role milogin.StaffRole) bool {
	for _, g := range st.Grants {
		if g.Role == role {
			return true
		}
	}
	return false
}

// AdminOf reports whether the staff member administers application appID.
func (st *Staff) AdminOf(appID string) bool {
	for _, g := range st.Grants {
		if g.Role == milogin.RoleAppAdmin && g.AppID == appID {
			return true
		}
	}
	return false
}

// Apps lists the applications the staff member administers.
func (st *Staff) Apps() []string {
	var out []string
	for _, g := range st.Grants {
		if g.Role == milogin.RoleAppAdmin {
			out = append(out, g.AppID)
		}
	}
	return out
}

// Authenticate returns the staff member behind a console session token
// (15 minutes idle, 8 hours absolute), EUNAUTHORIZED when there is none.
func (s *Service) Authenticate(ctx context.Context, token string) (*Staff, error) {
	sess, acct, err := s.Staff.Authenticate(ctx, milogin.Staff, token)
	if err != nil {
		return nil, err
	}
	st := &Staff{Account: acct, Session: sess}
	err = s.Store.Read(ctx, func(tx milogin.Tx) error {
		st.Grants, err = tx.Staff().Roles(ctx, acct.ID)
		return err
	})
	if err != nil {
		return nil, milogin.Wrap("admin.Authenticate", err)
	}
	return st, nil
}

// SignOut ends a console session.
func (s *Service) SignOut(ctx context.Context, token string, m authn.Meta) error {
	return s.Staff.SignOut(ctx, token, m)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
