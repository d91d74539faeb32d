package authn

import (
	"context"
	"errors"
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
	return fmt.Sprintf("Your account is locked because of too many failed sign-in attempts. It will unlock after %d minutes. Please wait and try again.", LockMinutes(p.LockoutDuration))
}

// LockMinutes is how a lock's length is said, on the page and in the
// email alike: whole minutes, rounded up, so that a lock stored a few
// microseconds short of 30 minutes is still "30 minutes", never "29".
func LockMinutes(d time.Duration) int {
	return int((d + time.Minute - 1) / time.Minute)
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

// errSeeded stops the reservation's update of a seeded account on a server
// that refuses them.
var errSeeded = errors.New("seeded account")

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
	useIP := s.IPFailureLimit > 0 && m.IP != ""

	// Reserve before the hash: the attempt is counted against the address
	// and in the account's row in one transaction, and only then judged. A
	// burst of concurrent guesses therefore gets at most the policy's
	// number judged; every other one is refused ("locked", or the address's
	// limit) without a password check, whatever the password. A right
	// password gives its reservations back below.
	var (
		acct      *milogin.Account
		att       milogin.Attempt
		locked    bool
		ipRefused bool
		unknown   bool // acct holds only the counters of an unknown user ID
	)
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		acct, att, locked, ipRefused, unknown = nil, milogin.Attempt{}, false, false, false
		if useIP {
			_, ok, err := tx.Limits().Reserve(ctx, ipKey, s.IPFailureWindow, s.IPFailureLimit, now)
			if err != nil {
				return err
			}
			if !ok {
				ipRefused = true
				return nil
			}
		}
		var reserved bool
		reserve := func(x *milogin.Account) error {
			att, reserved = x.ReserveAttempt(pol, now)
			if reserved {
				x.UpdatedAt = now
			}
			return nil
		}
		// The account is found and locked in one read; a seeded one (load
		// tests, one shared password) is answered as an unknown user ID
		// unless this server accepts them, and is left as it was.
		a, err := tx.Accounts().UpdateByUserID(ctx, portalID, userID, func(x *milogin.Account) error {
			if x.Seeded && !s.AllowSeeded {
				return errSeeded
			}
			return reserve(x)
		})
		unknown = milogin.IsKind(err, milogin.ENOTFOUND) || errors.Is(err, errSeeded)
		if unknown {
			// An unknown user ID is counted too, in its own row, so that
			// it locks exactly as a real one: "locked" tells nothing.
			a, err = tx.Accounts().UpdateUnknown(ctx, portalID, userID, now, reserve)
		}
		if err != nil {
			return err
		}
		acct = a
		if reserved {
			return nil
		}
		// Locked: nothing is judged, so nothing counts against the address.
		locked = true
		if useIP {
			if err := tx.Limits().Refund(ctx, ipKey, s.IPFailureWindow, now); err != nil {
				return err
			}
		}
		if unknown {
			return audit(ctx, tx, now, milogin.EventSignInLocked, portalID, "", "", m, map[string]string{"reason": "unknown user", "user_id": userID})
		}
		return audit(ctx, tx, now, milogin.EventSignInLocked, portalID, a.ID, a.ID, m, nil)
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if ipRefused {
		return nil, milogin.Errorf(op, milogin.ERATELIMIT, MsgTooManyFromIP)
	}
	if locked {
		return nil, milogin.Errorf(op, milogin.ELOCKED, "%s", LockedMessage(pol))
	}

	if unknown {
		// Same hash work as a real check, so timing does not reveal the
		// answer; the attempt counted stays counted, as a wrong password's.
		if err := s.Hasher.VerifyDummy(ctx, password); err != nil {
			return nil, milogin.Wrap(op, err)
		}
		err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			return audit(ctx, tx, now, milogin.EventSignInFailed, portalID, "", "", m, map[string]string{
				"reason": "unknown user", "user_id": userID, "consecutive": fmt.Sprint(att.Consecutive)})
		})
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		if att.Locks {
			return nil, milogin.Errorf(op, milogin.ELOCKED, "%s", LockedMessage(pol))
		}
		return nil, milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgBadCredentials)
	}

	ok, rehash, err := s.Hasher.Verify(ctx, acct.PasswordHash, password)
	if err != nil {
		// Nothing was judged: give the reservations back (the request may
		// have been cancelled, so not with its context).
		s.refundAttempt(context.WithoutCancel(ctx), acct.ID, att, useIP, ipKey)
		return nil, milogin.Wrap(op, err)
	}

	if !ok {
		return nil, s.recordFailure(ctx, op, portal, acct, att, m)
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
		// The address's row before the account's, as when reserving, so
		// that two transactions never wait for each other.
		if useIP {
			if err := tx.Limits().Refund(ctx, ipKey, s.IPFailureWindow, now); err != nil {
				return err
			}
		}
		a, err := tx.Accounts().Update(ctx, acct.ID, func(a *milogin.Account) error {
			a.RefundAttempt(att)
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
				// Locked by a concurrent attempt reserved with this one.
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

// refundAttempt gives back the reservations of an attempt that was not
// judged. It is best effort: a failure leaves the attempt counted, which
// errs on the safe side.
func (s *Service) refundAttempt(ctx context.Context, accountID string, att milogin.Attempt, useIP bool, ipKey string) {
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		if useIP {
			if err := tx.Limits().Refund(ctx, ipKey, s.IPFailureWindow, att.At); err != nil {
				return err
			}
		}
		_, err := tx.Accounts().Update(ctx, accountID, func(a *milogin.Account) error {
			a.RefundAttempt(att)
			return nil
		})
		return err
	})
	if err != nil && s.Logger != nil {
		s.Logger.WarnContext(ctx, "refunding an unjudged sign-in attempt", "err", err)
	}
}

// recordFailure writes what a wrong password causes: its audit event and,
// when its reservation locked the account, the lockout event and email, in
// one transaction. The failure itself was counted when it was reserved.
func (s *Service) recordFailure(ctx context.Context, op string, portal milogin.Portal, acct *milogin.Account, att milogin.Attempt, m Meta) error {
	now := att.At
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		if err := audit(ctx, tx, now, milogin.EventSignInFailed, portal.ID, acct.ID, acct.ID, m, map[string]string{"reason": "wrong password", "consecutive": fmt.Sprint(att.Consecutive)}); err != nil {
			return err
		}
		if !att.Locks {
			return nil
		}
		if err := audit(ctx, tx, now, milogin.EventLockout, portal.ID, "system", acct.ID, m, map[string]string{"until": acct.LockedUntil.Format(time.RFC3339)}); err != nil {
			return err
		}
		data := accountMail(portal, acct)
		data["Minutes"] = LockMinutes(acct.LockedUntil.Sub(now))
		return mail(ctx, tx, now, acct.Email, "account-locked", data)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	if att.Locks {
		s.kick()
		return milogin.Errorf(op, milogin.ELOCKED, "%s", LockedMessage(portal.Policy))
	}
	return milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgBadCredentials)
}
