package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"milogin"
)

// Messages shown to the person signing up or editing a profile. They name the
// field, as the state's pages do.
const (
	msgUserIDTaken = "That User ID is already taken. Please choose another."
	msgEmailTaken  = "This email address is already used by another MILogin account. Please provide a unique email address."
	msgAccountDup  = "This account already exists."
	msgNoAccount   = "Account not found."
)

type accounts struct{ t *tx }

var _ milogin.AccountStore = accounts{}

// accountCols is the column list every account SELECT reads, in scanAccount's order.
const accountCols = `id, portal, user_id, first_name, middle_initial, last_name, suffix,
	email, email_verified, work_phone, mobile, recover_by_email, recover_by_mobile,
	password_hash, password_changed_at, password_history, status, failed_logins,
	locked_until, failure_window, window_failures, last_login_at, created_at, updated_at,
	mobile_verified, seeded`

func scanAccount(s scanner) (*milogin.Account, error) {
	var (
		a                                                 milogin.Account
		portal, status, history                           string
		pwChanged, locked, window, lastLogin, created, up int64
	)
	err := s.Scan(&a.ID, &portal, &a.UserID, &a.FirstName, &a.MiddleInitial, &a.LastName, &a.Suffix,
		&a.Email, &a.EmailVerified, &a.WorkPhone, &a.Mobile, &a.RecoverByEmail, &a.RecoverByMobile,
		&a.PasswordHash, &pwChanged, &history, &status, &a.FailedLogins,
		&locked, &window, &a.WindowFailures, &lastLogin, &created, &up,
		&a.MobileVerified, &a.Seeded)
	if err != nil {
		return nil, err
	}
	a.Portal = milogin.PortalID(portal)
	a.Status = milogin.AccountStatus(status)
	a.PasswordChangedAt = fromDB(pwChanged)
	a.LockedUntil = fromDB(locked)
	a.FailureWindow = fromDB(window)
	a.LastLoginAt = fromDB(lastLogin)
	a.CreatedAt = fromDB(created)
	a.UpdatedAt = fromDB(up)
	if history != "" {
		var err error
		if a.PasswordHistory, err = parseList[string](history); err != nil {
			return nil, err
		}
	}
	return &a, nil
}

// mobileDigits keeps the digits of a phone number, so that "(517) 555-1234"
// and "517.555.1234" count as the same mobile.
func mobileDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func historyJSON(h []string) (string, error) {
	if len(h) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(h)
	return string(b), err
}

// accountConflict names the field a unique violation is about.
func accountConflict(constraint string) string {
	switch {
	case strings.Contains(constraint, "email_norm"):
		return msgEmailTaken
	case strings.Contains(constraint, "user_id_norm"):
		return msgUserIDTaken
	}
	return msgAccountDup
}

// accountInsertCols are the columns an insert writes: accountCols and the
// normalized forms the unique indexes and lookups use.
const accountInsertCols = accountCols + `, user_id_norm, email_norm, mobile_digits, name_norm`

// accountInsertN is the number of columns in accountInsertCols.
const accountInsertN = 30

// insertArgs returns a's values in accountInsertCols order.
func insertArgs(a *milogin.Account) ([]any, error) {
	history, err := historyJSON(a.PasswordHistory)
	if err != nil {
		return nil, err
	}
	return []any{a.ID, string(a.Portal), a.UserID, a.FirstName, a.MiddleInitial, a.LastName, a.Suffix,
		a.Email, a.EmailVerified, a.WorkPhone, a.Mobile, a.RecoverByEmail, a.RecoverByMobile,
		a.PasswordHash, toDB(a.PasswordChangedAt), history, string(a.Status), a.FailedLogins,
		toDB(a.LockedUntil), toDB(a.FailureWindow), a.WindowFailures, toDB(a.LastLoginAt),
		toDB(a.CreatedAt), toDB(a.UpdatedAt), a.MobileVerified, a.Seeded,
		milogin.NormalizeLogin(a.UserID), milogin.NormalizeLogin(a.Email), mobileDigits(a.Mobile),
		milogin.NameKey(a.LastName, a.FirstName)}, nil
}

func (r accounts) Create(ctx context.Context, a *milogin.Account) error {
	const op = "sqlstore.Accounts.Create"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if a.ID == "" {
		return &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: "An account needs an ID."}
	}
	args, err := insertArgs(a)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	err = r.t.savepoint(ctx, func() error {
		_, err := r.t.q.ExecContext(ctx, `INSERT INTO accounts (`+accountInsertCols+`)
			VALUES (`+inList(1, accountInsertN)+`)`, args...)
		return err
	})
	if err != nil {
		return r.t.conflictOr(op, err, accountConflict)
	}
	return nil
}

// CreateMany inserts the accounts with multi-row INSERTs and skips those
// whose ID, user ID or email is taken, reporting how many it inserted.
func (r accounts) CreateMany(ctx context.Context, list []*milogin.Account) (int, error) {
	const op = "sqlstore.Accounts.CreateMany"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	// Dialect.BulkRows accounts per INSERT, at most 1,000 (30,000
	// parameters: under SQLite's limit of 32,766 and PostgreSQL's of 65,535).
	rows := min(max(r.t.d.BulkRows, 1), 1000)
	total := 0
	for len(list) > 0 {
		chunk := list[:min(len(list), rows)]
		list = list[len(chunk):]
		var b strings.Builder
		args := make([]any, 0, len(chunk)*accountInsertN)
		b.WriteString(`INSERT INTO accounts (` + accountInsertCols + `) VALUES `)
		for i, a := range chunk {
			if a.ID == "" {
				return total, &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: "An account needs an ID."}
			}
			row, err := insertArgs(a)
			if err != nil {
				return total, milogin.Wrap(op, err)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + inList(len(args)+1, accountInsertN) + ")")
			args = append(args, row...)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		res, err := r.t.q.ExecContext(ctx, b.String(), args...)
		if err != nil {
			return total, milogin.Wrap(op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, milogin.Wrap(op, err)
		}
		total += int(n)
	}
	return total, nil
}

func (r accounts) getOne(ctx context.Context, op, where string, args ...any) (*milogin.Account, error) {
	return queryOne(ctx, r.t.q, op, msgNoAccount, scanAccount, `SELECT `+accountCols+` FROM accounts WHERE `+where, args...)
}

func (r accounts) Get(ctx context.Context, id string) (*milogin.Account, error) {
	return r.getOne(ctx, "sqlstore.Accounts.Get", whereAccountByID, id)
}

func (r accounts) GetByUserID(ctx context.Context, portal milogin.PortalID, userID string) (*milogin.Account, error) {
	return r.getOne(ctx, "sqlstore.Accounts.GetByUserID", whereAccountByUserID,
		string(portal), milogin.NormalizeLogin(userID))
}

func (r accounts) GetByEmail(ctx context.Context, portal milogin.PortalID, email string) (*milogin.Account, error) {
	const op = "sqlstore.Accounts.GetByEmail"
	norm := milogin.NormalizeLogin(email)
	if norm == "" {
		// Empty emails are not unique: "the account with no email" is not one account.
		return nil, notFound(op, msgNoAccount)
	}
	return r.getOne(ctx, op, whereAccountByEmail, string(portal), norm)
}

func (r accounts) CountByMobile(ctx context.Context, portal milogin.PortalID, mobile string) (int, error) {
	const op = "sqlstore.Accounts.CountByMobile"
	digits := mobileDigits(mobile)
	if digits == "" {
		return 0, nil
	}
	var n int
	// Only proven numbers: a number typed in without its PIN counts against
	// no one (anyone can type anyone's number).
	err := r.t.q.QueryRowContext(ctx, qCountByMobile,
		string(portal), digits).Scan(&n)
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	return n, nil
}

// likeEscaper escapes LIKE's wildcards so that a prefix matches literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (r accounts) UserIDsWithPrefix(ctx context.Context, portal milogin.PortalID, prefix string) ([]string, error) {
	const op = "sqlstore.Accounts.UserIDsWithPrefix"
	pattern := likeEscaper.Replace(milogin.NormalizeLogin(prefix)) + "%"
	ids, err := queryAll(ctx, r.t.q, op, scanString, `SELECT user_id FROM accounts
		WHERE portal = $1 AND user_id_norm LIKE $2 ESCAPE '\'`, string(portal), pattern)
	if err != nil {
		return nil, err
	}
	// Sorted in Go: the database's collation would order punctuation
	// differently on each engine.
	slices.Sort(ids)
	return ids, nil
}

// Update loads the account (locked on PostgreSQL), applies fn and writes the
// columns fn changed. fn may not change the ID: it is put back before saving.
//
// Only the changed columns, because most updates are a sign-in's attempt
// counters and last sign-in time, none of them indexed: writing every
// column rewrote the entries of every index on accounts (each starts with
// portal) on SQLite, and kept PostgreSQL from updating the row in place.
func (r accounts) Update(ctx context.Context, id string, fn func(*milogin.Account) error) (*milogin.Account, error) {
	return r.update(ctx, "sqlstore.Accounts.Update", fn, whereAccountByID, id)
}

// UpdateByUserID is Update for the account of a user ID: a sign-in reads
// and locks the account in one statement instead of finding it and then
// reading it again by its ID.
func (r accounts) UpdateByUserID(ctx context.Context, portal milogin.PortalID, userID string, fn func(*milogin.Account) error) (*milogin.Account, error) {
	return r.update(ctx, "sqlstore.Accounts.UpdateByUserID", fn, whereAccountByUserID,
		string(portal), milogin.NormalizeLogin(userID))
}

// update is Update for the account where finds.
func (r accounts) update(ctx context.Context, op string, fn func(*milogin.Account) error, where string, args ...any) (*milogin.Account, error) {
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	a, err := r.getOne(ctx, op, where+r.t.d.ForUpdate, args...)
	if err != nil {
		return nil, err
	}
	id := a.ID
	before, err := accountValues(a)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if err := fn(a); err != nil {
		return nil, err
	}
	a.ID = id
	after, err := accountValues(a)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	args = []any{id}
	var q strings.Builder
	q.WriteString("UPDATE accounts SET ")
	unique := false // a column of a unique index changes
	for i, v := range after {
		if v == before[i] {
			continue
		}
		unique = unique || accountUniqueCols[i]
		if len(args) > 1 {
			q.WriteString(", ")
		}
		args = append(args, v)
		q.WriteString(accountMutableCols[i])
		q.WriteString(" = $")
		q.WriteString(strconv.Itoa(len(args)))
	}
	if len(args) > 1 {
		q.WriteString(" WHERE id = $1")
		// Most updates are a sign-in's attempt counters: no savepoint.
		err = r.t.savepointIf(ctx, unique, func() error {
			_, err := r.t.q.ExecContext(ctx, q.String(), args...)
			return err
		})
		if err != nil {
			return nil, r.t.conflictOr(op, err, accountConflict)
		}
	}
	stored(&a.PasswordChangedAt, &a.LockedUntil, &a.FailureWindow, &a.LastLoginAt, &a.CreatedAt, &a.UpdatedAt)
	if len(a.PasswordHistory) == 0 {
		a.PasswordHistory = nil
	}
	return a, nil
}

// accountMutableCols are the columns Update may write, in the order of
// accountValues.
var accountMutableCols = [...]string{
	"portal", "user_id", "first_name", "middle_initial", "last_name", "suffix",
	"email", "email_verified", "work_phone", "mobile",
	"recover_by_email", "recover_by_mobile",
	"password_hash", "password_changed_at", "password_history", "status",
	"failed_logins", "locked_until", "failure_window", "window_failures",
	"last_login_at", "created_at", "updated_at",
	"user_id_norm", "email_norm", "mobile_digits", "mobile_verified", "name_norm",
}

// AccountUniqueColumns are the columns of accounts that its unique
// indexes besides the primary key hold: (portal, user_id_norm) and
// (portal, email_norm). Update runs under a savepoint only when it changes
// one of them; each engine's tests hold its schema to this list.
func AccountUniqueColumns() []string { return []string{"portal", "user_id_norm", "email_norm"} }

// accountUniqueCols marks the accountMutableCols in AccountUniqueColumns.
var accountUniqueCols = func() (u [len(accountMutableCols)]bool) {
	for i, c := range accountMutableCols {
		u[i] = slices.Contains(AccountUniqueColumns(), c)
	}
	return u
}()

// accountValues are a's values of accountMutableCols as stored: each is a
// string, bool, int or int64, so two of them compare with ==.
func accountValues(a *milogin.Account) ([len(accountMutableCols)]any, error) {
	history, err := historyJSON(a.PasswordHistory)
	if err != nil {
		return [len(accountMutableCols)]any{}, err
	}
	return [...]any{
		string(a.Portal), a.UserID, a.FirstName, a.MiddleInitial, a.LastName, a.Suffix,
		a.Email, a.EmailVerified, a.WorkPhone, a.Mobile,
		a.RecoverByEmail, a.RecoverByMobile,
		a.PasswordHash, toDB(a.PasswordChangedAt), history, string(a.Status),
		a.FailedLogins, toDB(a.LockedUntil), toDB(a.FailureWindow), a.WindowFailures,
		toDB(a.LastLoginAt), toDB(a.CreatedAt), toDB(a.UpdatedAt),
		milogin.NormalizeLogin(a.UserID), milogin.NormalizeLogin(a.Email), mobileDigits(a.Mobile), a.MobileVerified,
		milogin.NameKey(a.LastName, a.FirstName),
	}, nil
}

// List returns accounts matching f, oldest first. A zero Limit lists all.
func (r accounts) List(ctx context.Context, f milogin.AccountFilter) ([]*milogin.Account, error) {
	const op = "sqlstore.Accounts.List"
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Portal != "" {
		where = append(where, "portal = "+arg(string(f.Portal)))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if !f.LastActiveBefore.IsZero() {
		// max(last_login_at, created_at) < t, written without MAX/GREATEST,
		// whose spelling differs between the engines.
		p := arg(toDB(f.LastActiveBefore))
		where = append(where, "last_login_at < "+p+" AND created_at < "+p)
	}
	q := `SELECT ` + accountCols + ` FROM accounts`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at, id`
	if f.Limit > 0 {
		q += ` LIMIT ` + arg(f.Limit)
	}
	return queryAll(ctx, r.t.q, op, scanAccount, q, args...)
}

// unknownKey is how an unknown user ID is stored: a hash of its normalized
// form, never the text (people type passwords into the user ID field).
func unknownKey(userID string) string {
	sum := sha256.Sum256([]byte(milogin.NormalizeLogin(userID)))
	return hex.EncodeToString(sum[:])
}

// UpdateUnknown creates the row if needed, loads it (locked on PostgreSQL;
// SQLite has one writer), applies fn to an Account holding only the
// counters and saves them.
func (r accounts) UpdateUnknown(ctx context.Context, portal milogin.PortalID, userID string, now time.Time, fn func(*milogin.Account) error) (*milogin.Account, error) {
	const op = "sqlstore.Accounts.UpdateUnknown"
	if err := r.t.writable(op); err != nil {
		return nil, err
	}
	key := unknownKey(userID)
	if _, err := r.t.q.ExecContext(ctx, `INSERT INTO unknown_logins (portal, id_hash, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (portal, id_hash) DO NOTHING`, string(portal), key, toDB(now)); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	var (
		a              = milogin.Account{Portal: portal, UserID: userID, Status: milogin.StatusActive}
		locked, window int64
	)
	err := r.t.q.QueryRowContext(ctx, qUnknownLogin+r.t.d.ForUpdate, string(portal), key).
		Scan(&a.FailedLogins, &locked, &window, &a.WindowFailures)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	a.LockedUntil, a.FailureWindow = fromDB(locked), fromDB(window)
	if err := fn(&a); err != nil {
		return nil, err
	}
	if _, err := r.t.q.ExecContext(ctx, `UPDATE unknown_logins SET failed_logins = $3, locked_until = $4,
		failure_window = $5, window_failures = $6, updated_at = $7 WHERE portal = $1 AND id_hash = $2`,
		string(portal), key, a.FailedLogins, toDB(a.LockedUntil), toDB(a.FailureWindow), a.WindowFailures, toDB(now)); err != nil {
		return nil, milogin.Wrap(op, err)
	}
	stored(&a.LockedUntil, &a.FailureWindow)
	return &a, nil
}

func (r accounts) DeleteUnknownBefore(ctx context.Context, before time.Time) (int, error) {
	const op = "sqlstore.Accounts.DeleteUnknownBefore"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	return deleteCount(ctx, r.t.q, op, qDeleteOldUnknownLogins, toDB(before))
}
