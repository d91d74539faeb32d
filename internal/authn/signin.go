package authn

import (
	"context"
	"fmt"
	"time"

	"milogin"
)

// Messages shown at sign-in. They are the same for an unknown user ID and a
// wrong password, so the page does not reveal whether an account exists.
const (
	MsgBadCredentials = "The User ID or password you entered is incorrect."
	MsgDisabled       = "Your account has been disabled after 18 months of inactivity. Please call the help desk to have it reactivated."
	MsgDeactivated    = "Your account has been deactivated. Please call the help desk for assistance."
	MsgTooManyFromIP  = "Too many failed sign-in attempts from your network. Please wait 15 minutes and try again."
)

// LockedMessage is shown while an account is locked, even for the right password.
func LockedMessage(p milogin.Policy) string {
	return fmt.Sprintf("Your account is locked because of too many failed sign-in attempts. It will unlock after %d minutes. Please wait and try again.", int(p.LockoutDuration/time.Minute))
}

// SignInResult is a successful password check: a new session, possibly in a
// stage that must be completed before the person is fully signed in.
type SignInResult struct {
	Token   string // goes into the cookie; never stored
	Session *milogin.Session
	Account *milogin.Account
}

// pendingLife bounds a session that is waiting for the person to confirm a
// takeover or change an expired password.
const pendingLife = 10 * time.Minute

// SignIn checks a user ID and password for portal and starts a session.
// It returns EUNAUTHORIZED for an unknown user or a wrong password (same
// message, same hash work), ELOCKED while the account is locked or disabled,
// and ERATELIMIT when the IP address has failed too often.
func (s *Service) SignIn(ctx context.Context, portalID milogin.PortalID, userID, password string, m Meta) (*SignInResult, error) {
	return s.SignInReplacing(ctx, portalID, userID, password, "", m)
}

// SignInReplacing is SignIn from a browser that may already hold a session
// (current, its token, or ""). A successful sign-in ends that session in the
// same transaction: it is this browser's own, so it neither counts as
// "another active session" nor outlives the new one. This is how an
// application's request for a fresh sign-in (prompt=login, max_age) is met.
func (s *Service) SignInReplacing(ctx context.Context, portalID milogin.PortalID, userID, password, current string, m Meta) (*SignInResult, error) {
	const op = "authn.SignIn"
	currentID := ""
	if current != "" {
		currentID = TokenID(current)
	}
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, err
	}
	pol := portal.Policy
	now := s.now()
	ipKey := "signin-fail-ip:" + m.IP

	var acct *milogin.Account
	var ipFailures int
	err = s.Store.Read(ctx, func(tx milogin.Tx) error {
		if s.IPFailureLimit > 0 && m.IP != "" {
			n, err := tx.Limits().Count(ctx, ipKey, s.IPFailureWindow, now)
			if err != nil {
				return err
			}
			ipFailures = n
		}
		a, err := tx.Accounts().GetByUserID(ctx, portalID, userID)
		if milogin.IsKind(err, milogin.ENOTFOUND) || (err == nil && a.Seeded && !s.AllowSeeded) {
			// A seeded account (load tests, one shared password) is
			// answered as unknown unless this server accepts them.
			return nil
		}
		acct = a
		return err
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if s.IPFailureLimit > 0 && ipFailures >= s.IPFailureLimit {
		return nil, milogin.Errorf(op, milogin.ERATELIMIT, MsgTooManyFromIP)
	}

	if acct == nil {
		// Same hash work as a real check, so timing does not reveal the answer.
		if err := s.Hasher.VerifyDummy(ctx, password); err != nil {
			return nil, milogin.Wrap(op, err)
		}
		err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			if err := s.hitIP(ctx, tx, ipKey, now); err != nil {
				return err
			}
			return audit(ctx, tx, now, milogin.EventSignInFailed, portalID, "", "", m, map[string]string{"reason": "unknown user", "user_id": userID})
		})
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		return nil, milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgBadCredentials)
	}

	ok, rehash, err := s.Hasher.Verify(ctx, acct.PasswordHash, password)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}

	if acct.Locked(now) {
		err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			return audit(ctx, tx, now, milogin.EventSignInLocked, portalID, acct.ID, acct.ID, m, nil)
		})
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		return nil, milogin.Errorf(op, milogin.ELOCKED, "%s", LockedMessage(pol))
	}

	if !ok {
		return nil, s.recordFailure(ctx, op, portal, acct, ipKey, now, m)
	}

	// The password is right. Only now say why the account cannot be used,
	// so a guesser learns nothing about its state.
	var newHash string
	if rehash {
		if h, err := s.Hasher.Hash(ctx, password); err == nil {
			newHash = h
		}
	}
	var res *SignInResult
	var blocked error
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		blocked = nil
		a, err := tx.Accounts().Update(ctx, acct.ID, func(a *milogin.Account) error {
			switch {
			case a.Status == milogin.StatusDeactivated:
				blocked = milogin.Errorf(op, milogin.ELOCKED, MsgDeactivated)
			case a.Status == milogin.StatusDisabled:
				blocked = milogin.Errorf(op, milogin.ELOCKED, MsgDisabled)
			case a.Inactive(pol, now):
				a.Status = milogin.StatusDisabled
				a.UpdatedAt = now
				blocked = milogin.Errorf(op, milogin.ELOCKED, MsgDisabled)
			case a.Locked(now):
				// Locked by a concurrent failure since we read it.
				blocked = milogin.Errorf(op, milogin.ELOCKED, "%s", LockedMessage(pol))
			default:
				a.RecordSuccess(now)
				if newHash != "" {
					a.PasswordHash = newHash
				}
				a.UpdatedAt = now
			}
			return nil
		})
		if err != nil {
			return err
		}
		if blocked != nil {
			// Commit the refusal's audit (and an inactivity disable) but
			// start no session.
			if a.Status == milogin.StatusDisabled && acct.Status == milogin.StatusActive {
				if err := audit(ctx, tx, now, milogin.EventDisabledInactive, portalID, "system", a.ID, m, nil); err != nil {
					return err
				}
			}
			typ := milogin.EventSignInDisabled
			if a.Locked(now) {
				typ = milogin.EventSignInLocked
			}
			return audit(ctx, tx, now, typ, portalID, a.ID, a.ID, m, nil)
		}

		if currentID != "" {
			if err := s.endSession(ctx, tx, currentID); err != nil {
				return err
			}
		}
		stage := milogin.StageActive
		if a.PasswordExpired(pol, now) {
			stage = milogin.StageChangePassword
		} else if live, err := s.otherLiveSessions(ctx, tx, pol, a.ID, currentID, now); err != nil {
			return err
		} else if len(live) > 0 {
			stage = milogin.StageConfirmTakeover
		}
		token, sess := s.newSession(a, stage, pol, now, m)
		if err := tx.Sessions().Create(ctx, sess); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventSignIn, portalID, a.ID, a.ID, m, map[string]string{"stage": string(stage)}); err != nil {
			return err
		}
		res = &SignInResult{Token: token, Session: sess, Account: a}
		return nil
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if blocked != nil {
		return nil, blocked
	}
	return res, nil
}

func (s *Service) hitIP(ctx context.Context, tx milogin.Tx, key string, now time.Time) error {
	if s.IPFailureLimit <= 0 || key == "signin-fail-ip:" {
		return nil
	}
	_, err := tx.Limits().Hit(ctx, key, s.IPFailureWindow, now)
	return err
}

// recordFailure counts a wrong password, locks the account at the threshold
// and queues the lockout email, all in one transaction.
func (s *Service) recordFailure(ctx context.Context, op string, portal milogin.Portal, acct *milogin.Account, ipKey string, now time.Time, m Meta) error {
	var lockedNow bool
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		if err := s.hitIP(ctx, tx, ipKey, now); err != nil {
			return err
		}
		a, err := tx.Accounts().Update(ctx, acct.ID, func(a *milogin.Account) error {
			if a.Locked(now) {
				return nil // locked by a concurrent failure: do not extend it
			}
			lockedNow = a.RecordFailure(portal.Policy, now)
			a.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventSignInFailed, portal.ID, a.ID, a.ID, m, map[string]string{"reason": "wrong password", "consecutive": fmt.Sprint(a.FailedLogins)}); err != nil {
			return err
		}
		if !lockedNow {
			return nil
		}
		if err := audit(ctx, tx, now, milogin.EventLockout, portal.ID, "system", a.ID, m, map[string]string{"until": a.LockedUntil.Format(time.RFC3339)}); err != nil {
			return err
		}
		return mail(ctx, tx, now, a.Email, "account-locked", map[string]any{
			"Name": a.DisplayName(), "UserID": a.UserID, "Minutes": int(a.LockedUntil.Sub(now) / time.Minute), "Portal": portal.Name,
		})
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	if lockedNow {
		s.kick()
		return milogin.Errorf(op, milogin.ELOCKED, "%s", LockedMessage(portal.Policy))
	}
	return milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgBadCredentials)
}
