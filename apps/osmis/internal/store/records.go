package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Programs and statuses of participant records.
const (
	WagnerPeyser = "wagner-peyser"
	WIOA         = "wioa-title-i"
	Enrolled     = "active"
	Exited       = "exited"
)

// Participant is one case record of an agency.
type Participant struct {
	Program  string
	Status   string
	Training bool // WIOA Title I training activity
}

// Overview is what the dashboard cards count for one agency.
type Overview struct {
	WagnerPeyserActive, WagnerPeyserExited         int
	WIOAActive, WIOATrainingActivities, WIOAExited int
}

// AddParticipants inserts records for an agency in one transaction.
func (d *DB) AddParticipants(ctx context.Context, mwaID int64, ps []Participant) error {
	now := d.now()
	return d.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO participants (mwa_id, program, status, training, created_at) VALUES ($1, $2, $3, $4, $5)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range ps {
			if _, err := st.ExecContext(ctx, mwaID, p.Program, p.Status, p.Training, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountParticipants counts an agency's records.
func (d *DB) CountParticipants(ctx context.Context, mwaID int64) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM participants WHERE mwa_id = $1`, mwaID).Scan(&n)
	return n, err
}

// Overview counts the dashboard cards of an agency.
func (d *DB) Overview(ctx context.Context, mwaID int64) (Overview, error) {
	var o Overview
	rows, err := d.db.QueryContext(ctx, `SELECT program, status, training, count(*) FROM participants WHERE mwa_id = $1
		GROUP BY program, status, training`, mwaID)
	if err != nil {
		return o, err
	}
	defer rows.Close()
	for rows.Next() {
		var prog, status string
		var training bool
		var n int
		if err := rows.Scan(&prog, &status, &training, &n); err != nil {
			return o, err
		}
		switch {
		case prog == WagnerPeyser && status == Enrolled:
			o.WagnerPeyserActive += n
		case prog == WagnerPeyser && status == Exited:
			o.WagnerPeyserExited += n
		case prog == WIOA && status == Enrolled:
			o.WIOAActive += n
			if training {
				o.WIOATrainingActivities += n
			}
		case prog == WIOA && status == Exited:
			o.WIOAExited += n
		}
	}
	return o, rows.Err()
}

// Task is a staff member's to-do item on the dashboard.
type Task struct {
	ID        int64
	Title     string
	DueDate   string // YYYY-MM-DD or ""
	Important bool
	Done      bool
	CreatedAt time.Time
}

// AddTask adds a task for a staff member.
func (d *DB) AddTask(ctx context.Context, staffID int64, t *Task) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		id, err := insertID(ctx, tx, `INSERT INTO tasks (staff_id, title, due_date, important, done, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			staffID, t.Title, t.DueDate, t.Important, false, d.now())
		t.ID = id
		return err
	})
}

// Tasks lists a staff member's tasks: only important ones, and without
// the completed ones, when asked.
func (d *DB) Tasks(ctx context.Context, staffID int64, importantOnly, hideCompleted bool) ([]*Task, error) {
	q := `SELECT id, title, due_date, important, done, created_at FROM tasks WHERE staff_id = $1`
	args := []any{staffID}
	if importantOnly {
		q += ` AND important = $2`
		args = append(args, true)
	}
	if hideCompleted {
		q += fmt.Sprintf(` AND done = $%d`, len(args)+1)
		args = append(args, false)
	}
	rows, err := d.db.QueryContext(ctx, q+` ORDER BY done, CASE WHEN due_date = '' THEN 1 ELSE 0 END, due_date, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Task
	for rows.Next() {
		t := &Task{}
		var created int64
		if err := rows.Scan(&t.ID, &t.Title, &t.DueDate, &t.Important, &t.Done, &created); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMS(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTaskDone marks one of the staff member's own tasks done or not.
func (d *DB) SetTaskDone(ctx context.Context, staffID, taskID int64, done bool) error {
	res, err := d.db.ExecContext(ctx, `UPDATE tasks SET done = $1 WHERE id = $2 AND staff_id = $3`, done, taskID, staffID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Link is one entry of "Please select the system you want to go to ...".
type Link struct {
	ID       int64
	Label    string
	URL      string
	Position int
}

// Links lists the system links in order.
func (d *DB) Links(ctx context.Context) ([]*Link, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, label, url, position FROM system_links ORDER BY position, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Link
	for rows.Next() {
		l := &Link{}
		if err := rows.Scan(&l.ID, &l.Label, &l.URL, &l.Position); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// AddLink appends a system link.
func (d *DB) AddLink(ctx context.Context, label, url string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		var pos int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM system_links`).Scan(&pos); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO system_links (label, url, position) VALUES ($1, $2, $3)`, label, url, pos)
		return err
	})
}

// DeleteLink removes a system link.
func (d *DB) DeleteLink(ctx context.Context, id int64) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM system_links WHERE id = $1`, id)
	return err
}
