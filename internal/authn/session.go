package authn

import (
	"context"
	"errors"
	"strconv"
	"time"

	"milogin"
	"milogin/internal/wellformed"
)

// touchEvery bounds how often a session's last-seen time is written: often
// enough for the idle time-out, rare enough that pages stay read-only.
const touchEvery = time.Minute

func (s *Service) newSession(a *milogin.Account, stage milogin.SessionStage, pol milogin.Policy, now time.Time, m Meta) (string, *milogin.Session) {
	token, id := NewToken()
	exp := now.Add(pol.SessionAbsolute)
	if stage != milogin.StageActive {
		exp = now.Add(pendingLife)
	}
	return token, &milogin.Session{
		ID: id, AccountID: a.ID, Portal: a.Portal, Stage: stage,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: exp,
		IP: m.IP, UserAgent: truncate(m.UserAgent, 256),
	}
}

// truncate cleans s of bytes no database column takes (NUL, invalid UTF-8)
// and cuts it to n bytes on a rune boundary.
func truncate(s string, n int) string { return wellformed.Text(s, n) }

// otherLiveSessions lists the account's active, live sessions other than keepID.
func (s *Service) otherLiveSessions(ctx context.Context, tx milogin.Tx, pol milogin.Policy, accountID, keepID string, now time.Time) ([]*milogin.Session, error) {
	all, err := tx.Sessions().ListByAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var live []*milogin.Session
	for _, x := range all {
		if x.ID != keepID && x.Stage == milogin.StageActive && x.Live(pol, now) {
			live = append(live, x)
		}
	}
	return live, nil
}

// Authenticate returns the live session for token in portal and its account.
// It returns EUNAUTHORIZED when there is none (unknown, expired, idle, other
// portal, or the account can no longer be used).
func (s *Service) Authenticate(ctx context.Context, portalID milogin.PortalID, token string) (*milogin.Session, *milogin.Account, error) {
	const op = "authn.Authenticate"
	none := milogin.Errorf(op, milogin.EUNAUTHORIZED, "Your session has ended. Please sign in again.")
	if token == "" {
		return nil, nil, none
	}
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	id := TokenID(token)
	var sess *milogin.Session
	var acct *milogin.Account
	err = s.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		sess, acct, err = tx.Sessions().GetWithAccount(ctx, id)
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, nil, s.whyEnded(ctx, op, id)
	}
	if err != nil {
		return nil, nil, milogin.Wrap(op, err)
	}
	if sess.Portal != portalID || sess.Stage != milogin.StageActive || acct.Status != milogin.StatusActive {
		return nil, nil, none
	}
	if !sess.Live(portal.Policy, now) {
		return nil, nil, endedError(op, milogin.EndTimedOut)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			x, err := tx.Sessions().Update(ctx, id, func(x *milogin.Session) error {
				x.LastSeenAt = now
				return nil
			})
			if err == nil {
				sess = x
			}
			return err
		})
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			return nil, nil, none // ended concurrently
		}
		if err != nil {
			return nil, nil, milogin.Wrap(op, err)
		}
	}
	return sess, acct, nil
}

// ended is the error of Authenticate for a session that ended for a known
// reason: EndReasonOf reads it back.
type ended struct{ reason milogin.EndReason }

func (e *ended) Error() string { return "session ended: " + string(e.reason) }

var endedMessages = map[milogin.EndReason]string{
	milogin.EndSignedInElsewhere: MsgSignedInElsewhere,
	milogin.EndPasswordChanged:   MsgSignedOutPasswordChanged,
	milogin.EndTimedOut:          MsgTimedOut,
}

// The messages of the sign-in page for a session that ended.
const (
	MsgSignedInElsewhere        = "You were signed out because your MILogin User ID signed in on another device."
	MsgSignedOutPasswordChanged = "You were signed out because your password was changed. Please sign in with your new password."
	MsgTimedOut                 = "Your session timed out."
)

// EndedMessage is what the sign-in page says for reason, "" for none.
func EndedMessage(reason milogin.EndReason) string { return endedMessages[reason] }

func endedError(op string, reason milogin.EndReason) error {
	return &milogin.Error{Op: op, Kind: milogin.EUNAUTHORIZED, Msg: endedMessages[reason], Err: &ended{reason}}
}

// EndReasonOf returns why the session behind an Authenticate error ended,
// "" when that is not known.
func EndReasonOf(err error) milogin.EndReason {
	var e *ended
	if errors.As(err, &e) {
		return e.reason
	}
	return ""
}

// whyEnded is Authenticate's answer for a token whose session is gone: the
// reason remembered for it, or the plain "session has ended".
func (s *Service) whyEnded(ctx context.Context, op, id string) error {
	var reason milogin.EndReason
	err := s.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		reason, err = tx.Sessions().EndReason(ctx, id)
		return err
	})
	switch {
	case err == nil && endedMessages[reason] != "":
		return endedError(op, reason)
	case err != nil && !milogin.IsKind(err, milogin.ENOTFOUND):
		return milogin.Wrap(op, err)
	}
	return milogin.Errorf(op, milogin.EUNAUTHORIZED, "Your session has ended. Please sign in again.")
}

// ConfirmTakeover completes a sign-in that found another active session.
// With proceed, every other session of the account is ended and a fresh
// active session (new token) replaces the pending one; without, the pending
// session is dropped and the other session stays.
func (s *Service) ConfirmTakeover(ctx context.Context, portalID milogin.PortalID, token string, proceed bool, m Meta) (*SignInResult, []string, error) {
	const op = "authn.ConfirmTakeover"
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	id := TokenID(token)
	var res *SignInResult
	var ended []string
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		x, err := tx.Sessions().Get(ctx, id)
		if err != nil {
			return err
		}
		if x.Portal != portalID || x.Stage != milogin.StageConfirmTakeover || !now.Before(x.ExpiresAt) {
			return milogin.Errorf(op, milogin.EUNAUTHORIZED, "Your sign-in has expired. Please sign in again.")
		}
		if err := tx.Sessions().Delete(ctx, id); err != nil {
			return err
		}
		if !proceed {
			return audit(ctx, tx, now, milogin.EventSignOut, portalID, x.AccountID, x.AccountID, m, map[string]string{"reason": "takeover cancelled"})
		}
		a, err := tx.Accounts().Get(ctx, x.AccountID)
		if err != nil {
			return err
		}
		ended, err = tx.Sessions().DeleteByAccount(ctx, a.ID, "")
		if err != nil {
			return err
		}
		if err := s.endedBecause(ctx, tx, portal.Policy, a.ID, ended, milogin.EndSignedInElsewhere, now); err != nil {
			return err
		}
		token, sess := s.newSession(a, milogin.StageActive, portal.Policy, now, m)
		if err := tx.Sessions().Create(ctx, sess); err != nil {
			return err
		}
		res = &SignInResult{Token: token, Session: sess, Account: a}
		return audit(ctx, tx, now, milogin.EventSessionTakeover, portalID, a.ID, a.ID, m, map[string]string{"ended": strconv.Itoa(len(ended))})
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, nil, milogin.Errorf(op, milogin.EUNAUTHORIZED, "Your sign-in has expired. Please sign in again.")
	}
	if err != nil {
		return nil, nil, milogin.Wrap(op, err)
	}
	return res, ended, nil
}

// PendingSession returns the session for token whatever its stage, if it is
// unexpired and in portal.
func (s *Service) PendingSession(ctx context.Context, portalID milogin.PortalID, token string) (*milogin.Session, *milogin.Account, error) {
	const op = "authn.PendingSession"
	none := milogin.Errorf(op, milogin.EUNAUTHORIZED, "Your sign-in has expired. Please sign in again.")
	if token == "" {
		return nil, nil, none
	}
	var sess *milogin.Session
	var acct *milogin.Account
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		x, err := tx.Sessions().Get(ctx, TokenID(token))
		if err != nil {
			return err
		}
		a, err := tx.Accounts().Get(ctx, x.AccountID)
		sess, acct = x, a
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, nil, none
	}
	if err != nil {
		return nil, nil, milogin.Wrap(op, err)
	}
	if sess.Portal != portalID || !s.now().Before(sess.ExpiresAt) {
		return nil, nil, none
	}
	return sess, acct, nil
}

// SignOut ends the session for token. Ending an unknown session is not an error.
func (s *Service) SignOut(ctx context.Context, token string, m Meta) error {
	const op = "authn.SignOut"
	if token == "" {
		return nil
	}
	now := s.now()
	id := TokenID(token)
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		x, err := tx.Sessions().Get(ctx, id)
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.Sessions().Delete(ctx, id); err != nil {
			return err
		}
		if err := s.ended(ctx, tx, x.AccountID, []string{id}); err != nil {
			return err
		}
		return audit(ctx, tx, now, milogin.EventSignOut, x.Portal, x.AccountID, x.AccountID, m, nil)
	})
	return milogin.Wrap(op, err)
}

// endSession deletes one session, if it exists, and reports it to the
// SessionsEnded hook, inside tx.
func (s *Service) endSession(ctx context.Context, tx milogin.Tx, id string) error {
	x, err := tx.Sessions().Get(ctx, id)
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.Sessions().Delete(ctx, id); err != nil {
		return err
	}
	return s.ended(ctx, tx, x.AccountID, []string{id})
}

// RotateSession replaces the token of the active session behind token with
// a new one, keeping everything else about the session (ASVS 3.2.1: a new
// token at step-up, so a token that leaked before the second factor is worth
// nothing after it). In one transaction it moves what refers to the session:
// the applications it signed in to (for back-channel logout) and the parked
// sign-in loginRequestID (may be ""), whose second-factor mark names the
// session.
func (s *Service) RotateSession(ctx context.Context, portalID milogin.PortalID, token, loginRequestID string, m Meta) (*SignInResult, error) {
	const op = "authn.RotateSession"
	expired := milogin.Errorf(op, milogin.EUNAUTHORIZED, "Your session has ended. Please sign in again.")
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	oldID := TokenID(token)
	var res *SignInResult
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		old, err := tx.Sessions().Get(ctx, oldID)
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			return expired
		}
		if err != nil {
			return err
		}
		if token == "" || old.Portal != portalID || old.Stage != milogin.StageActive || !old.Live(portal.Policy, now) {
			return expired
		}
		a, err := tx.Accounts().Get(ctx, old.AccountID)
		if err != nil {
			return err
		}
		newToken, newID := NewToken()
		next := *old
		next.ID = newID
		next.LastSeenAt = now
		if err := tx.Sessions().Create(ctx, &next); err != nil {
			return err
		}
		if err := tx.SessionClients().Rekey(ctx, oldID, newID); err != nil {
			return err
		}
		if loginRequestID != "" {
			_, err := tx.LoginRequests().Update(ctx, loginRequestID, func(r *milogin.LoginRequest) error {
				if r.SessionID == oldID {
					r.SessionID = newID
				}
				return nil
			})
			if err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
				return err
			}
		}
		if err := tx.Sessions().Delete(ctx, oldID); err != nil {
			return err
		}
		res = &SignInResult{Token: newToken, Session: &next, Account: a}
		return audit(ctx, tx, now, milogin.EventSessionRotated, portalID, a.ID, a.ID, m, map[string]string{"reason": "step-up"})
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return res, nil
}

// SessionCookieName is the name of the portal's sign-in session cookie.
// It is per portal, so that signing in to one portal does not end another,
// and over HTTPS (secure) it has the __Host- prefix (Secure, Path=/, no
// Domain). The pages set it; the OpenID provider reads it too.
func SessionCookieName(portal milogin.PortalID, secure bool) string {
	if secure {
		return "__Host-milogin-" + string(portal)
	}
	return "milogin-" + string(portal)
}

// SessionCookieNames are the cookie's two possible names, for a reader that
// does not know whether the server sets it over HTTPS.
func SessionCookieNames(portal milogin.PortalID) [2]string {
	return [2]string{SessionCookieName(portal, true), SessionCookieName(portal, false)}
}
