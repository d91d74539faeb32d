package milogin

import (
	"context"
	"time"
)

// Store is the storage contract. It is implemented on SQLite
// (internal/sqlite) and PostgreSQL (internal/postgres), and both pass one
// conformance suite (internal/storetest).
//
// All work happens inside Write or Read. Everything a Write callback does
// commits together or not at all: that is how an audit event and an outbox
// message are written with the change that causes them. Updates take a
// function that receives the current row, locked for the rest of the
// transaction, so read-modify-write (failure counters, single-use codes) is
// exact under concurrency on every node.
type Store interface {
	// Write runs fn in one read-write transaction. If fn returns an error,
	// nothing it wrote is kept.
	Write(ctx context.Context, fn func(Tx) error) error
	// WriteOne runs fn, which makes one write of a single statement (a
	// Create), without a transaction around it: the statement is atomic by
	// itself, and on PostgreSQL the BEGIN and COMMIT are two round trips
	// more. fn may read first. A second write, or a write of several
	// statements (an Update, which reads and locks the row first), fails
	// with EINTERNAL.
	WriteOne(ctx context.Context, fn func(Tx) error) error
	// Read runs fn without a transaction against a read replica or pool;
	// fn must not write.
	Read(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Tx groups the repositories of one unit of work, one interface per aggregate.
type Tx interface {
	Accounts() AccountStore
	Sessions() SessionStore
	Codes() CodeStore
	Audit() AuditLog
	Outbox() Outbox
	Limits() LimitStore
	Settings() SettingStore
	Apps() AppStore
	Grants() GrantStore
	LoginRequests() LoginRequestStore
	// TOTP and WebAuthn hold the second factors (mfa.go).
	TOTP() TOTPStore
	WebAuthn() WebAuthnStore
	SigningKeys() SigningKeyStore
	OAuthRequests() OAuthRequestStore
	OAuthTokens() OAuthTokenStore
	SessionClients() SessionClientStore
	// Flows and SecurityAnswers hold self-service state (flow.go, security.go).
	Flows() FlowStore
	SecurityAnswers() SecurityAnswerStore
	// Records holds the Secretary of State card records (record.go).
	Records() RecordStore
	// Staff holds the console roles of staff accounts (staff.go).
	Staff() StaffStore
	// Policies holds the portal policies set in the console (staff.go).
	Policies() PolicyStore
}

// AccountStore stores accounts. Get methods return ENOTFOUND; Create returns
// ECONFLICT with a message naming the field when a user ID or email is taken.
type AccountStore interface {
	Create(ctx context.Context, a *Account) error
	// CreateMany inserts accounts in bulk (seeding), skipping any whose ID,
	// user ID or email is taken, and returns how many it inserted.
	CreateMany(ctx context.Context, list []*Account) (int, error)
	Get(ctx context.Context, id string) (*Account, error)
	GetByUserID(ctx context.Context, portal PortalID, userID string) (*Account, error)
	GetByEmail(ctx context.Context, portal PortalID, email string) (*Account, error)
	// CountByMobile counts accounts in the portal whose proven mobile number
	// (MobileVerified) is that number (digits compared), for the "profile is
	// incomplete" rule; unproven numbers are not counted.
	CountByMobile(ctx context.Context, portal PortalID, mobile string) (int, error)
	// UserIDsWithPrefix lists user IDs in the portal starting with prefix, for
	// suggesting the next free one.
	UserIDsWithPrefix(ctx context.Context, portal PortalID, prefix string) ([]string, error)
	// Update loads the account locked, applies fn and saves the result.
	Update(ctx context.Context, id string, fn func(*Account) error) (*Account, error)
	// UpdateByUserID is Update for the portal's account of a user ID
	// (ENOTFOUND when there is none), found and locked in one read.
	UpdateByUserID(ctx context.Context, portal PortalID, userID string, fn func(*Account) error) (*Account, error)
	// UpdateUnknown is Update for the failure counters (FailedLogins,
	// LockedUntil, FailureWindow, WindowFailures) kept for a user ID that
	// names no account in the portal, so that it locks as a real one does;
	// the row is created on first use and other fields are not stored.
	UpdateUnknown(ctx context.Context, portal PortalID, userID string, now time.Time, fn func(*Account) error) (*Account, error)
	// DeleteUnknownBefore forgets the counters of unknown user IDs not
	// touched since before and not locked at before.
	DeleteUnknownBefore(ctx context.Context, before time.Time) (int, error)
	List(ctx context.Context, f AccountFilter) ([]*Account, error)
	// Search is the help desk's prefix search (AccountSearch), served by an
	// index on both engines.
	Search(ctx context.Context, q AccountSearch) ([]SearchHit, error)
}

// AccountFilter selects accounts; zero fields do not filter.
type AccountFilter struct {
	Portal           PortalID
	Status           AccountStatus
	LastActiveBefore time.Time // neither signed in nor created since
	Limit            int
}

// SessionStore stores sign-in sessions by the hash of their token.
type SessionStore interface {
	Create(ctx context.Context, s *Session) error
	Get(ctx context.Context, id string) (*Session, error)
	// GetWithAccount returns the session and its account, read together.
	GetWithAccount(ctx context.Context, id string) (*Session, *Account, error)
	ListByAccount(ctx context.Context, accountID string) ([]*Session, error)
	Update(ctx context.Context, id string, fn func(*Session) error) (*Session, error)
	Delete(ctx context.Context, id string) error
	// DeleteByAccount ends every session of the account except keepID and
	// returns the IDs it deleted.
	DeleteByAccount(ctx context.Context, accountID, keepID string) ([]string, error)
	// DeleteExpired deletes the sessions that expired before and forgets
	// the end reasons kept until before; it returns how many sessions.
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
	// MarkEnded remembers, until until, why the sessions ids ended.
	// Marking an ID again replaces its reason.
	MarkEnded(ctx context.Context, ids []string, reason EndReason, at, until time.Time) error
	// EndReason returns why the session id ended, ENOTFOUND if that is not
	// remembered (never ended that way, or forgotten).
	EndReason(ctx context.Context, id string) (EndReason, error)
}

// CodeStore stores one-time codes.
type CodeStore interface {
	Create(ctx context.Context, c *Code) error
	Get(ctx context.Context, id string) (*Code, error)
	Update(ctx context.Context, id string, fn func(*Code) error) (*Code, error)
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// AuditLog is append-only: there is no update, and the only delete is
// Expire, which the database itself allows only for events more than a year
// old and only after recording the purge.
type AuditLog interface {
	Append(ctx context.Context, e *AuditEvent) error
	List(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// Expire deletes up to limit events older than before (retention) and
	// returns how many it deleted. The caller audits the deletion in the
	// same transaction.
	Expire(ctx context.Context, before time.Time, now time.Time, limit int) (int, error)
}

// Outbox holds messages until a worker delivers them.
type Outbox interface {
	Enqueue(ctx context.Context, m *Message) error
	// Claim returns up to limit messages due at now and pushes their next
	// attempt to now+lease, so that concurrent workers (on any node) never
	// claim the same message twice while one is delivering it.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Message, error)
	MarkSent(ctx context.Context, id int64, at time.Time) error
	// MarkFailed records a failed attempt; a zero next gives the message up.
	MarkFailed(ctx context.Context, id int64, errText string, next time.Time, at time.Time) error
	List(ctx context.Context, f MessageFilter) ([]*Message, error)
}

// LimitStore counts events per key in fixed windows, in the database so that
// every node sees the same counts (per-IP sign-in limits, PIN resends).
//
// Every limit reserves: Reserve counts the attempt in the same statement
// that reads the count, before the work the limit protects (a password
// hash, a message), so that a burst of concurrent requests on any number of
// nodes never gets more than the limit judged. Work that turns out not to
// count (a right password against a failure limit) gives its hit back with
// Refund.
type LimitStore interface {
	// Reserve adds one to key's counter for the window that contains now
	// unless the counter has already reached limit. It returns the count
	// after the call and whether this hit was taken; a hit refused is not
	// counted. A limit of 0 or less refuses nothing.
	Reserve(ctx context.Context, key string, window time.Duration, limit int, now time.Time) (n int, ok bool, err error)
	// Refund takes back one hit that Reserve (or Hit) counted at the time at
	// (the now it was given), never going below zero.
	Refund(ctx context.Context, key string, window time.Duration, at time.Time) error
	// Hit adds one to key's counter for the window that contains now and
	// returns the new count.
	Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
	// Count returns key's counter for the window that contains now, without
	// changing it (0 when there is none).
	Count(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// SettingStore keeps small values shared by all nodes, such as generated
// secrets (sealed by the caller before they are stored).
type SettingStore interface {
	Get(ctx context.Context, key string) ([]byte, error)
	// PutIfAbsent stores value unless key exists, and returns what is stored
	// afterwards: the first node to start wins and every node agrees.
	PutIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error)
}

// AppStore is the application catalog. Create returns ECONFLICT when the ID
// or client ID is taken.
type AppStore interface {
	Create(ctx context.Context, a *Application) error
	Get(ctx context.Context, id string) (*Application, error)
	GetByClientID(ctx context.Context, clientID string) (*Application, error)
	Update(ctx context.Context, id string, fn func(*Application) error) (*Application, error)
	// List returns the applications offered in portal ("" for all), by name.
	List(ctx context.Context, portal PortalID) ([]*Application, error)
	Delete(ctx context.Context, id string) error
}

// GrantStore holds access grants, terms acceptances and MFA events: what
// decides whether a person may enter an application.
type GrantStore interface {
	Get(ctx context.Context, appID, accountID string) (*Grant, error)
	// Put creates or replaces the grant of (AppID, AccountID).
	Put(ctx context.Context, g *Grant) error
	ListByAccount(ctx context.Context, accountID string) ([]*Grant, error)
	// ListByApp lists an application's grants, filtered by status when not "".
	ListByApp(ctx context.Context, appID string, status GrantStatus) ([]*Grant, error)

	AcceptTerms(ctx context.Context, t *TermsAcceptance) error
	// Terms returns the latest acceptance, ENOTFOUND when there is none.
	Terms(ctx context.Context, appID, accountID string) (*TermsAcceptance, error)

	RecordMFA(ctx context.Context, e *MFAEvent) error
	// LastMFA returns the latest MFA event of the account for the
	// application, ENOTFOUND when there is none.
	LastMFA(ctx context.Context, accountID, appID string) (*MFAEvent, error)
}

// LoginRequestStore parks protocol requests while the person signs in.
type LoginRequestStore interface {
	Create(ctx context.Context, r *LoginRequest) error
	Get(ctx context.Context, id string) (*LoginRequest, error)
	Update(ctx context.Context, id string, fn func(*LoginRequest) error) (*LoginRequest, error)
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// RecordStore holds the card records. Get returns ENOTFOUND for an unknown
// number.
type RecordStore interface {
	Get(ctx context.Context, number string) (*CardRecord, error)
	// Put creates the record or replaces its card data (never AccountID),
	// and reports whether it was created.
	Put(ctx context.Context, r *CardRecord) (created bool, err error)
	// GetMany returns the records of those numbers that exist, in no
	// particular order: an import looks a whole batch up at once.
	GetMany(ctx context.Context, numbers []string) ([]*CardRecord, error)
	// PutMany is Put for many records with distinct numbers (EINVALID
	// otherwise), in as few statements as the engine allows; each record is
	// written whole or, with the transaction, not at all.
	PutMany(ctx context.Context, rs []*CardRecord) error
	// Update loads the record locked, applies fn and saves it: how a card is
	// linked to the account it verified, one sign-up at a time.
	Update(ctx context.Context, number string, fn func(*CardRecord) error) (*CardRecord, error)
	// CountByStatus counts the records of each status.
	CountByStatus(ctx context.Context) (map[CardStatus]int, error)
}
