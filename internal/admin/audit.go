package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"milogin"
)

// DefaultRetention is how long the audit trail keeps events: 7 years.
const DefaultRetention = 7 * 365 * 24 * time.Hour

// MinRetention is the shortest retention the database accepts (its
// triggers refuse to purge events less than a year old).
const MinRetention = 366 * 24 * time.Hour

// ExportRecord is one line of `milogin audit export --format jsonl`. The
// field names are a stable interface: fields may be added, never renamed
// or removed. Times are RFC 3339 in UTC with microseconds.
type ExportRecord struct {
	ID            int64             `json:"id"`
	Time          string            `json:"time"`
	Type          string            `json:"type"`
	Portal        string            `json:"portal"`
	ActorKind     string            `json:"actor_kind"` // person, staff, application, system
	ActorID       string            `json:"actor_id"`
	ActorName     string            `json:"actor_name"`
	SubjectID     string            `json:"subject_id"`
	SubjectUserID string            `json:"subject_user_id"`
	IP            string            `json:"ip"`
	UserAgent     string            `json:"user_agent"`
	Reason        string            `json:"reason"`
	Detail        map[string]string `json:"detail"`
}

// Record turns an event into its export form.
func Record(e *milogin.AuditEvent) ExportRecord {
	d := e.Detail
	if d == nil {
		d = map[string]string{}
	}
	return ExportRecord{
		ID: e.ID, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), Type: e.Type, Portal: string(e.Portal),
		ActorKind: e.ActorKind, ActorID: e.ActorID, ActorName: e.ActorName,
		SubjectID: e.SubjectID, SubjectUserID: e.SubjectUserID,
		IP: e.IP, UserAgent: e.UserAgent, Reason: e.Reason, Detail: d,
	}
}

// ExportFilter selects the events of an export.
type ExportFilter struct {
	Since, Until time.Time
	Portal       milogin.PortalID
}

// exportPage is how many events one read fetches: an export of years of
// events streams a page at a time and never holds more in memory.
const exportPage = 1000

// ExportAudit writes the events in f, oldest first, one JSON object per
// line, and then records the export itself in the audit trail. It returns
// how many events it wrote.
func (s *Service) ExportAudit(ctx context.Context, w io.Writer, f ExportFilter, actor Actor) (int, error) {
	const op = "admin.ExportAudit"
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	var after int64
	for {
		var page []*milogin.AuditEvent
		err := s.Store.Read(ctx, func(tx milogin.Tx) (err error) {
			page, err = tx.Audit().List(ctx, milogin.AuditFilter{Since: f.Since, Until: f.Until, Portal: f.Portal, After: after, Ascending: true, Limit: exportPage})
			return err
		})
		if err != nil {
			return n, milogin.Wrap(op, err)
		}
		for _, e := range page {
			if err := enc.Encode(Record(e)); err != nil {
				return n, milogin.Wrap(op, err)
			}
			n++
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].ID
		if err := bw.Flush(); err != nil {
			return n, milogin.Wrap(op, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return n, milogin.Wrap(op, err)
	}
	now := s.now()
	detail := map[string]string{"events": strconv.Itoa(n), "portal": string(f.Portal)}
	if !f.Since.IsZero() {
		detail["since"] = f.Since.UTC().Format(time.RFC3339)
	}
	if !f.Until.IsZero() {
		detail["until"] = f.Until.UTC().Format(time.RFC3339)
	}
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		return appendAudit(ctx, tx, now, milogin.EventAuditExported, "", actor, "", "", detail)
	})
	return n, milogin.Wrap(op, err)
}

// ExpireAudit deletes events older than retention, a batch per
// transaction, each batch recorded (audit.expired, with the count and the
// cutoff) in the transaction that deletes it. Several nodes may sweep at
// once: each deletes what is left.
func (s *Service) ExpireAudit(ctx context.Context, retention time.Duration) (int, error) {
	const op = "admin.ExpireAudit"
	if retention < MinRetention {
		return 0, milogin.Errorf(op, milogin.EINVALID, "The audit retention must be at least a year.")
	}
	now := s.now()
	cutoff := now.Add(-retention)
	total := 0
	for {
		var n int
		err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			var err error
			if n, err = tx.Audit().Expire(ctx, cutoff, now, exportPage); err != nil {
				return err
			}
			if n == 0 {
				return errNothingExpired // roll back the purge record too
			}
			return appendAudit(ctx, tx, now, milogin.EventAuditExpired, "", Actor{ID: "system"}, "", "",
				map[string]string{"deleted": strconv.Itoa(n), "before": cutoff.Format(time.RFC3339), "retention_days": strconv.Itoa(int(retention.Hours() / 24))})
		})
		if errors.Is(err, errNothingExpired) {
			return total, nil
		}
		if err != nil {
			return total, milogin.Wrap(op, err)
		}
		total += n
		if n < exportPage {
			return total, nil
		}
	}
}

var errNothingExpired = errors.New("admin: no event to expire")
