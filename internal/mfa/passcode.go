package mfa

import (
	"context"
	"strings"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
)

// Flow identifies the sign-in a second factor is for: the person's session
// and the parked protocol request, and the application's name for messages.
type Flow struct {
	Account *milogin.Account
	Session *milogin.Session
	LoginID string
	AppName string
}

// subject binds a passcode to the session, the request and the channel:
// Code.Subject is compared exactly, so a code issued for one of them cannot
// finish another.
func subject(f Flow, ch milogin.Channel) string {
	return "mfa|" + f.Session.ID + "|" + f.LoginID + "|" + string(ch)
}

// channelOf returns the channel a code was sent over if it is bound to f.
func channelOf(c *milogin.Code, f Flow) (milogin.Channel, bool) {
	for _, ch := range []milogin.Channel{milogin.ChannelEmail, milogin.ChannelSMS} {
		if c.Purpose == milogin.PurposeMFA && c.Subject == subject(f, ch) {
			return ch, true
		}
	}
	return "", false
}

func methodOf(ch milogin.Channel) string {
	if ch == milogin.ChannelSMS {
		return milogin.MFAMethodSMS
	}
	return milogin.MFAMethodEmail
}

// SendPasscode creates a passcode for the flow and queues it to the
// account's email or mobile, with the audit event, in one transaction. It
// returns the code's handle, which the passcode page carries. An account may
// be sent 5 passcodes per 10 minutes (ERATELIMIT after that).
func (s *Service) SendPasscode(ctx context.Context, f Flow, ch milogin.Channel, m authn.Meta) (string, error) {
	const op = "mfa.SendPasscode"
	to := f.Account.Email
	if ch == milogin.ChannelSMS {
		to = f.Account.ProvenMobile()
	} else if ch != milogin.ChannelEmail {
		return "", milogin.Errorf(op, milogin.EINVALID, "Please select one of the options.")
	}
	if strings.TrimSpace(to) == "" {
		return "", milogin.Errorf(op, milogin.EINVALID, "Your account has no %s on file. Please choose another option.",
			map[milogin.Channel]string{milogin.ChannelEmail: "email address", milogin.ChannelSMS: "mobile number"}[ch])
	}
	now := s.now()
	code, id := authn.NewCode(), authn.NewID()
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		_, ok, err := tx.Limits().Reserve(ctx, "mfa-send:"+f.Account.ID, sendWindow, maxSends, now)
		if err != nil {
			return err
		}
		if !ok {
			return milogin.Errorf(op, milogin.ERATELIMIT, MsgTooManySends)
		}
		if err := tx.Codes().Create(ctx, &milogin.Code{
			ID: id, Purpose: milogin.PurposeMFA, Subject: subject(f, ch), Hash: s.Codes.Hash(id, code),
			CreatedAt: now, ExpiresAt: now.Add(CodeLife), MaxAttempts: MaxAttempts, Sends: 1,
		}); err != nil {
			return err
		}
		msg, err := compose(ch, to, mailData{Name: f.Account.DisplayName(), App: f.AppName, Code: code, Minutes: int(CodeLife.Minutes()),
			Help: s.Portals[f.Account.Portal].HelpDesk})
		if err != nil {
			return err
		}
		msg.CreatedAt, msg.NextAttemptAt = now, now
		if err := tx.Outbox().Enqueue(ctx, msg); err != nil {
			return err
		}
		return audit(ctx, tx, now, milogin.EventMFASent, f.Account, m, map[string]string{"channel": string(ch), "login": f.LoginID})
	})
	if milogin.IsKind(err, milogin.ERATELIMIT) {
		// The refused send is not counted twice: the transaction that
		// counted it was rolled back, but the limit is already reached.
		return "", err
	}
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	s.kick()
	return id, nil
}

// VerifyPasscode checks a passcode typed on the passcode page. A right code
// is used up and completes the second factor for the flow; a wrong one
// counts against the code (5 tries). Errors: EUNAUTHORIZED (wrong code,
// with the tries left), ELOCKED (the last try was wrong, or none is left),
// EEXPIRED (expired or used), ENOTFOUND (no such code for this flow).
func (s *Service) VerifyPasscode(ctx context.Context, f Flow, codeID, code string, m authn.Meta) error {
	const op = "mfa.VerifyPasscode"
	now := s.now()
	code = strings.Join(strings.Fields(code), "")
	var verr error
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		var ch milogin.Channel
		var wrong bool
		var left int
		if _, err := tx.Codes().Get(ctx, codeID); milogin.IsKind(err, milogin.ENOTFOUND) {
			return milogin.Errorf(op, milogin.ENOTFOUND, MsgCodeExpired)
		}
		_, err := tx.Codes().Update(ctx, codeID, func(c *milogin.Code) error {
			var ok bool
			if ch, ok = channelOf(c, f); !ok {
				return milogin.Errorf(op, milogin.ENOTFOUND, MsgCodeExpired)
			}
			if c.UsedAt.IsZero() && c.Attempts >= c.MaxAttempts {
				// Out of tries: say so, not "expired or already used".
				return milogin.Errorf(op, milogin.ELOCKED, MsgTooManyWrong)
			}
			if !c.Usable(now) {
				return milogin.Errorf(op, milogin.EEXPIRED, MsgCodeExpired)
			}
			if len(code) != 6 || !s.Codes.Equal(c.Hash, c.ID, code) {
				c.Attempts++
				wrong, left = true, c.MaxAttempts-c.Attempts
				return nil
			}
			c.UsedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if wrong {
			// The tries left, as the PIN steps say them; the last wrong
			// try ends the passcode (ELOCKED) and says so.
			switch {
			case left <= 0:
				verr = milogin.Errorf(op, milogin.ELOCKED, MsgTooManyWrong)
			case left == 1:
				verr = milogin.Errorf(op, milogin.EUNAUTHORIZED, "%s You have 1 more try.", MsgWrongCode)
			default:
				verr = milogin.Errorf(op, milogin.EUNAUTHORIZED, "%s You have %d more tries.", MsgWrongCode, left)
			}
			return audit(ctx, tx, now, milogin.EventMFAFailed, f.Account, m, map[string]string{"method": methodOf(ch), "login": f.LoginID})
		}
		return access.CompleteMFA(ctx, tx, now, f.LoginID, f.Account, f.Session.ID, methodOf(ch), m)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return verr
}
