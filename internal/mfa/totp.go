package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
	"milogin/internal/secrets"
)

// TOTP parameters: what every authenticator app understands (RFC 6238
// defaults), one step of skew either way.
const (
	totpPeriod = 30
	totpSkew   = 1
	secretSize = 20 // 160 bits, RFC 4226's recommendation
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Step returns the TOTP time step of t.
func Step(t time.Time) int64 { return t.Unix() / totpPeriod }

// codeAt returns the code for secret (base32) at step.
func codeAt(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0).UTC(), totpOpts)
}

// matchStep returns the step within the skew whose code is code and which
// is after last, or false. Every step is checked, so the time taken does not
// tell which one matched.
func matchStep(secret, code string, now time.Time, last int64) (int64, bool, error) {
	cur := Step(now)
	var found int64
	ok := false
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := codeAt(secret, step)
		if err != nil {
			return 0, false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > last && !ok {
			found, ok = step, true
		}
	}
	return found, ok, nil
}

// seal and open bind the sealed secret to the account, so a row copied to
// another account does not open.
func (s *Service) seal(accountID string, secret []byte) []byte {
	return secrets.Seal(s.TOTPKey, secret, []byte("totp:"+accountID))
}

func (s *Service) open(accountID string, sealed []byte) (string, error) {
	raw, err := secrets.Open(s.TOTPKey, sealed, []byte("totp:"+accountID))
	if err != nil {
		return "", err
	}
	return b32.EncodeToString(raw), nil
}

// b32 is how authenticator apps write secrets: RFC 4648 base32, no padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTPEnrolment is what the authenticator page shows while setting up.
type TOTPEnrolment struct {
	Secret string // base32, grouped in fours for typing
	URL    string // otpauth:// URL
	QR     string // data:image/png;base64 URL of the QR code
}

// TOTPState is the account's authenticator app: none, being set up, set up.
type TOTPState struct {
	Enabled   bool // authenticator apps are offered in this deployment
	Confirmed bool
	Pending   *TOTPEnrolment // set up started, not confirmed
	Since     time.Time      // when it was confirmed
}

// TOTPStatus returns the account's authenticator-app state, with the QR
// code of an enrolment in progress.
func (s *Service) TOTPStatus(ctx context.Context, acct *milogin.Account) (*TOTPState, error) {
	const op = "mfa.TOTPStatus"
	st := &TOTPState{Enabled: s.TOTPKey != nil}
	if !st.Enabled {
		return st, nil
	}
	var k *milogin.TOTPKey
	err := s.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		k, err = tx.TOTP().Get(ctx, acct.ID)
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return st, nil
	}
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if k.Confirmed {
		st.Confirmed, st.Since = true, k.ConfirmedAt
		return st, nil
	}
	secret, err := s.open(acct.ID, k.Secret)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if st.Pending, err = s.enrolment(acct, secret); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return st, nil
}

func (s *Service) enrolment(acct *milogin.Account, secret string) (*TOTPEnrolment, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.Issuer, AccountName: acct.UserID, Period: totpPeriod,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	var groups []string
	for i := 0; i < len(secret); i += 4 {
		groups = append(groups, secret[i:min(i+4, len(secret))])
	}
	return &TOTPEnrolment{
		Secret: strings.Join(groups, " "),
		URL:    key.URL(),
		QR:     "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

// BeginTOTP starts setting up an authenticator app: a new secret, stored
// sealed and unconfirmed (not offered until a code from the app confirms
// it). An account with a confirmed app must remove it first (ECONFLICT).
func (s *Service) BeginTOTP(ctx context.Context, acct *milogin.Account) error {
	const op = "mfa.BeginTOTP"
	if s.TOTPKey == nil {
		return milogin.Errorf(op, milogin.ENOTFOUND, "Authenticator apps are not offered.")
	}
	raw := make([]byte, secretSize)
	rand.Read(raw)
	now := s.now()
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		k, err := tx.TOTP().Get(ctx, acct.ID)
		if err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
			return err
		}
		if k != nil && k.Confirmed {
			return milogin.Errorf(op, milogin.ECONFLICT, "An authenticator app is already set up. Remove it first to set up another.")
		}
		return tx.TOTP().Put(ctx, &milogin.TOTPKey{AccountID: acct.ID, Secret: s.seal(acct.ID, raw), CreatedAt: now, UpdatedAt: now})
	})
	return milogin.Wrap(op, err)
}

// ConfirmTOTP finishes setting up the authenticator app with the current
// password and a code from the app; the code's step is used up.
func (s *Service) ConfirmTOTP(ctx context.Context, acct *milogin.Account, password, code string, m authn.Meta) error {
	const op = "mfa.ConfirmTOTP"
	if err := s.checkPassword(ctx, op, acct, password, m); err != nil {
		return err
	}
	return s.useTOTP(ctx, op, acct, code, m, func(tx milogin.Tx, k *milogin.TOTPKey, now time.Time) error {
		if k.Confirmed {
			return milogin.Errorf(op, milogin.ECONFLICT, "The authenticator app is already set up.")
		}
		k.Confirmed, k.ConfirmedAt = true, now
		return nil
	}, func(tx milogin.Tx, now time.Time) error {
		return audit(ctx, tx, now, milogin.EventTOTPEnrolled, acct, m, nil)
	})
}

// RemoveTOTP removes the account's authenticator app after checking the
// current password.
func (s *Service) RemoveTOTP(ctx context.Context, acct *milogin.Account, password string, m authn.Meta) error {
	const op = "mfa.RemoveTOTP"
	if err := s.checkPassword(ctx, op, acct, password, m); err != nil {
		return err
	}
	now := s.now()
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.TOTP().Delete(ctx, acct.ID); err != nil {
			return err
		}
		return audit(ctx, tx, now, milogin.EventTOTPRemoved, acct, m, nil)
	})
	return milogin.Wrap(op, err)
}

// VerifyTOTP checks an authenticator code on the MFA page and completes the
// second factor for the flow. Errors: EUNAUTHORIZED (wrong or replayed
// code), ERATELIMIT (5 wrong codes in 10 minutes), ENOTFOUND (no app set up).
func (s *Service) VerifyTOTP(ctx context.Context, f Flow, code string, m authn.Meta) error {
	const op = "mfa.VerifyTOTP"
	return s.useTOTP(ctx, op, f.Account, code, m, func(tx milogin.Tx, k *milogin.TOTPKey, now time.Time) error {
		if !k.Confirmed {
			return milogin.Errorf(op, milogin.ENOTFOUND, "No authenticator app is set up for this account.")
		}
		return nil
	}, func(tx milogin.Tx, now time.Time) error {
		return access.CompleteMFA(ctx, tx, now, f.LoginID, f.Account, f.Session.ID, milogin.MFAMethodTOTP, m)
	})
}

// useTOTP checks code against the account's key under the row lock, raises
// LastStep to the matched step (so the code cannot be used again), applies
// check to the key and runs done in the same transaction.
func (s *Service) useTOTP(ctx context.Context, op string, acct *milogin.Account, code string, m authn.Meta,
	check func(milogin.Tx, *milogin.TOTPKey, time.Time) error, done func(milogin.Tx, time.Time) error) error {
	if s.TOTPKey == nil {
		return milogin.Errorf(op, milogin.ENOTFOUND, "Authenticator apps are not offered.")
	}
	// The failure is reserved before the code is checked and given back in
	// the transaction that accepts it, so that concurrent guesses get at
	// most maxFailures judged.
	failKey := "mfa-totp-fail:" + acct.ID
	now, err := s.reserveFailure(ctx, op, failKey)
	if err != nil {
		return err
	}
	code = strings.Join(strings.Fields(code), "")
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		_, err := tx.TOTP().Update(ctx, acct.ID, func(k *milogin.TOTPKey) error {
			if err := check(tx, k, now); err != nil {
				return err
			}
			secret, err := s.open(acct.ID, k.Secret)
			if err != nil {
				return err
			}
			step, ok, err := matchStep(secret, code, now, k.LastStep)
			if err != nil {
				return err
			}
			if len(code) != 6 || !ok {
				return errWrong
			}
			k.LastStep, k.UpdatedAt = step, now
			return nil
		})
		if err != nil {
			return err
		}
		if err := done(tx, now); err != nil {
			return err
		}
		return tx.Limits().Refund(ctx, failKey, failWindow, now)
	})
	if errors.Is(err, errWrong) {
		if err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			return audit(ctx, tx, now, milogin.EventMFAFailed, acct, m, map[string]string{"method": milogin.MFAMethodTOTP})
		}); err != nil {
			return milogin.Wrap(op, err)
		}
		return milogin.Errorf(op, milogin.EUNAUTHORIZED, "The code you entered is incorrect or was already used. Please enter the current code from your authenticator app.")
	}
	if err != nil {
		// Refused before any code was judged (no key, already set up):
		// the reservation is given back.
		if rerr := s.refundFailure(ctx, failKey, now); rerr != nil {
			if s.Logger != nil {
				s.Logger.WarnContext(ctx, "refunding an unjudged code", "err", rerr)
			}
		}
	}
	return milogin.Wrap(op, err)
}

var errWrong = milogin.Errorf("mfa", milogin.EUNAUTHORIZED, "wrong code")

// VerifyTOTPCode checks an authenticator code for acct outside an
// application's sign-in (the administration console's staff sign-in) and
// runs done in the transaction that uses the code up, so what the code
// unlocks is written with it. Errors as VerifyTOTP.
func (s *Service) VerifyTOTPCode(ctx context.Context, acct *milogin.Account, code string, m authn.Meta, done func(tx milogin.Tx, now time.Time) error) error {
	const op = "mfa.VerifyTOTPCode"
	return s.useTOTP(ctx, op, acct, code, m, func(tx milogin.Tx, k *milogin.TOTPKey, now time.Time) error {
		if !k.Confirmed {
			return milogin.Errorf(op, milogin.ENOTFOUND, "No authenticator app is set up for this account.")
		}
		return nil
	}, done)
}

// ConfirmTOTPWith finishes setting up an authenticator app with a code from
// it and runs done in the same transaction, for a first enrolment where the
// password is being chosen together with the app (a staff enrolment link):
// the caller has checked who is enrolling. The code's step is used up.
func (s *Service) ConfirmTOTPWith(ctx context.Context, acct *milogin.Account, code string, m authn.Meta, done func(tx milogin.Tx, now time.Time) error) error {
	const op = "mfa.ConfirmTOTPWith"
	return s.useTOTP(ctx, op, acct, code, m, func(tx milogin.Tx, k *milogin.TOTPKey, now time.Time) error {
		if k.Confirmed {
			return milogin.Errorf(op, milogin.ECONFLICT, "The authenticator app is already set up.")
		}
		k.Confirmed, k.ConfirmedAt = true, now
		return nil
	}, func(tx milogin.Tx, now time.Time) error {
		if err := audit(ctx, tx, now, milogin.EventTOTPEnrolled, acct, m, nil); err != nil {
			return err
		}
		return done(tx, now)
	})
}
