package sqlstore

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

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

type audit struct{ t *tx }

var _ milogin.AuditLog = audit{}

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
	err := r.t.q.QueryRowContext(ctx, `INSERT INTO audit_events
		(occurred_at, event_type, portal, actor_id, subject_id, ip, user_agent, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		toDB(e.Time), e.Type, string(e.Portal), storedText(e.ActorID), storedText(e.SubjectID),
		storedText(e.IP), storedUA(e.UserAgent), detail).Scan(&e.ID)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return nil
}

// List returns events newest first (by time, then by insertion order).
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
	if f.Type != "" {
		where = append(where, "event_type = "+arg(f.Type))
	}
	if !f.Since.IsZero() {
		where = append(where, "occurred_at >= "+arg(toDB(f.Since)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	q := `SELECT id, occurred_at, event_type, portal, actor_id, subject_id, ip, user_agent, detail FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY occurred_at DESC, id DESC LIMIT ` + arg(limit)
	return queryAll(ctx, r.t.q, op, scanAuditEvent, q, args...)
}

func scanAuditEvent(s scanner) (*milogin.AuditEvent, error) {
	var (
		e              milogin.AuditEvent
		at             int64
		portal, detail string
	)
	if err := s.Scan(&e.ID, &at, &e.Type, &portal, &e.ActorID, &e.SubjectID, &e.IP, &e.UserAgent, &detail); err != nil {
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
