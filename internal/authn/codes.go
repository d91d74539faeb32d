package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"milogin"
	"milogin/internal/notify"
)

// PINs: 6 digits, valid 10 minutes, single use, at most 5 wrong tries
// in a flow, only their keyed hash stored. A flow has one Code row for its
// PIN: RESEND PIN puts a new PIN in the same row (new hash and expiry) and
// keeps the count of wrong tries, so asking for a new PIN never earns more
// guesses. After the fifth wrong PIN the flow ends and the person starts
// again, which goes through the verification question and the per-IP and
// per-user limits once more.
const (
	PINLife        = 10 * time.Minute
	PINMaxAttempts = 5
	PINMaxSends    = 5                // PINs sent per flow, the first included
	PINResendGap   = 30 * time.Second // between two sends of one flow
)

// Messages about PINs, shown as they are.
const (
	MsgPINRequired = "PIN is required."
	MsgPINFormat   = "The PIN is the 6-digit number we sent you."
	MsgPINWrong    = "The PIN you entered is incorrect."
	MsgPINExpired  = "This PIN has expired. Please click RESEND PIN to receive a new one."
	MsgPINLocked   = "You have entered an incorrect PIN too many times. Please start again to receive a new PIN."
	// MsgPINLockedSignup and MsgPINLockedReset keep the person's place
	// when the limits allow one more PIN.
	MsgPINLockedSignup = "You have entered an incorrect PIN too many times. Your information has been kept: enter your password again and select CREATE ACCOUNT to receive a new PIN."
	MsgPINLockedReset  = "You have entered an incorrect PIN too many times. Select an option to receive a new PIN."
	MsgPINResendWait   = "A PIN was sent less than 30 seconds ago. Please wait a moment before requesting another."
	MsgPINSendLimit    = "You have requested the maximum number of PINs. Please start again."
	MsgPINResent       = "A new PIN has been sent."
)

// pinDest is where a PIN goes.
type pinDest struct {
	Channel milogin.Channel
	To      string
}

// sendPIN puts a new PIN in the Code codeID (creating it when codeID is "")
// bound to purpose and subject, and queues the message template (email or
// text, as dest says) inside tx. With decoy set the PIN is never sent: the
// message is composed and queued as a decoy (milogin.ChannelDecoy), so an
// unknown user ID's flow does the same work, and nobody knows the PIN it
// can succeed with. It returns the code's ID and ERATELIMIT or
// ELOCKED errors with a message for the person.
func (s *Service) sendPIN(ctx context.Context, tx milogin.Tx, now time.Time, codeID, purpose, subject string, dest pinDest, template string, data map[string]any, decoy bool) (string, error) {
	const op = "authn.sendPIN"
	// A decoy's PIN is made and hashed like a real one and never sent:
	// nobody knows it, and the work is the same.
	pin := NewCode()
	hash := func(id string) []byte { return s.Codes.Hash(id, pin) }
	if codeID == "" {
		codeID = NewID()
		if err := tx.Codes().Create(ctx, &milogin.Code{
			ID: codeID, Purpose: purpose, Subject: subject, Hash: hash(codeID),
			CreatedAt: now, ExpiresAt: now.Add(PINLife), MaxAttempts: PINMaxAttempts, Sends: 1,
		}); err != nil {
			return "", err
		}
	} else {
		_, err := tx.Codes().Update(ctx, codeID, func(c *milogin.Code) error {
			switch {
			case c.Purpose != purpose || c.Subject != subject:
				return milogin.Errorf(op, milogin.EEXPIRED, MsgPINLocked)
			case c.Attempts >= c.MaxAttempts:
				return milogin.Errorf(op, milogin.ELOCKED, MsgPINLocked)
			case c.Sends >= PINMaxSends:
				return milogin.Errorf(op, milogin.ERATELIMIT, MsgPINSendLimit)
			case now.Sub(c.CreatedAt) < PINResendGap:
				return milogin.Errorf(op, milogin.ERATELIMIT, MsgPINResendWait)
			}
			c.Hash = hash(c.ID)
			c.CreatedAt = now // the time of the latest send
			c.ExpiresAt = now.Add(PINLife)
			c.Sends++
			c.UsedAt = time.Time{}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	d := map[string]any{"PIN": pin, "Minutes": int(PINLife / time.Minute), "Name": ""}
	for k, v := range data {
		d[k] = v
	}
	if decoy {
		ch := dest.Channel
		if ch == "" {
			ch = milogin.ChannelEmail
		}
		if err := mailDecoy(ctx, tx, now, ch, template, d); err != nil {
			return "", err
		}
		return codeID, nil
	}
	m, err := notify.Compose(dest.Channel, dest.To, template, d)
	if err != nil {
		return "", err
	}
	m.CreatedAt, m.NextAttemptAt = now, now
	if err := tx.Outbox().Enqueue(ctx, m); err != nil {
		return "", err
	}
	return codeID, nil
}

// maxPINRounds is how many PINs a sign-up or a reset may use up before it
// must start again: the first, and one more.
const maxPINRounds = 2

// pinRoundAllowed reports whether a flow whose PIN ran out of tries, after
// rounds earlier ones, may have another, and counts it against limitKey
// (the limit that bounds new flows) so that rounds are no way around it.
func pinRoundAllowed(ctx context.Context, tx milogin.Tx, now time.Time, rounds int, limitKey string, limit int) (bool, error) {
	if rounds+1 >= maxPINRounds {
		return false, nil
	}
	if limitKey == "" {
		return true, nil
	}
	_, ok, err := tx.Limits().Reserve(ctx, limitKey, time.Hour, limit, now)
	return ok, err
}

// pinOutcome is what checking a PIN found.
type pinOutcome int

const (
	pinOK      pinOutcome = iota
	pinInvalid            // empty, malformed or wrong: stay on the page (verr says which)
	pinExpired            // past its 10 minutes: RESEND PIN
	pinLocked             // out of tries, or no longer this flow's: start again
)

// checkPIN checks pin against the code inside tx. A wrong PIN counts one
// try, so the caller must commit tx whatever the outcome; verr is the
// person's mistake as an error to show, err a storage failure. A right PIN
// is used up.
func (s *Service) checkPIN(ctx context.Context, tx milogin.Tx, now time.Time, codeID, purpose, subject, pin string) (pinOutcome, error, error) {
	const op = "authn.checkPIN"
	pin = strings.Join(strings.Fields(pin), "")
	invalid := func(msg string) error {
		return milogin.Invalid(op, []milogin.Violation{{Field: "pin", Rule: "pin", Message: msg}})
	}
	if pin == "" {
		return pinInvalid, invalid(MsgPINRequired), nil
	}
	if len(pin) != 6 || strings.Trim(pin, "0123456789") != "" {
		return pinInvalid, invalid(MsgPINFormat), nil
	}
	if codeID == "" {
		return pinLocked, milogin.Errorf(op, milogin.ELOCKED, MsgPINLocked), nil
	}
	var out pinOutcome
	var left int
	_, err := tx.Codes().Update(ctx, codeID, func(c *milogin.Code) error {
		switch {
		case c.Purpose != purpose || c.Subject != subject || !c.UsedAt.IsZero() || c.Attempts >= c.MaxAttempts:
			out = pinLocked
		case !now.Before(c.ExpiresAt):
			out = pinExpired
		case !s.Codes.Equal(c.Hash, c.ID, pin):
			c.Attempts++
			left = c.MaxAttempts - c.Attempts
			out = pinInvalid
			if left <= 0 {
				out = pinLocked
			}
		default:
			c.UsedAt = now
			out = pinOK
		}
		return nil
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return pinLocked, milogin.Errorf(op, milogin.ELOCKED, MsgPINLocked), nil
	}
	if err != nil {
		return 0, nil, err
	}
	switch out {
	case pinInvalid:
		tries := "tries"
		if left == 1 {
			tries = "try"
		}
		return out, invalid(fmt.Sprintf("%s You have %d more %s.", MsgPINWrong, left, tries)), nil
	case pinExpired:
		return out, milogin.Errorf(op, milogin.EEXPIRED, MsgPINExpired), nil
	case pinLocked:
		return out, milogin.Errorf(op, milogin.ELOCKED, MsgPINLocked), nil
	}
	return pinOK, nil, nil
}

// Flows: the browser holds a random token in a cookie; the store keeps its
// SHA-256 as the flow's ID, like a session's.

// Flow lifetimes, renewed at every step.
const (
	signupLife  = 30 * time.Minute
	resetLife   = 15 * time.Minute
	profileLife = 15 * time.Minute
)

// MsgFlowExpired is shown when a flow's cookie no longer leads anywhere.
const MsgFlowExpired = "This page has expired. Please start again."

func errFlowExpired(op string) error { return milogin.Errorf(op, milogin.EEXPIRED, MsgFlowExpired) }

// newFlow returns a new flow holding state, and the token for the cookie.
func newFlow(kind string, portal milogin.PortalID, subject string, state any, now time.Time, life time.Duration) (string, *milogin.Flow, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return "", nil, err
	}
	token, id := NewToken()
	return token, &milogin.Flow{ID: id, Kind: kind, Portal: portal, Subject: subject, State: b,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(life)}, nil
}

// flowOK reports whether f is a live flow of kind in portal.
func flowOK(f *milogin.Flow, kind string, portal milogin.PortalID, now time.Time) bool {
	return f.Kind == kind && f.Portal == portal && f.Live(now)
}

// loadFlow reads the flow behind token into state (a pointer), or returns
// EEXPIRED when there is none of that kind and portal.
func (s *Service) loadFlow(ctx context.Context, tx milogin.Tx, op, kind string, portal milogin.PortalID, token string, state any) (*milogin.Flow, error) {
	if token == "" {
		return nil, errFlowExpired(op)
	}
	f, err := tx.Flows().Get(ctx, TokenID(token))
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, errFlowExpired(op)
	}
	if err != nil {
		return nil, err
	}
	if !flowOK(f, kind, portal, s.now()) {
		return nil, errFlowExpired(op)
	}
	if err := json.Unmarshal(f.State, state); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return f, nil
}

// updateFlow loads the flow behind token locked, lets fn change state (a
// pointer) and saves it with its life renewed. An error from fn is returned
// unchanged and nothing is saved.
func (s *Service) updateFlow(ctx context.Context, tx milogin.Tx, op, kind string, portal milogin.PortalID, token string, life time.Duration, state any, fn func(f *milogin.Flow) error) (*milogin.Flow, error) {
	if token == "" {
		return nil, errFlowExpired(op)
	}
	now := s.now()
	f, err := tx.Flows().Update(ctx, TokenID(token), func(f *milogin.Flow) error {
		if !flowOK(f, kind, portal, now) {
			return errFlowExpired(op)
		}
		if err := json.Unmarshal(f.State, state); err != nil {
			return milogin.Wrap(op, err)
		}
		if err := fn(f); err != nil {
			return err
		}
		b, err := json.Marshal(state)
		if err != nil {
			return milogin.Wrap(op, err)
		}
		f.State, f.UpdatedAt, f.ExpiresAt = b, now, now.Add(life)
		return nil
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, errFlowExpired(op)
	}
	return f, err
}

// FlowState reads the state of the live flow of kind behind token into
// state (a pointer), for the pages that show a step. EEXPIRED when there is
// none.
func (s *Service) FlowState(ctx context.Context, kind string, portal milogin.PortalID, token string, state any) (*milogin.Flow, error) {
	const op = "authn.FlowState"
	var f *milogin.Flow
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		f, err = s.loadFlow(ctx, tx, op, kind, portal, token, state)
		return err
	})
	return f, err
}

// EndFlow deletes the flow behind token (RESET, or leaving a flow).
func (s *Service) EndFlow(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return milogin.Wrap("authn.EndFlow", s.Store.Write(ctx, func(tx milogin.Tx) error {
		return tx.Flows().Delete(ctx, TokenID(token))
	}))
}

// hashAnswers hashes security answers (normalized) with the password hasher.
func (s *Service) hashAnswers(ctx context.Context, ids []string, answers []string) ([]milogin.SecurityAnswer, error) {
	out := make([]milogin.SecurityAnswer, len(ids))
	for i := range ids {
		h, err := s.Hasher.Hash(ctx, milogin.NormalizeAnswer(answers[i]))
		if err != nil {
			return nil, err
		}
		out[i] = milogin.SecurityAnswer{QuestionID: ids[i], Hash: h}
	}
	return out, nil
}
