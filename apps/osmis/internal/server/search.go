package server

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"milogin/apps/osmis/internal/store"
)

// searchData is what the search page lists: the signed-in person's own
// tasks and the systems of "Please select the system you want to go to
// ..." whose text contains the query, ignoring case.
type searchData struct {
	Query   string
	Tasks   []*store.Task
	Systems []*store.Link
}

// handleSearch answers the header's search bar.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, cur *current) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := pageData{Title: "Search", Staff: cur.staff, Query: q}
	switch {
	case q == "":
		d.Errors = map[string]string{"q": "Enter a word to search for, such as part of a task's title or a system's name."}
	case utf8.RuneCountInString(q) > 100:
		d.Errors = map[string]string{"q": "Search for at most 100 characters."}
	}
	if d.Errors != nil {
		s.page(w, r, http.StatusUnprocessableEntity, "search", d)
		return
	}
	tasks, err := s.db.Tasks(r.Context(), cur.staff.ID, false, false)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	links, err := s.db.Links(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	res := searchData{Query: q}
	lq := strings.ToLower(q)
	for _, t := range tasks {
		if strings.Contains(strings.ToLower(t.Title), lq) {
			res.Tasks = append(res.Tasks, t)
		}
	}
	for _, l := range links {
		if strings.Contains(strings.ToLower(l.Label), lq) {
			res.Systems = append(res.Systems, l)
		}
	}
	d.Title, d.Data = "Search results for “"+q+"”", res
	s.page(w, r, http.StatusOK, "search", d)
}
