package sqlstore

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"milogin"
	"milogin/internal/wellformed"
)

// The audit trail must never fail on what a client sent: the fields that
// can carry request bytes are cleaned (no NUL, valid UTF-8, which
// PostgreSQL demands) and bounded on a rune boundary. Detail is JSON, whose
// encoder already escapes NUL and replaces invalid UTF-8.
const (
	maxStoredText = 512
	maxStoredUA   = 256
)

func storedText(s string) string { return wellformed.Text(s, maxStoredText) }
func storedUA(s string) string   { return wellformed.Text(s, maxStoredUA) }

// DefaultAuditLimit is how many events List returns when the filter sets no limit.
const DefaultAuditLimit = 100

// MaxAuditLimit bounds one List: callers page for more.
const MaxAuditLimit = 1000

type audit struct{ t *tx }

var _ milogin.AuditLog = audit{}

// Append writes the event with a snapshot of its actor and subject, read in
// the same statement (primary-key lookups): whether the actor is a person,
// a staff member, an application or the system, by name, and the subject's
// user ID. Every feature gets the snapshot without knowing of it.
func (r audit) Append(ctx context.Context, e *milogin.AuditEvent) error {
	const op = "sqlstore.Audit.Append"
	if err := r.t.writable(op); err != nil {
		return err
	}
	detail := "{}"
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return milogin.Wrap(op, err)
		}
		detail = string(b)
	}
	if e.Reason == "" {
		e.Reason = e.Detail["reason"]
	}
	// What the actor is when it is not an account: "app:ID" is an
	// application, anything else ("system", "cli", "") the system.
	kind, name, appID := milogin.ActorSystem, e.ActorID, ""
	if id, ok := strings.CutPrefix(e.ActorID, "app:"); ok {
		kind, name, appID = milogin.ActorApplication, id, id
	}
	if name == "" {
		name = "MILogin"
	}
	err := r.t.q.QueryRowContext(ctx, `INSERT INTO audit_events
		(occurred_at, event_type, portal, actor_id, subject_id, ip, user_agent, detail,
		 actor_kind, actor_name, subject_user_id, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
		 COALESCE((SELECT CASE WHEN portal = 'staff' THEN 'staff' ELSE 'person' END FROM accounts WHERE id = $4), $9),
		 COALESCE((SELECT first_name || ' ' || last_name FROM accounts WHERE id = $4), (SELECT name FROM apps WHERE id = $10), $11),
		 COALESCE((SELECT user_id FROM accounts WHERE id = $5), ''),
		 $12)
		RETURNING id, actor_kind, actor_name, subject_user_id`,
		toDB(e.Time), e.Type, string(e.Portal), storedText(e.ActorID), storedText(e.SubjectID), storedText(e.IP), storedUA(e.UserAgent), detail,
		kind, storedText(appID), storedText(name), storedText(e.Reason)).Scan(&e.ID, &e.ActorKind, &e.ActorName, &e.SubjectUserID)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

const auditCols = `id, occurred_at, event_type, portal, actor_id, subject_id, ip, user_agent, detail,
	actor_kind, actor_name, subject_user_id, reason`

// List returns events newest first (by time, then by insertion order), or
// oldest first with Ascending. It reads at most MaxAuditLimit events.
func (r audit) List(ctx context.Context, f milogin.AuditFilter) ([]*milogin.AuditEvent, error) {
	const op = "sqlstore.Audit.List"
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.SubjectID != "" {
		where = append(where, "subject_id = "+arg(f.SubjectID))
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = "+arg(f.ActorID))
	}
	if f.Type != "" {
		where = append(where, "event_type = "+arg(f.Type))
	}
	if f.Portal != "" {
		where = append(where, "portal = "+arg(string(f.Portal)))
	}
	if !f.Since.IsZero() {
		where = append(where, "occurred_at >= "+arg(toDB(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "occurred_at < "+arg(toDB(f.Until)))
	}
	// Keyset paging on (occurred_at, id), the order of every audit index.
	if f.Before > 0 {
		id := arg(f.Before)
		where = append(where, "(occurred_at < (SELECT occurred_at FROM audit_events WHERE id = "+id+
			") OR (occurred_at = (SELECT occurred_at FROM audit_events WHERE id = "+id+") AND id < "+id+"))")
	}
	if f.After > 0 {
		id := arg(f.After)
		where = append(where, "(occurred_at > (SELECT occurred_at FROM audit_events WHERE id = "+id+
			") OR (occurred_at = (SELECT occurred_at FROM audit_events WHERE id = "+id+") AND id > "+id+"))")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
	q := `SELECT ` + auditCols + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	if f.Ascending {
		q += ` ORDER BY occurred_at, id LIMIT ` + arg(limit)
	} else {
		q += ` ORDER BY occurred_at DESC, id DESC LIMIT ` + arg(limit)
	}
	return queryAll(ctx, r.t.q, op, scanAuditEvent, q, args...)
}

// Expire records the purge (audit_purges, which the database refuses for a
// cutoff less than a year old) and deletes up to limit of the oldest events
// before that cutoff. The append-only trigger lets exactly those rows go.
func (r audit) Expire(ctx context.Context, before, now time.Time, limit int) (int, error) {
	const op = "sqlstore.Audit.Expire"
	if err := r.t.writable(op); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = MaxAuditLimit
	}
	if _, err := r.t.q.ExecContext(ctx, `INSERT INTO audit_purges (cutoff, created_at) VALUES ($1, $2)`, toDB(before), toDB(now)); err != nil {
		return 0, &milogin.Error{Op: op, Kind: milogin.EINVALID, Msg: "The audit trail keeps events for at least a year.", Err: err}
	}
	res, err := r.t.q.ExecContext(ctx, `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE occurred_at < $1 ORDER BY occurred_at, id LIMIT $2)`, toDB(before), limit)
	if err != nil {
		return 0, milogin.Wrap(op, err)
	}
	n, err := res.RowsAffected()
	return int(n), milogin.Wrap(op, err)
}

func scanAuditEvent(s scanner) (*milogin.AuditEvent, error) {
	var (
		e              milogin.AuditEvent
		at             int64
		portal, detail string
	)
	if err := s.Scan(&e.ID, &at, &e.Type, &portal, &e.ActorID, &e.SubjectID, &e.IP, &e.UserAgent, &detail,
		&e.ActorKind, &e.ActorName, &e.SubjectUserID, &e.Reason); err != nil {
		return nil, err
	}
	e.Time = fromDB(at)
	e.Portal = milogin.PortalID(portal)
	if detail != "" && detail != "{}" {
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, err
		}
	}
	return &e, nil
}
