package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Staff account statuses.
const (
	Active   = "ACTIVE"
	Inactive = "INACTIVE"
)

// MWA is a Michigan Works Agency with its valid email domains.
type MWA struct {
	ID      int64
	Name    string
	Domains []string // lower case, sorted
}

// Staff is an OSMIS staff account.
type Staff struct {
	ID        int64
	FirstName string
	LastName  string
	LoginID   string // the MILogin ID, as the administrator typed it
	Email     string // the work email, as typed
	MWAID     int64
	MWAName   string // filled by reads
	Status    string // Active or Inactive
	IsAdmin   bool
	// DeniedReason is the prerequisite the last refused sign-in failed.
	DeniedReason string
	DeniedAt     time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Name is "First Last".
func (s *Staff) Name() string { return s.FirstName + " " + s.LastName }

// NormDomain is the form domains are stored and compared in.
func NormDomain(d string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
}

// CreateMWA adds an agency with its domains.
func (d *DB) CreateMWA(ctx context.Context, name string, domains []string) (*MWA, error) {
	m := &MWA{Name: strings.TrimSpace(name)}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		id, err := insertID(ctx, tx, `INSERT INTO mwas (name, name_norm, created_at) VALUES ($1, $2, $3)`,
			m.Name, strings.ToLower(m.Name), d.now())
		if isUnique(err) {
			return fmt.Errorf("an MWA named %q already exists: %w", m.Name, ErrConflict)
		}
		if err != nil {
			return err
		}
		m.ID = id
		for _, dom := range domains {
			if err := addDomain(ctx, tx, id, dom); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d.GetMWA(ctx, m.ID)
}

func addDomain(ctx context.Context, tx *sql.Tx, mwaID int64, domain string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mwa_domains (mwa_id, domain) VALUES ($1, $2)`, mwaID, NormDomain(domain))
	if isUnique(err) {
		return fmt.Errorf("the domain %s is already listed: %w", NormDomain(domain), ErrConflict)
	}
	return err
}

// AddDomain adds a valid email domain to an agency.
func (d *DB) AddDomain(ctx context.Context, mwaID int64, domain string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := d.getMWA(ctx, tx, mwaID); err != nil {
			return err
		}
		return addDomain(ctx, tx, mwaID, domain)
	})
}

// RemoveDomain removes a domain from an agency.
func (d *DB) RemoveDomain(ctx context.Context, mwaID int64, domain string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM mwa_domains WHERE mwa_id = $1 AND domain = $2`, mwaID, NormDomain(domain))
	return err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) getMWA(ctx context.Context, q querier, id int64) (*MWA, error) {
	m := &MWA{}
	if err := q.QueryRowContext(ctx, `SELECT id, name FROM mwas WHERE id = $1`, id).Scan(&m.ID, &m.Name); err != nil {
		return nil, notFound(err)
	}
	rows, err := q.QueryContext(ctx, `SELECT domain FROM mwa_domains WHERE mwa_id = $1 ORDER BY domain`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var dom string
		if err := rows.Scan(&dom); err != nil {
			return nil, err
		}
		m.Domains = append(m.Domains, dom)
	}
	return m, rows.Err()
}

// GetMWA reads an agency and its domains.
func (d *DB) GetMWA(ctx context.Context, id int64) (*MWA, error) { return d.getMWA(ctx, d.db, id) }

// MWAByName finds an agency by name (any case).
func (d *DB) MWAByName(ctx context.Context, name string) (*MWA, error) {
	var id int64
	err := d.db.QueryRowContext(ctx, `SELECT id FROM mwas WHERE name_norm = $1`, strings.ToLower(strings.TrimSpace(name))).Scan(&id)
	if err != nil {
		return nil, notFound(err)
	}
	return d.GetMWA(ctx, id)
}

// ListMWAs lists every agency by name.
func (d *DB) ListMWAs(ctx context.Context) ([]*MWA, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM mwas ORDER BY name_norm`)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*MWA
	for _, id := range ids {
		m, err := d.GetMWA(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

const staffColumns = `s.id, s.first_name, s.last_name, s.login_id, s.email, s.mwa_id, m.name, s.status, s.is_admin,
	s.denied_reason, s.denied_at, s.created_at, s.updated_at`

func scanStaff(sc interface{ Scan(...any) error }) (*Staff, error) {
	s := &Staff{}
	var denied, created, updated int64
	if err := sc.Scan(&s.ID, &s.FirstName, &s.LastName, &s.LoginID, &s.Email, &s.MWAID, &s.MWAName, &s.Status, &s.IsAdmin,
		&s.DeniedReason, &denied, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	s.DeniedAt, s.CreatedAt, s.UpdatedAt = fromMS(denied), fromMS(created), fromMS(updated)
	return s, nil
}

func (d *DB) staffWhere(ctx context.Context, q querier, where string, arg any) (*Staff, error) {
	return scanStaff(q.QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff s JOIN mwas m ON m.id = s.mwa_id WHERE `+where, arg))
}

// GetStaff reads a staff account.
func (d *DB) GetStaff(ctx context.Context, id int64) (*Staff, error) {
	return d.staffWhere(ctx, d.db, "s.id = $1", id)
}

// StaffByLoginID finds the account whose MILogin ID is loginID in any case;
// the caller compares exactly.
func (d *DB) StaffByLoginID(ctx context.Context, loginID string) (*Staff, error) {
	return d.staffWhere(ctx, d.db, "s.login_norm = $1", strings.ToLower(loginID))
}

// StaffByEmail finds the account whose email is email in any case.
func (d *DB) StaffByEmail(ctx context.Context, email string) (*Staff, error) {
	return d.staffWhere(ctx, d.db, "s.email_norm = $1", strings.ToLower(email))
}

// StaffFilter selects a page of staff accounts.
type StaffFilter struct {
	Query    string // part of a name, MILogin ID or email
	MWAID    int64  // 0: every agency
	Status   string // "": both
	Page     int    // from 1
	PageSize int
}

// ListStaff returns one page of matching accounts and how many match.
func (d *DB) ListStaff(ctx context.Context, f StaffFilter) ([]*Staff, int, error) {
	var conds []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		p := arg("%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%")
		conds = append(conds, fmt.Sprintf(`(lower(s.first_name || ' ' || s.last_name) LIKE %[1]s ESCAPE '\' OR s.login_norm LIKE %[1]s ESCAPE '\' OR s.email_norm LIKE %[1]s ESCAPE '\')`, p))
	}
	if f.MWAID != 0 {
		conds = append(conds, "s.mwa_id = "+arg(f.MWAID))
	}
	if f.Status != "" {
		conds = append(conds, "s.status = "+arg(f.Status))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM staff s`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	size := max(f.PageSize, 1)
	page := max(f.Page, 1)
	limit, offset := arg(size), arg((page-1)*size)
	rows, err := d.db.QueryContext(ctx, `SELECT `+staffColumns+` FROM staff s JOIN mwas m ON m.id = s.mwa_id`+where+
		` ORDER BY lower(s.last_name), lower(s.first_name), s.id LIMIT `+limit+` OFFSET `+offset, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Staff
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}

// checkUnique refuses a MILogin ID or email another account has.
func checkUnique(ctx context.Context, tx *sql.Tx, s *Staff) error {
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM staff WHERE login_norm = $1 AND id <> $2`, strings.ToLower(s.LoginID), s.ID).Scan(&other)
	if err == nil {
		return &ConflictError{Field: "MILogin ID", Value: s.LoginID}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = tx.QueryRowContext(ctx, `SELECT id FROM staff WHERE email_norm = $1 AND id <> $2`, strings.ToLower(s.Email), s.ID).Scan(&other)
	if err == nil {
		return &ConflictError{Field: "Email Address", Value: s.Email}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// CreateStaff adds a staff account; an ACTIVE one queues its grant in the
// same transaction.
func (d *DB) CreateStaff(ctx context.Context, s *Staff) error {
	now := d.now()
	return d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := d.getMWA(ctx, tx, s.MWAID); err != nil {
			return fmt.Errorf("MWA %d: %w", s.MWAID, err)
		}
		if err := checkUnique(ctx, tx, s); err != nil {
			return err
		}
		id, err := insertID(ctx, tx, `INSERT INTO staff (first_name, last_name, login_id, login_norm, email, email_norm, mwa_id,
			status, is_admin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			s.FirstName, s.LastName, s.LoginID, strings.ToLower(s.LoginID), s.Email, strings.ToLower(s.Email), s.MWAID,
			s.Status, s.IsAdmin, now)
		if isUnique(err) {
			return &ConflictError{Field: "MILogin ID or Email Address", Value: s.LoginID}
		}
		if err != nil {
			return err
		}
		s.ID = id
		s.CreatedAt, s.UpdatedAt = fromMS(now), fromMS(now)
		if s.Status == Active {
			return enqueue(ctx, tx, now, OpGrant, s.LoginID, "Staff account created in OSMIS")
		}
		return nil
	})
}

// UpdateStaff changes a staff account with fn, inside a transaction, and
// queues what MILogin must learn: a grant when it becomes ACTIVE, a revoke
// when it becomes INACTIVE (its OSMIS sessions end at once), both when the
// MILogin ID of an active account changes.
func (d *DB) UpdateStaff(ctx context.Context, id int64, fn func(*Staff) error) (*Staff, error) {
	now := d.now()
	var out *Staff
	err := d.tx(ctx, func(tx *sql.Tx) error {
		old, err := d.staffWhere(ctx, tx, "s.id = $1", id)
		if err != nil {
			return err
		}
		s := *old
		if err := fn(&s); err != nil {
			return err
		}
		if _, err := d.getMWA(ctx, tx, s.MWAID); err != nil {
			return fmt.Errorf("MWA %d: %w", s.MWAID, err)
		}
		if err := checkUnique(ctx, tx, &s); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE staff SET first_name = $1, last_name = $2, login_id = $3, login_norm = $4, email = $5,
			email_norm = $6, mwa_id = $7, status = $8, is_admin = $9, updated_at = $10 WHERE id = $11`,
			s.FirstName, s.LastName, s.LoginID, strings.ToLower(s.LoginID), s.Email, strings.ToLower(s.Email), s.MWAID,
			s.Status, s.IsAdmin, now, id)
		if isUnique(err) {
			return &ConflictError{Field: "MILogin ID or Email Address", Value: s.LoginID}
		}
		if err != nil {
			return err
		}
		wasActive, isActive := old.Status == Active, s.Status == Active
		loginChanged := !strings.EqualFold(old.LoginID, s.LoginID)
		if wasActive && (!isActive || loginChanged) {
			if err := enqueue(ctx, tx, now, OpRevoke, old.LoginID, "Status set to INACTIVE in OSMIS"); err != nil {
				return err
			}
		}
		if isActive && (!wasActive || loginChanged) {
			if err := enqueue(ctx, tx, now, OpGrant, s.LoginID, "Staff account activated in OSMIS"); err != nil {
				return err
			}
		}
		if !isActive || loginChanged {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE staff_id = $1`, id); err != nil {
				return err
			}
		}
		s.UpdatedAt = fromMS(now)
		out = &s
		return nil
	})
	return out, err
}

// RecordDenial notes the prerequisite a sign-in of this account failed.
func (d *DB) RecordDenial(ctx context.Context, id int64, reason string) error {
	_, err := d.db.ExecContext(ctx, `UPDATE staff SET denied_reason = $1, denied_at = $2 WHERE id = $3`, reason, d.now(), id)
	return err
}

// CountAdmins counts the ACTIVE administrators.
func (d *DB) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM staff WHERE is_admin = $1 AND status = $2`, true, Active).Scan(&n)
	return n, err
}

// HasDomain reports whether m lists the domain of email.
func (m *MWA) HasDomain(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	return slices.Contains(m.Domains, NormDomain(email[at+1:]))
}
