package cars

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Authorization codes: requested for a business account by a signed-in
// MILogin user, delivered by email or by letter, and redeemed by the same
// user in Add Account Access. Guessing is throttled per user.

// MaxTries wrong codes (or identifiers) per user within TryWindow.
const (
	MaxTries  = 5
	TryWindow = time.Hour
)

// MaxRequestsPerDay codes may be requested for one business account in 24
// hours (by anyone): more would let a stranger flood the owner's mailbox or
// the letter queue.
const MaxRequestsPerDay = 5

// ErrTooManyRequests refuses a request over MaxRequestsPerDay.
var ErrTooManyRequests = errors.New("Too many authorization codes were requested for this account in the last 24 hours. Please use a code already sent, or try again tomorrow.")

// Codes is the authorization-code service over the database.
type Codes struct {
	DB      *DB
	keys    *keys
	TTL     time.Duration // how long a code stays valid (30 days by default)
	BaseURL string        // CARS's address, for the email
	From    string
}

// Delivery of a requested code.
const (
	ByEmail = "email"
	ByMail  = "mail"
)

// Request is a Submit of the Request Code wizard.
type Request struct {
	User     User
	Account  Account
	Delivery string // ByEmail or ByMail
}

// RequestCode creates a code for the account, queues its email or letter,
// records the submission and posts a message; it returns the confirmation
// number. Everything happens in one transaction: nothing half-written.
func (c *Codes) RequestCode(ctx context.Context, r Request, now time.Time) (string, error) {
	if r.Delivery != ByEmail && r.Delivery != ByMail {
		return "", fmt.Errorf("unknown delivery %q", r.Delivery)
	}
	var conf string
	for attempt := 0; ; attempt++ {
		conf = NewConfirmation()
		err := c.DB.tx(ctx, func(tx *sql.Tx) error { return c.requestTx(ctx, tx, r, conf, now) })
		if err == nil {
			break
		}
		if errors.Is(err, ErrTooManyRequests) {
			c.audit(ctx, now, r.User.Sub, "request.too_many", "account="+r.Account.Number)
			return "", err
		}
		// A confirmation number already given (one in ten billion): draw again.
		if attempt < 3 && c.DB.confirmationTaken(ctx, conf) {
			continue
		}
		return "", fmt.Errorf("requesting a code: %w", err)
	}
	return conf, nil
}

func (db *DB) confirmationTaken(ctx context.Context, conf string) bool {
	var n int
	return db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM cars_requests WHERE confirmation = $1`, conf).Scan(&n) == nil && n > 0
}

func (c *Codes) requestTx(ctx context.Context, tx *sql.Tx, r Request, conf string, now time.Time) error {
	var recent int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cars_requests WHERE account_number = $1 AND created_at > $2`,
		r.Account.Number, ms(now.Add(-24*time.Hour))).Scan(&recent); err != nil {
		return err
	}
	if recent >= MaxRequestsPerDay {
		return ErrTooManyRequests
	}
	code := NewCode()
	expires := now.Add(c.TTL)
	a := r.Account
	if _, err := tx.ExecContext(ctx, `INSERT INTO cars_requests (confirmation, sub, account_number, delivery, created_at) VALUES ($1, $2, $3, $4, $5)`,
		conf, r.User.Sub, a.Number, r.Delivery, ms(now)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cars_codes (hash, account_number, sub, confirmation, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hashCode(c.keys.code, code), a.Number, r.User.Sub, conf, ms(now), ms(expires)); err != nil {
		return err
	}
	var where string
	if r.Delivery == ByEmail {
		body := codeEmail(a, r.User.Username, FormatCode(code), expires, c.BaseURL)
		if err := enqueueMail(ctx, tx, c.keys, a.Email, "Your CARS e-Services Account Authorization Code", body, now); err != nil {
			return err
		}
		where = "emailed to " + MaskEmail(a.Email)
	} else {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cars_letters (id, confirmation, account_number, name, street, city, state, zip, code_sealed, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			newID(), conf, a.Number, a.Name, a.Street, a.City, a.State, a.ZIP, c.keys.sealString(sealLetter, code), ms(expires), ms(now)); err != nil {
			return err
		}
		where = "mailed to the address on record"
	}
	if err := c.post(ctx, tx, r.User.Sub, "Account authorization code requested",
		fmt.Sprintf("Your request for an account authorization code for %s account %s was submitted (confirmation number %s). The code will be %s.",
			a.Type.Name, a.Number, conf, where), now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO cars_audit (id, at, sub, event, detail) VALUES ($1, $2, $3, $4, $5)`,
		newID(), ms(now), r.User.Sub, "code.requested", fmt.Sprintf("account=%s delivery=%s confirmation=%s", a.Number, r.Delivery, conf))
	return err
}

// post adds a message to the user's Alerts and, for each account they asked
// notifications for, emails that a message was posted (never its content).
func (c *Codes) post(ctx context.Context, tx *sql.Tx, sub, subject, body string, now time.Time) error {
	if err := postMessage(ctx, tx, sub, subject, body, now); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT notify_email FROM cars_access WHERE sub = $1 AND notify = 1 AND notify_email <> ''`, sub)
	if err != nil {
		return err
	}
	var to []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return err
		}
		to = append(to, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range to {
		text := "A new message has been posted to your CARS e-Services account(s):\n\n    " + subject +
			"\n\nSign in to CARS e-Services to read it: " + c.BaseURL + "/\n\nMichigan Department of State\n"
		if err := enqueueMail(ctx, tx, c.keys, e, "New message in CARS e-Services", text, now); err != nil {
			return err
		}
	}
	return nil
}

func codeEmail(a Account, username, code string, expires time.Time, base string) string {
	return fmt.Sprintf(`%s

An account authorization code was requested for your CARS e-Services %s account %s by the MILogin user %s.

Your account authorization code is:

    %s

It can be used once, until %s. To gain access to the account, sign in to CARS e-Services at %s/mechanic-services, select "Add Account Access" and enter the code.

If you did not request this code, you can ignore this email: the code works only for the person who requested it.

Michigan Department of State
`, a.Name, a.Type.Name, a.Number, username, code, expires.Format("January 2, 2006"), base)
}

// Errors of redeeming a code; their text is what the page says.
var (
	errCodeUnknown = errors.New("The account authorization code you entered is not correct. Please check the code in your letter or email and try again.")
	errCodeUsed    = errors.New("This account authorization code has already been used. Please request a new code.")
	errCodeExpired = errors.New("This account authorization code has expired. Please request a new code.")
	errCodeOther   = errors.New("This account authorization code was requested by another MILogin user. Please sign in as the person who requested it, or request a new code.")
	errCodeAccount = errors.New("This account authorization code was issued for another account. Please check the account information in your letter or email.")
	errIdentWrong  = errors.New("The account information you entered does not match the account of this authorization code.")
)

// ThrottledError says how long to wait after too many wrong tries.
type ThrottledError struct{ Until time.Time }

func (e *ThrottledError) Error() string { return "too many wrong tries" }

// Message is the page's words for the wait.
func (e *ThrottledError) Message(now time.Time) string {
	mins := int(e.Until.Sub(now).Round(time.Minute) / time.Minute)
	if mins < 1 {
		mins = 1
	}
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("You have entered an incorrect account authorization code or account information too many times. For your security, please wait %d %s before trying again.", mins, unit)
}

// reserveTry counts one try for the user before a code or identifiers are
// compared, in one statement so that racing requests cannot get more than
// MaxTries within the window between them. A correct answer gives the try
// back (releaseTry); a wrong one keeps it.
func (db *DB) reserveTry(ctx context.Context, sub string, now time.Time) (int, error) {
	var tries int
	err := db.sql.QueryRowContext(ctx, `INSERT INTO cars_tries (sub, window_start, tries) VALUES ($1, $2, 1)
		ON CONFLICT (sub) DO UPDATE SET
			tries = CASE WHEN cars_tries.window_start <= $3 THEN 1 ELSE cars_tries.tries + 1 END,
			window_start = CASE WHEN cars_tries.window_start <= $3 THEN $2 ELSE cars_tries.window_start END
		WHERE cars_tries.window_start <= $3 OR cars_tries.tries < $4
		RETURNING tries`, sub, ms(now), ms(now.Add(-TryWindow)), MaxTries).Scan(&tries)
	if errors.Is(err, sql.ErrNoRows) {
		var start int64
		if err := db.sql.QueryRowContext(ctx, `SELECT window_start FROM cars_tries WHERE sub = $1`, sub).Scan(&start); err != nil {
			return 0, err
		}
		return 0, &ThrottledError{Until: fromMS(start).Add(TryWindow)}
	}
	return tries, err
}

func (db *DB) releaseTry(ctx context.Context, sub string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE cars_tries SET tries = tries - 1 WHERE sub = $1 AND tries > 0`, sub)
	return err
}

// codeRow is a stored code, found by its hash.
type codeRow struct {
	Hash, Account, Sub, Confirmation string
	Expires, Used                    time.Time
}

func (db *DB) codeByHash(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, hash string) (codeRow, error) {
	var r codeRow
	var exp, used int64
	err := q.QueryRowContext(ctx, `SELECT hash, account_number, sub, confirmation, expires_at, used_at FROM cars_codes WHERE hash = $1`, hash).
		Scan(&r.Hash, &r.Account, &r.Sub, &r.Confirmation, &exp, &used)
	r.Expires, r.Used = fromMS(exp), fromMS(used)
	return r, notFound(err)
}

// Redeemable is a code that passed CheckCode: the account it opens.
type Redeemable struct {
	Account Account
}

// CheckCode is step 1 of Add Account Access: is this a code the user may
// redeem now? A wrong code counts as a try (so does another user's); a
// used or expired code says so without counting.
func (c *Codes) CheckCode(ctx context.Context, sub, typed string, now time.Time) (Redeemable, error) {
	code, err := ParseCode(typed)
	if err != nil {
		return Redeemable{}, err
	}
	tries, err := c.DB.reserveTry(ctx, sub, now)
	if err != nil {
		c.audit(ctx, now, sub, "code.throttled", "")
		return Redeemable{}, err
	}
	hash := hashCode(c.keys.code, code)
	row, err := c.DB.codeByHash(ctx, c.DB.sql, hash)
	if errors.Is(err, errNotFound) || (err == nil && subtle.ConstantTimeCompare([]byte(row.Hash), []byte(hash)) != 1) {
		c.audit(ctx, now, sub, "code.wrong", fmt.Sprintf("try=%d", tries))
		return Redeemable{}, c.wrong(ctx, errCodeUnknown, tries, now, sub)
	}
	if err != nil {
		return Redeemable{}, err
	}
	if row.Sub != sub {
		c.audit(ctx, now, sub, "code.other_user", fmt.Sprintf("account=%s try=%d", row.Account, tries))
		return Redeemable{}, c.wrong(ctx, errCodeOther, tries, now, sub)
	}
	if err := c.DB.releaseTry(ctx, sub); err != nil {
		return Redeemable{}, err
	}
	switch {
	case !row.Used.IsZero():
		c.audit(ctx, now, sub, "code.used", "account="+row.Account)
		return Redeemable{}, errCodeUsed
	case !now.Before(row.Expires):
		c.audit(ctx, now, sub, "code.expired", "account="+row.Account)
		return Redeemable{}, errCodeExpired
	}
	a, err := c.DB.Account(ctx, row.Account)
	if err != nil {
		return Redeemable{}, err
	}
	return Redeemable{Account: a}, nil
}

// wrongTry is a counted wrong answer; after the last allowed one the wait
// is said at once.
type wrongTry struct {
	err  error
	left int
}

func (w *wrongTry) Error() string { return w.err.Error() }
func (w *wrongTry) Unwrap() error { return w.err }

func (c *Codes) wrong(ctx context.Context, err error, tries int, now time.Time, sub string) error {
	if tries >= MaxTries {
		var start int64
		if e := c.DB.sql.QueryRowContext(ctx, `SELECT window_start FROM cars_tries WHERE sub = $1`, sub).Scan(&start); e == nil {
			return &ThrottledError{Until: fromMS(start).Add(TryWindow)}
		}
	}
	return &wrongTry{err: err, left: MaxTries - tries}
}

// CheckAccount is step 2: do the identifiers typed match the code's
// account? A mismatch counts as a try.
func (c *Codes) CheckAccount(ctx context.Context, sub, typed string, ident, zip string, now time.Time) (Account, error) {
	r, err := c.CheckCode(ctx, sub, typed, now)
	if err != nil {
		return Account{}, err
	}
	if r.Account.Matches(ident, zip) {
		return r.Account, nil
	}
	tries, err := c.DB.reserveTry(ctx, sub, now)
	if err != nil {
		return Account{}, err
	}
	if other, err := c.DB.FindAccount(ctx, r.Account.Type, ident, zip); err == nil && other.Number != r.Account.Number {
		c.audit(ctx, now, sub, "code.other_account", fmt.Sprintf("account=%s typed=%s try=%d", r.Account.Number, other.Number, tries))
		return Account{}, c.wrong(ctx, errCodeAccount, tries, now, sub)
	}
	c.audit(ctx, now, sub, "code.wrong_identifiers", fmt.Sprintf("account=%s try=%d", r.Account.Number, tries))
	return Account{}, c.wrong(ctx, errIdentWrong, tries, now, sub)
}

// Grant is a Submit of the Add Account Access wizard.
type Grant struct {
	User             User
	Code, Ident, ZIP string
	Notify           bool
	NotifyEmail      string
}

// AddAccess redeems the code (once: the update that marks it used decides
// between racing submits) and gives the user access to its account.
func (c *Codes) AddAccess(ctx context.Context, g Grant, now time.Time) (Account, error) {
	a, err := c.CheckAccount(ctx, g.User.Sub, g.Code, g.Ident, g.ZIP, now)
	if err != nil {
		return Account{}, err
	}
	code, _ := ParseCode(g.Code)
	hash := hashCode(c.keys.code, code)
	notify := 0
	if g.Notify {
		notify = 1
	}
	err = c.DB.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cars_codes SET used_at = $2 WHERE hash = $1 AND sub = $3 AND used_at = 0 AND expires_at > $2`,
			hash, ms(now), g.User.Sub)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = errCodeUsed
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cars_access (sub, account_number, notify, notify_email, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (sub, account_number) DO UPDATE SET notify = excluded.notify, notify_email = excluded.notify_email`,
			g.User.Sub, a.Number, notify, strings.TrimSpace(g.NotifyEmail), ms(now)); err != nil {
			return err
		}
		if err := c.post(ctx, tx, g.User.Sub, "Account access added",
			fmt.Sprintf("You now have online access to %s account %s (%s).", a.Type.Name, a.Number, a.Name), now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO cars_audit (id, at, sub, event, detail) VALUES ($1, $2, $3, $4, $5)`,
			newID(), ms(now), g.User.Sub, "access.added", "account="+a.Number)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

func (c *Codes) audit(ctx context.Context, now time.Time, sub, event, detail string) {
	// An audit row that cannot be written must not turn a wrong code into a
	// server error for the person; the caller's outcome stands.
	_ = c.DB.Audit(ctx, now, sub, event, detail)
}

// peekType is the account type of a code already checked at step 1 (the
// wizard marks it so in the sealed draft): no try is counted.
func (c *Codes) peekType(r *http.Request, sub, typed string) (AccountType, error) {
	code, err := ParseCode(typed)
	if err != nil {
		return AccountType{}, err
	}
	row, err := c.DB.codeByHash(r.Context(), c.DB.sql, hashCode(c.keys.code, code))
	if err != nil {
		return AccountType{}, err
	}
	if row.Sub != sub {
		return AccountType{}, errNotFound
	}
	a, err := c.DB.Account(r.Context(), row.Account)
	return a.Type, err
}
