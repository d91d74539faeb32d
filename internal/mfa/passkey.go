package mfa

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
)

// Ceremony purposes, stored with the challenge.
const (
	purposeRegister = "register"
	purposeLogin    = "login:" // + the login request ID
)

// waUser adapts an account to the WebAuthn library. The user handle is the
// account's random ID: stable, and no personal data.
type waUser struct {
	acct  *milogin.Account
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return []byte(u.acct.ID) }
func (u *waUser) WebAuthnName() string                       { return u.acct.UserID }
func (u *waUser) WebAuthnDisplayName() string                { return u.acct.DisplayName() }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// loadUser reads the account's passkeys for the library.
func loadUser(ctx context.Context, tx milogin.Tx, acct *milogin.Account) (*waUser, error) {
	rows, err := tx.WebAuthn().ListByAccount(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	u := &waUser{acct: acct}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return nil, err
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

func (s *Service) passkeysOn(op string) error {
	if s.WebAuthn == nil {
		return milogin.Errorf(op, milogin.ENOTFOUND, "Passkeys are not offered.")
	}
	return nil
}

// Passkey is one registered passkey, for Security Options.
type Passkey struct {
	ID         string // base64url of the credential ID
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Passkeys lists the account's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, acct *milogin.Account) ([]Passkey, error) {
	const op = "mfa.Passkeys"
	var rows []*milogin.WebAuthnCredential
	err := s.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		rows, err = tx.WebAuthn().ListByAccount(ctx, acct.ID)
		return err
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	out := make([]Passkey, 0, len(rows))
	for _, r := range rows {
		out = append(out, Passkey{ID: b64u(r.ID), Name: r.Name, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt})
	}
	return out, nil
}

// putChallenge stores a ceremony and returns its handle.
func (s *Service) putChallenge(ctx context.Context, tx milogin.Tx, acct *milogin.Account, sess *milogin.Session, purpose string, sd *webauthn.SessionData, now time.Time) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	id := authn.NewID()
	return id, tx.WebAuthn().PutChallenge(ctx, &milogin.WebAuthnChallenge{
		ID: id, AccountID: acct.ID, SessionID: sess.ID, Purpose: purpose, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(challengeLife),
	})
}

// takeChallenge uses up a ceremony, which must belong to this account,
// session and purpose and be unexpired.
func (s *Service) takeChallenge(ctx context.Context, op, id string, acct *milogin.Account, sess *milogin.Session, purpose string) (*webauthn.SessionData, error) {
	now := s.now()
	var c *milogin.WebAuthnChallenge
	err := s.Store.Write(ctx, func(tx milogin.Tx) (err error) {
		c, err = tx.WebAuthn().TakeChallenge(ctx, id)
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, milogin.Errorf(op, milogin.EEXPIRED, "This passkey request has expired. Please try again.")
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if c.AccountID != acct.ID || c.SessionID != sess.ID || c.Purpose != purpose || !now.Before(c.ExpiresAt) {
		return nil, milogin.Errorf(op, milogin.EEXPIRED, "This passkey request has expired. Please try again.")
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return &sd, nil
}

// BeginPasskeyRegistration checks the current password and starts adding a
// passkey. It returns the options for navigator.credentials.create (JSON)
// and the ceremony's handle.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, acct *milogin.Account, sess *milogin.Session, password string, m authn.Meta) (json.RawMessage, string, error) {
	const op = "mfa.BeginPasskeyRegistration"
	if err := s.passkeysOn(op); err != nil {
		return nil, "", err
	}
	if err := s.checkPassword(ctx, op, acct, password, m); err != nil {
		return nil, "", err
	}
	now := s.now()
	var opts []byte
	var id string
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		u, err := loadUser(ctx, tx, acct)
		if err != nil {
			return err
		}
		creation, sd, err := s.WebAuthn.BeginRegistration(u,
			webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
			webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
		if err != nil {
			return err
		}
		if opts, err = json.Marshal(creation); err != nil {
			return err
		}
		id, err = s.putChallenge(ctx, tx, acct, sess, purposeRegister, sd, now)
		return err
	})
	if err != nil {
		return nil, "", milogin.Wrap(op, err)
	}
	return opts, id, nil
}

// FinishPasskeyRegistration verifies the authenticator's response and stores
// the passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, acct *milogin.Account, sess *milogin.Session, challengeID, name string, response []byte, m authn.Meta) error {
	const op = "mfa.FinishPasskeyRegistration"
	if err := s.passkeysOn(op); err != nil {
		return err
	}
	sd, err := s.takeChallenge(ctx, op, challengeID, acct, sess, purposeRegister)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return s.passkeyFailed(ctx, op, acct, m, "register", err)
	}
	now := s.now()
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey added " + now.In(access.StateLocation()).Format("January 2, 2006")
	}
	if utf8.RuneCountInString(name) > passkeyNameSize {
		name = string([]rune(name)[:passkeyNameSize])
	}
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		u, err := loadUser(ctx, tx, acct)
		if err != nil {
			return err
		}
		cred, err := s.WebAuthn.CreateCredential(u, *sd, parsed)
		if err != nil {
			return errPasskey{err}
		}
		data, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		if err := tx.WebAuthn().Create(ctx, &milogin.WebAuthnCredential{ID: cred.ID, AccountID: acct.ID, Name: name, Data: data, CreatedAt: now}); err != nil {
			return err
		}
		return audit(ctx, tx, now, milogin.EventPasskeyAdded, acct, m, map[string]string{"name": name})
	})
	if e, ok := err.(errPasskey); ok {
		return s.passkeyFailed(ctx, op, acct, m, "register", e.err)
	}
	return milogin.Wrap(op, err)
}

// RemovePasskey deletes one of the account's passkeys (id is base64url)
// after checking the current password.
func (s *Service) RemovePasskey(ctx context.Context, acct *milogin.Account, id, password string, m authn.Meta) error {
	const op = "mfa.RemovePasskey"
	raw, err := unb64u(id)
	if err != nil {
		return milogin.Errorf(op, milogin.ENOTFOUND, "Passkey not found.")
	}
	if err := s.checkPassword(ctx, op, acct, password, m); err != nil {
		return err
	}
	now := s.now()
	return milogin.Wrap(op, s.Store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.WebAuthn().Delete(ctx, acct.ID, raw); err != nil {
			return err
		}
		return audit(ctx, tx, now, milogin.EventPasskeyRemoved, acct, m, nil)
	}))
}

// BeginPasskeyLogin starts the passkey option of the MFA page: the options
// for navigator.credentials.get (JSON), limited to the account's passkeys,
// and the ceremony's handle.
func (s *Service) BeginPasskeyLogin(ctx context.Context, f Flow) (json.RawMessage, string, error) {
	return s.beginPasskey(ctx, "mfa.BeginPasskeyLogin", f.Account, f.Session, purposeLogin+f.LoginID)
}

// BeginPasskeyCheck starts a passkey check outside an application's
// sign-in (the administration console's staff sign-in), bound to sess.
func (s *Service) BeginPasskeyCheck(ctx context.Context, acct *milogin.Account, sess *milogin.Session) (json.RawMessage, string, error) {
	return s.beginPasskey(ctx, "mfa.BeginPasskeyCheck", acct, sess, purposeLogin+"check")
}

func (s *Service) beginPasskey(ctx context.Context, op string, acct *milogin.Account, sess *milogin.Session, purpose string) (json.RawMessage, string, error) {
	if err := s.passkeysOn(op); err != nil {
		return nil, "", err
	}
	now := s.now()
	var opts []byte
	var id string
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		u, err := loadUser(ctx, tx, acct)
		if err != nil {
			return err
		}
		if len(u.creds) == 0 {
			return milogin.Errorf(op, milogin.ENOTFOUND, "No passkey is set up for this account.")
		}
		assertion, sd, err := s.WebAuthn.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
		if err != nil {
			return err
		}
		if opts, err = json.Marshal(assertion); err != nil {
			return err
		}
		id, err = s.putChallenge(ctx, tx, acct, sess, purpose, sd, now)
		return err
	})
	if err != nil {
		return nil, "", milogin.Wrap(op, err)
	}
	return opts, id, nil
}

// FinishPasskeyLogin verifies the assertion and completes the second factor
// for the flow. A signature counter that went backwards (a cloned
// authenticator) is refused.
func (s *Service) FinishPasskeyLogin(ctx context.Context, f Flow, challengeID string, response []byte, m authn.Meta) error {
	return s.finishPasskey(ctx, "mfa.FinishPasskeyLogin", f.Account, f.Session, purposeLogin+f.LoginID, challengeID, response, m,
		func(tx milogin.Tx, now time.Time) error {
			return access.CompleteMFA(ctx, tx, now, f.LoginID, f.Account, f.Session.ID, milogin.MFAMethodWebAuthn, m)
		})
}

// FinishPasskeyCheck verifies the assertion of a BeginPasskeyCheck and runs
// done in the transaction that records the passkey's use.
func (s *Service) FinishPasskeyCheck(ctx context.Context, acct *milogin.Account, sess *milogin.Session, challengeID string, response []byte, m authn.Meta, done func(tx milogin.Tx, now time.Time) error) error {
	return s.finishPasskey(ctx, "mfa.FinishPasskeyCheck", acct, sess, purposeLogin+"check", challengeID, response, m, done)
}

func (s *Service) finishPasskey(ctx context.Context, op string, acct *milogin.Account, sess *milogin.Session, purpose, challengeID string, response []byte, m authn.Meta, done func(tx milogin.Tx, now time.Time) error) error {
	if err := s.passkeysOn(op); err != nil {
		return err
	}
	sd, err := s.takeChallenge(ctx, op, challengeID, acct, sess, purpose)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return s.passkeyFailed(ctx, op, acct, m, "login", err)
	}
	now := s.now()
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		u, err := loadUser(ctx, tx, acct)
		if err != nil {
			return err
		}
		cred, err := s.WebAuthn.ValidateLogin(u, *sd, parsed)
		if err != nil {
			return errPasskey{err}
		}
		if cred.Authenticator.CloneWarning {
			return errPasskey{errClone}
		}
		data, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		if _, err := tx.WebAuthn().Update(ctx, cred.ID, func(c *milogin.WebAuthnCredential) error {
			if c.AccountID != acct.ID {
				return errPasskey{errClone}
			}
			c.Data, c.LastUsedAt = data, now
			return nil
		}); err != nil {
			return err
		}
		return done(tx, now)
	})
	if e, ok := err.(errPasskey); ok {
		return s.passkeyFailed(ctx, op, acct, m, "login", e.err)
	}
	return milogin.Wrap(op, err)
}

// errPasskey carries a verification failure out of a transaction (which it
// rolls back) to be audited and answered with EUNAUTHORIZED.
type errPasskey struct{ err error }

func (e errPasskey) Error() string { return e.err.Error() }

var errClone = milogin.Errorf("mfa", milogin.EUNAUTHORIZED, "signature counter did not increase: possible cloned authenticator")

func (s *Service) passkeyFailed(ctx context.Context, op string, acct *milogin.Account, m authn.Meta, step string, cause error) error {
	now := s.now()
	detail := map[string]string{"method": milogin.MFAMethodWebAuthn, "step": step}
	if pe, ok := cause.(*protocol.Error); ok {
		detail["error"] = pe.Type
	}
	if err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		return audit(ctx, tx, now, milogin.EventMFAFailed, acct, m, detail)
	}); err != nil {
		return milogin.Wrap(op, err)
	}
	return &milogin.Error{Op: op, Kind: milogin.EUNAUTHORIZED, Msg: MsgPasskeyFailed, Err: cause}
}

// Sweep deletes passkey ceremonies that have expired (abandoned in the
// browser); passcodes expire with the other one-time codes (authn's sweep).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	var n int
	err := s.Store.Write(ctx, func(tx milogin.Tx) (err error) {
		n, err = tx.WebAuthn().DeleteExpiredChallenges(ctx, s.now())
		return err
	})
	return n, milogin.Wrap("mfa.Sweep", err)
}
