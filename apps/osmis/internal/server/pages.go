package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"milogin/apps/osmis/internal/store"
)

// miloginOrigin is the scheme and host of the issuer.
func (s *Server) miloginOrigin() string { return s.formTargets() }

// handleOldURL is what the old address shows: "Please select how you would
// like to login", a third-party email through MILogin for Third Party, a
// michigan.gov email through the workforce portal.
func (s *Server) handleOldURL(w http.ResponseWriter, r *http.Request) {
	origin := s.miloginOrigin()
	s.page(w, r, http.StatusOK, "oldurl", pageData{Title: "Please select how you would like to login", Data: map[string]string{
		"ThirdParty": origin + "/thirdparty/login",
		"Workforce":  origin + "/workforce/login",
	}})
}

type dashboardData struct {
	Overview      store.Overview
	Tasks         []*store.Task
	TaskCount     string
	Important     bool
	HideCompleted bool
	// Quick Add, re-displayed after a failed rule.
	Title, DueDate string
	NewImportant   bool
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, cur *current, status int, d dashboardData, errs map[string]string, flash string) {
	ctx := r.Context()
	var err error
	if d.Overview, err = s.db.Overview(ctx, cur.staff.MWAID); err != nil {
		s.internalError(w, r, err)
		return
	}
	if d.Tasks, err = s.db.Tasks(ctx, cur.staff.ID, d.Important, d.HideCompleted); err != nil {
		s.internalError(w, r, err)
		return
	}
	d.TaskCount = plural(len(d.Tasks), "Task", "Tasks")
	s.page(w, r, status, "dashboard", pageData{Title: "OSMIS Dashboard", Staff: cur.staff, Nav: "dashboard", Errors: errs, Flash: flash, Data: d})
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request, cur *current) {
	q := r.URL.Query()
	flash := ""
	switch q.Get("done") {
	case "added":
		flash = "Task added."
	case "updated":
		flash = "Task updated."
	}
	s.dashboard(w, r, cur, http.StatusOK, dashboardData{Important: q.Get("important") == "1", HideCompleted: q.Get("hide_completed") == "1"}, nil, flash)
}

// handleAddTask is Quick Add: Title, Due Date (optional), Add Task.
func (s *Server) handleAddTask(w http.ResponseWriter, r *http.Request, cur *current) {
	title := strings.TrimSpace(r.PostFormValue("title"))
	due := strings.TrimSpace(r.PostFormValue("due_date"))
	important := r.PostFormValue("important") == "1"
	errs := map[string]string{}
	switch {
	case title == "":
		errs["title"] = "Enter a title for the task."
	case utf8.RuneCountInString(title) > 200:
		errs["title"] = "The title must be at most 200 characters."
	}
	if due != "" {
		if _, err := time.Parse("2006-01-02", due); err != nil {
			errs["due_date"] = "Enter the due date as YYYY-MM-DD (for example 2026-12-31), or leave it empty."
		}
	}
	if len(errs) > 0 {
		s.dashboard(w, r, cur, http.StatusUnprocessableEntity, dashboardData{Title: title, DueDate: due, NewImportant: important}, errs, "")
		return
	}
	if err := s.db.AddTask(r.Context(), cur.staff.ID, &store.Task{Title: title, DueDate: due, Important: important}); err != nil {
		s.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard?done=added", http.StatusSeeOther)
}

// handleTaskDone marks a task done (or not done again).
func (s *Server) handleTaskDone(w http.ResponseWriter, r *http.Request, cur *current) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	err = s.db.SetTaskDone(r.Context(), cur.staff.ID, id, r.PostFormValue("done") != "0")
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard?done=updated", http.StatusSeeOther)
}

// handleSystems is "Please select the system you want to go to ...".
func (s *Server) handleSystems(w http.ResponseWriter, r *http.Request, cur *current) {
	links, err := s.db.Links(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.page(w, r, http.StatusOK, "systems", pageData{Title: "Please select the system you want to go to ...", Staff: cur.staff, Nav: "systems", Data: links})
}

func (s *Server) handleSignedOut(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, http.StatusOK, "signedout", pageData{Title: "You have logged off"})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.db.Ping(r.Context()); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
