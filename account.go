package milogin

import (
	"strings"
	"time"
)

// AccountStatus is where an account stands.
type AccountStatus string

const (
	StatusActive AccountStatus = "active"
	// StatusDisabled is set by the inactivity sweep (no sign-in for 18 months);
	// only the help desk can reactivate it.
	StatusDisabled AccountStatus = "disabled"
	// StatusDeactivated is set by the help desk or at the user's request.
	StatusDeactivated AccountStatus = "deactivated"
)

// Account is one person's identity in one portal.
type Account struct {
	ID     string // stable, random, never reused: the OIDC "sub"
	Portal PortalID
	UserID string // the MILogin ID as chosen; looked up case-insensitively

	FirstName     string
	MiddleInitial string
	LastName      string
	Suffix        string
	Email         string // unique within the portal, case-insensitive
	EmailVerified bool
	WorkPhone     string
	// Mobile is the number on file. It serves recovery, and counts in the
	// "profile incomplete" rule, only once MobileVerified: a PIN sent to it
	// was confirmed. Anyone can type anyone's number.
	Mobile         string
	MobileVerified bool

	// Recovery options chosen at sign-up or in Security Options.
	RecoverByEmail  bool
	RecoverByMobile bool

	PasswordHash      string // PHC string with its parameters
	PasswordChangedAt time.Time
	PasswordHistory   []string // previous hashes, newest first

	Status         AccountStatus
	FailedLogins   int       // consecutive failures since the last success
	LockedUntil    time.Time // zero when not locked
	FailureWindow  time.Time // start of the current one-hour window
	WindowFailures int       // failures in that window (hard cap)
	LastLoginAt    time.Time

	CreatedAt time.Time
	UpdatedAt time.Time

	// Seeded marks an account made in bulk for load tests (milogin users
	// seed): all seeded accounts share one password, so the server refuses
	// them unless it was started to accept them. Set at creation only.
	Seeded bool
}

// SetMobile changes the number on file; a different number is unproven
// until a PIN sent to it is confirmed (ProveMobile).
func (a *Account) SetMobile(mobile string) {
	if phoneDigits(mobile) != phoneDigits(a.Mobile) {
		a.MobileVerified = false
	}
	a.Mobile = mobile
}

// ProveMobile marks the number on file as proven when a PIN was confirmed
// at to, the number it was sent to.
func (a *Account) ProveMobile(to string) {
	if d := phoneDigits(to); d != "" && d == phoneDigits(a.Mobile) {
		a.MobileVerified = true
	}
}

// ProvenMobile is the mobile number if it is proven, "" otherwise.
func (a *Account) ProvenMobile() string {
	if a.MobileVerified {
		return a.Mobile
	}
	return ""
}

func phoneDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DisplayName is the name shown on pages: "John Smith".
func (a *Account) DisplayName() string {
	return strings.TrimSpace(strings.Join(strings.Fields(a.FirstName+" "+a.LastName+" "+a.Suffix), " "))
}

// Locked reports whether the account is locked at now.
func (a *Account) Locked(now time.Time) bool { return now.Before(a.LockedUntil) }

// LastActive is the later of the last sign-in and the creation time.
func (a *Account) LastActive() time.Time {
	if a.LastLoginAt.After(a.CreatedAt) {
		return a.LastLoginAt
	}
	return a.CreatedAt
}

// Inactive reports whether the account has gone unused longer than the policy allows.
func (a *Account) Inactive(p Policy, now time.Time) bool {
	if p.InactivityMonths <= 0 {
		return false
	}
	return !now.Before(a.LastActive().AddDate(0, p.InactivityMonths, 0))
}

// PasswordExpiresAt returns when the password expires; zero if it never does.
func (a *Account) PasswordExpiresAt(p Policy) time.Time {
	if p.PasswordMaxAge <= 0 || a.PasswordChangedAt.IsZero() {
		return time.Time{}
	}
	return a.PasswordChangedAt.Add(p.PasswordMaxAge)
}

// PasswordExpired reports whether the password must be changed before use.
func (a *Account) PasswordExpired(p Policy, now time.Time) bool {
	exp := a.PasswordExpiresAt(p)
	return !exp.IsZero() && !now.Before(exp)
}

// PasswordDaysLeft is the number of days until the password expires,
// counting a day begun as a day (rounded up: 360 right after a change, 1 on
// its last day), 0 once expired and -1 when it never expires.
func (a *Account) PasswordDaysLeft(p Policy, now time.Time) int {
	exp := a.PasswordExpiresAt(p)
	if exp.IsZero() {
		return -1
	}
	if !now.Before(exp) {
		return 0
	}
	const day = 24 * time.Hour
	return int((exp.Sub(now) + day - 1) / day)
}

// RecordFailure counts a wrong password. It returns true when this failure
// locks the account. The consecutive counter locks per policy; the hourly
// window caps failures under any policy.
func (a *Account) RecordFailure(p Policy, now time.Time) bool {
	a.expireLock(now)
	wasLocked := a.Locked(now)
	a.FailedLogins++
	if now.Sub(a.FailureWindow) >= time.Hour || a.FailureWindow.IsZero() {
		a.FailureWindow = now
		a.WindowFailures = 0
	}
	a.WindowFailures++
	if p.LockoutThreshold > 0 && a.FailedLogins >= p.LockoutThreshold {
		if until := now.Add(p.LockoutDuration); until.After(a.LockedUntil) {
			a.LockedUntil = until
		}
	}
	if limit := p.MaxFailuresPerHour; limit > 0 && a.WindowFailures >= limit {
		if until := a.FailureWindow.Add(time.Hour); until.After(a.LockedUntil) {
			a.LockedUntil = until
		}
	}
	return !wasLocked && a.Locked(now)
}

// expireLock forgets a lock whose time is over together with the failures
// that caused it: the first wrong password after the lock's 30 minutes is
// the first of a new count, not the sixth of the old one.
func (a *Account) expireLock(now time.Time) {
	if !a.LockedUntil.IsZero() && !now.Before(a.LockedUntil) {
		a.LockedUntil = time.Time{}
		a.FailedLogins = 0
	}
}

// Attempt is a password attempt reserved in the account's row before the
// password is hashed (ReserveAttempt), so that concurrent guesses cannot all
// be judged before the failures are written.
type Attempt struct {
	At    time.Time // when it was reserved
	Locks bool      // this attempt's reservation locked the account
	// Consecutive is the count of consecutive failures including this one.
	Consecutive int
	// before is the account's lock state before the reservation, restored
	// by RefundAttempt when this attempt set the lock itself.
	lockedUntil time.Time
}

// ReserveAttempt counts a password attempt as a failure before it is
// judged, in the same row update that reads the counters. It returns false,
// counting nothing, while the account is locked: the attempt must then not
// be judged at all and is answered "locked" whatever the password. At most
// the policy's threshold (and the hourly cap) of attempts is therefore ever
// judged per lock window. A right password gives its reservation back with
// RefundAttempt.
func (a *Account) ReserveAttempt(p Policy, now time.Time) (Attempt, bool) {
	a.expireLock(now)
	if a.Locked(now) {
		return Attempt{}, false
	}
	at := Attempt{At: now, lockedUntil: a.LockedUntil}
	at.Locks = a.RecordFailure(p, now)
	at.Consecutive = a.FailedLogins
	return at, true
}

// RefundAttempt takes back the failure that ReserveAttempt counted for an
// attempt whose password was right. A lock that this attempt's own
// reservation set is lifted; a lock set by another attempt (judged at the
// same time, and wrong) stays.
func (a *Account) RefundAttempt(at Attempt) {
	if a.FailedLogins > 0 {
		a.FailedLogins--
	}
	// The hourly window may have restarted since; only its own window's
	// count holds this attempt.
	if a.WindowFailures > 0 && !at.At.Before(a.FailureWindow) {
		a.WindowFailures--
	}
	if at.Locks {
		a.LockedUntil = at.lockedUntil
	}
}

// RecordSuccess resets the failure counter after a correct password.
func (a *Account) RecordSuccess(now time.Time) {
	a.FailedLogins = 0
	a.LockedUntil = time.Time{}
	a.LastLoginAt = now
}

// Unlock clears a lock (help desk, completed password reset).
func (a *Account) Unlock() {
	a.FailedLogins = 0
	a.LockedUntil = time.Time{}
}

// SetPassword replaces the password hash and keeps history as the policy asks.
func (a *Account) SetPassword(hash string, p Policy, now time.Time) {
	if a.PasswordHash != "" {
		a.PasswordHistory = append([]string{a.PasswordHash}, a.PasswordHistory...)
	}
	keep := p.PasswordHistory
	if keep < 0 {
		keep = 0
	}
	if len(a.PasswordHistory) > keep {
		a.PasswordHistory = a.PasswordHistory[:keep]
	}
	a.PasswordHash = hash
	a.PasswordChangedAt = now
}

// RecentPasswordHashes returns the current hash and the history the policy
// forbids reusing ("not one of the last 3 passwords" includes the current one).
func (a *Account) RecentPasswordHashes(p Policy) []string {
	hs := []string{}
	if a.PasswordHash != "" {
		hs = append(hs, a.PasswordHash)
	}
	for _, h := range a.PasswordHistory {
		if len(hs) >= p.PasswordHistory {
			break
		}
		hs = append(hs, h)
	}
	return hs
}

// MaskEmail hides most of an address: jsmith@example.org → j*****h@example.org.
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return strings.Repeat("*", len(email))
	}
	local := []rune(email[:at])
	if len(local) <= 2 {
		return string(local[:1]) + "*" + email[at:]
	}
	return string(local[0]) + strings.Repeat("*", len(local)-2) + string(local[len(local)-1]) + email[at:]
}

// MaskPhone keeps the last four digits: (517) 555-1234 → ***-***-1234.
func MaskPhone(phone string) string {
	var digits []rune
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			digits = append(digits, r)
		}
	}
	if len(digits) < 4 {
		return "***"
	}
	return "***-***-" + string(digits[len(digits)-4:])
}
