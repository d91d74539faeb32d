// Package mfa runs the second factor of the MFA step and its
// enrolment: passcodes sent by email or text, authenticator apps (TOTP,
// RFC 6238) and passkeys (WebAuthn).
//
// What it promises:
//
//   - A passcode is 6 random digits, stored only as a keyed hash, valid 10
//     minutes, used once, refused after 5 wrong tries, and bound to the
//     session and the parked sign-in that asked for it: it cannot finish
//     another person's, another session's or another application's sign-in.
//   - An authenticator code is checked with a 30-second step and one step of
//     skew either way; a step once accepted is never accepted again (the
//     last used step is stored), so a code cannot be replayed. Secrets are
//     sealed at rest with a key derived from the key-encryption key and
//     bound to the account.
//   - A passkey ceremony's challenge lives in the database (any node can
//     finish it) and is used once.
//   - Every completed second factor is recorded in the transaction that
//     consumed it, with the MFA event the daily policy looks for and the mark
//     on the parked sign-in (access.CompleteMFA); every failure is audited.
//   - Enrolling or removing a factor needs the current password.
package mfa

import (
	"context"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/notify"
)

// Limits of the passcode flow (SECURITY-TESTS.md).
const (
	CodeLife        = 10 * time.Minute
	MaxAttempts     = 5
	sendWindow      = 10 * time.Minute
	maxSends        = 5 // passcodes one account may be sent per sendWindow
	failWindow      = 10 * time.Minute
	maxFailures     = 5 // wrong authenticator codes or passwords per failWindow
	challengeLife   = 5 * time.Minute
	passkeyNameSize = 64
)

// Messages shown on the pages.
const (
	MsgWrongCode     = "The passcode you entered is incorrect."
	MsgTooManyWrong  = "You have entered an incorrect passcode too many times. Please request a new passcode."
	MsgCodeExpired   = "This passcode has expired or has already been used. Please request a new one."
	MsgTooManySends  = "Too many passcodes were requested. Please wait 10 minutes and try again."
	MsgTooManyFails  = "Too many incorrect attempts. Please wait 10 minutes and try again."
	MsgWrongPassword = "The current password you entered is incorrect."
	MsgPasskeyFailed = "The passkey could not be verified. Please try again or choose another option."
)

// Service runs the second factors. Build it with New and set the optional
// fields; a nil TOTPKey turns authenticator apps off, a nil WebAuthn turns
// passkeys off.
type Service struct {
	Store  milogin.Store
	Codes  *authn.CodeHasher
	Hasher *authn.Hasher
	// TOTPKey seals authenticator-app secrets (secrets.KEK.AEAD("totp")).
	TOTPKey cipher.AEAD
	// WebAuthn is the relying party for passkeys (see NewWebAuthn).
	WebAuthn *webauthn.WebAuthn
	// Portals gives the passcode emails their portal's help desk (may be nil).
	Portals map[milogin.PortalID]milogin.Portal
	// Issuer names MILogin in authenticator apps.
	Issuer string
	Now    func() time.Time
	// Kick wakes the outbox worker after a passcode is queued (may be nil).
	Kick   func()
	Logger *slog.Logger
}

// New returns a Service with passcodes only; set TOTPKey and WebAuthn to
// offer the other factors.
func New(store milogin.Store, codes *authn.CodeHasher, hasher *authn.Hasher) *Service {
	return &Service{Store: store, Codes: codes, Hasher: hasher, Issuer: "MILogin", Now: time.Now, Logger: slog.Default()}
}

// NewWebAuthn returns the passkey relying party for a deployment served at
// baseURL (https://milogintp.example.gov; http only for localhost). The
// relying party ID is the host name, which WebAuthn requires to be a domain
// (not an IP address); the origin is the scheme and host of baseURL.
func NewWebAuthn(baseURL string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("mfa: base URL %q is not an http(s) URL", baseURL)
	}
	return webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "MILogin",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
	})
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) kick() {
	if s.Kick != nil {
		s.Kick()
	}
}

// Options are the second factors an account can use, for the MFA page.
type Options struct {
	Email    string // masked address; "" when the account has none
	SMS      string // masked number; "" when the account has no mobile
	TOTP     bool   // a confirmed authenticator app
	Passkeys bool   // at least one passkey (and passkeys are enabled)
}

// Any reports whether at least one option exists.
func (o Options) Any() bool { return o.Email != "" || o.SMS != "" || o.TOTP || o.Passkeys }

// OptionsFor returns the second factors acct can use.
func (s *Service) OptionsFor(ctx context.Context, acct *milogin.Account) (Options, error) {
	const op = "mfa.OptionsFor"
	o := Options{}
	if acct.Email != "" {
		o.Email = milogin.MaskEmail(acct.Email)
	}
	// Only a proven number: a code texted to a number nobody confirmed
	// proves nothing about the person.
	if m := acct.ProvenMobile(); m != "" {
		o.SMS = milogin.MaskPhone(m)
	}
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		if s.TOTPKey != nil {
			k, err := tx.TOTP().Get(ctx, acct.ID)
			if err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
				return err
			}
			o.TOTP = k != nil && k.Confirmed
		}
		if s.WebAuthn != nil {
			cs, err := tx.WebAuthn().ListByAccount(ctx, acct.ID)
			if err != nil {
				return err
			}
			o.Passkeys = len(cs) > 0
		}
		return nil
	})
	return o, milogin.Wrap(op, err)
}

func audit(ctx context.Context, tx milogin.Tx, now time.Time, typ string, acct *milogin.Account, m authn.Meta, detail map[string]string) error {
	return tx.Audit().Append(ctx, &milogin.AuditEvent{
		Time: now, Type: typ, Portal: acct.Portal, ActorID: acct.ID, SubjectID: acct.ID,
		IP: m.IP, UserAgent: m.UserAgent, Detail: detail,
	})
}

// checkPassword verifies acct's current password for a change to its
// factors, counting failures so that a stolen session cannot guess it. The
// failure is reserved before the hash and given back when the password is
// right, so that concurrent guesses get at most maxFailures judged.
func (s *Service) checkPassword(ctx context.Context, op string, acct *milogin.Account, password string, m authn.Meta) error {
	if password == "" {
		return milogin.Errorf(op, milogin.EINVALID, "Enter Current Password is required.")
	}
	key := "mfa-password-fail:" + acct.ID
	at, err := s.reserveFailure(ctx, op, key)
	if err != nil {
		return err
	}
	ok, _, err := s.Hasher.Verify(ctx, acct.PasswordHash, password)
	if err != nil || ok {
		if rerr := s.refundFailure(ctx, key, at); rerr != nil && err == nil {
			err = rerr
		}
		return milogin.Wrap(op, err)
	}
	if err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		return audit(ctx, tx, at, milogin.EventMFAFailed, acct, m, map[string]string{"step": "password"})
	}); err != nil {
		return milogin.Wrap(op, err)
	}
	return milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgWrongPassword)
}

// reserveFailure counts a failure of key before the check it limits
// (ERATELIMIT when maxFailures are already counted in the window) and
// returns the time it was counted at, for refundFailure.
func (s *Service) reserveFailure(ctx context.Context, op, key string) (time.Time, error) {
	now := s.now()
	var ok bool
	if err := s.Store.Write(ctx, func(tx milogin.Tx) (err error) {
		_, ok, err = tx.Limits().Reserve(ctx, key, failWindow, maxFailures, now)
		return err
	}); err != nil {
		return now, milogin.Wrap(op, err)
	}
	if !ok {
		return now, milogin.Errorf(op, milogin.ERATELIMIT, MsgTooManyFails)
	}
	return now, nil
}

// refundFailure gives back a failure reserved at at whose check passed (or
// was not made). The request may be ending: not with its context.
func (s *Service) refundFailure(ctx context.Context, key string, at time.Time) error {
	ctx = context.WithoutCancel(ctx)
	return s.Store.Write(ctx, func(tx milogin.Tx) error {
		return tx.Limits().Refund(ctx, key, failWindow, at)
	})
}

// mailData is what the passcode messages receive.
type mailData struct {
	Name    string
	App     string
	Code    string
	Minutes int
	Help    milogin.HelpDesk
}

// compose renders the passcode message for ch.
func compose(ch milogin.Channel, to string, d mailData) (*milogin.Message, error) {
	return notify.Compose(ch, to, "mfa-passcode", d)
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64u(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
