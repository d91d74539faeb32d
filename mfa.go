package milogin

import (
	"context"
	"time"
)

// Second-factor methods, as recorded in MFAEvent.Method.
const (
	MFAMethodEmail    = "email"    // a passcode sent to the account's email
	MFAMethodSMS      = "sms"      // a passcode sent by text to the account's mobile
	MFAMethodTOTP     = "totp"     // a code from an authenticator app (RFC 6238)
	MFAMethodWebAuthn = "webauthn" // a passkey or security key
)

// AMR returns the authentication methods (RFC 8176 values) of a sign-in
// that used the password and, when method is not "", that second factor:
// ["pwd"], ["pwd", "mfa", "otp"] for a passcode or authenticator code,
// ["pwd", "mfa", "hwk"] for a passkey.
func AMR(method string) []string {
	switch method {
	case "":
		return []string{"pwd"}
	case MFAMethodWebAuthn:
		return []string{"pwd", "mfa", "hwk"}
	default:
		return []string{"pwd", "mfa", "otp"}
	}
}

// TOTPKey is an account's authenticator-app secret. The store keeps the
// secret sealed (the caller seals it with a key derived from the
// key-encryption key, bound to the account ID): a database copy yields no
// usable secret.
type TOTPKey struct {
	AccountID string
	Secret    []byte // sealed
	// Confirmed is set once the person has typed a code from the app; only a
	// confirmed key is offered as a second factor.
	Confirmed bool
	// LastStep is the last 30-second time step whose code was accepted; a
	// code from that step or an earlier one is refused, so a code cannot be
	// replayed within its window of validity.
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt time.Time
	UpdatedAt   time.Time
}

// TOTPStore holds one authenticator-app key per account.
type TOTPStore interface {
	// Get returns the account's key, ENOTFOUND when there is none.
	Get(ctx context.Context, accountID string) (*TOTPKey, error)
	// Put creates or replaces the account's key (a new enrolment replaces
	// the previous key).
	Put(ctx context.Context, k *TOTPKey) error
	// Update loads the key locked, applies fn and saves the result.
	Update(ctx context.Context, accountID string, fn func(*TOTPKey) error) (*TOTPKey, error)
	// Delete removes the account's key, ENOTFOUND when there is none.
	Delete(ctx context.Context, accountID string) error
}

// WebAuthnCredential is a passkey (or security key) registered to an account.
type WebAuthnCredential struct {
	ID        []byte // credential ID chosen by the authenticator
	AccountID string
	Name      string // shown in Security Options: "Passkey added November 21, 2026"
	// Data is the WebAuthn library's record of the credential (public key,
	// signature counter, flags), opaque to the store.
	Data       []byte
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// WebAuthnChallenge is a registration or sign-in ceremony in progress. It
// is kept in the database, not in a node's memory, so that the browser may
// finish the ceremony on any node; it is used once.
type WebAuthnChallenge struct {
	ID        string
	AccountID string
	SessionID string // the session that began the ceremony
	Purpose   string // "register" or "login"
	Data      []byte // the library's session data, opaque to the store
	CreatedAt time.Time
	ExpiresAt time.Time
}

// WebAuthnStore holds passkeys and ceremonies in progress.
type WebAuthnStore interface {
	// Create adds a credential; ECONFLICT when its ID is registered already.
	Create(ctx context.Context, c *WebAuthnCredential) error
	// Get returns the credential with id, ENOTFOUND when there is none.
	Get(ctx context.Context, id []byte) (*WebAuthnCredential, error)
	// ListByAccount returns the account's credentials, oldest first.
	ListByAccount(ctx context.Context, accountID string) ([]*WebAuthnCredential, error)
	// Update loads the credential locked, applies fn and saves the result.
	Update(ctx context.Context, id []byte, fn func(*WebAuthnCredential) error) (*WebAuthnCredential, error)
	// Delete removes the account's credential id; ENOTFOUND when the
	// account has no such credential.
	Delete(ctx context.Context, accountID string, id []byte) error

	// PutChallenge stores a ceremony in progress.
	PutChallenge(ctx context.Context, c *WebAuthnChallenge) error
	// TakeChallenge returns the ceremony and deletes it, so that it can be
	// finished once; ENOTFOUND when there is none.
	TakeChallenge(ctx context.Context, id string) (*WebAuthnChallenge, error)
	// DeleteExpiredChallenges removes ceremonies that expire at or before
	// before.
	DeleteExpiredChallenges(ctx context.Context, before time.Time) (int, error)
}
