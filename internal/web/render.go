package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
	"milogin/internal/pagesec"
)

// page is what every template receives.
type page struct {
	Title   string
	Portal  milogin.Portal
	Account *milogin.Account // the signed-in person, for the menu
	Nav     []navLink
	Notice  string // a status message (role=status)
	Error   string // a form-level error (role=alert)
	Errors  []milogin.Violation
	Form    url.Values // what the person typed, re-displayed (never passwords)
	Data    any
	// MailFrom is the address emails come from (--mail-from), for "look
	// for email from …"; render sets it.
	MailFrom string
	// Offers says which optional second factors this service has, so
	// that no page links to one that is off; render sets it.
	Offers offers
}

type offers struct {
	Authenticator bool // authenticator apps (a sealing key is configured)
	Passkeys      bool // WebAuthn (the base URL names a domain)
}

func (s *Server) offers() offers {
	if s.cfg.MFA == nil {
		return offers{}
	}
	return offers{Authenticator: s.cfg.MFA.TOTPKey != nil, Passkeys: s.cfg.MFA.WebAuthn != nil}
}

type navLink struct {
	Label   string
	Href    string
	Current bool
}

// FieldErrors returns the messages for one field.
func (p *page) FieldErrors(field string) []string { return pagesec.FieldErrors(p.Errors, field) }

// HasError reports whether a field has an error (for aria-invalid).
func (p *page) HasError(field string) bool { return len(p.FieldErrors(field)) > 0 }

// Value returns what was typed into a field.
func (p *page) Value(field string) string {
	if p.Form == nil {
		return ""
	}
	return p.Form.Get(field)
}

// ErrorID is the id of a field's error message, for aria-describedby.
func (p *page) ErrorID(field string) string { return field + "-error" }

// fieldArgs is what the field partials receive.
type fieldArgs struct {
	Page         *page
	Name         string
	Label        string
	Autocomplete string
	Required     bool
	Type         string
	MaxLength    int
	Hint         string // shown under the label, tied by aria-describedby
}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"lower": strings.ToLower,
		// signupOpen: whether the portal's sign-in page offers SIGN UP.
		"signupOpen": func(p milogin.PortalID) bool { return authn.SignupEnabled(p) },
		"stateTime": func(t time.Time) string {
			return t.In(access.StateLocation()).Format("Jan 2, 2006 3:04 PM MST")
		},
		// minutes says a lock's length as the lockout email does.
		"minutes": authn.LockMinutes,
		// tel is a phone number as a tel: URI wants it: digits and a leading +.
		"tel": func(phone string) string {
			return strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' || r == '+' {
					return r
				}
				return -1
			}, phone)
		},
		"upper": strings.ToUpper,
		// slot marks where the layout's kept pieces end (chrome).
		"slot": func(name string) template.HTML {
			return template.HTML(slotMark + name + slotMark) // #nosec G203 -- a fixed marker, cut out before anything is sent
		},
		"fieldArgs": func(p *page, name, label, autocomplete string) fieldArgs {
			return fieldArgs{Page: p, Name: name, Label: label, Autocomplete: autocomplete, Required: true}
		},
		"field": func(p *page, name, label string, required bool, autocomplete string) fieldArgs {
			// A field with a length rule says it and stops there (maxlength).
			n := authn.FieldMaxLength(name)
			var hint string
			if n > 1 {
				hint = fmt.Sprintf("Up to %d characters.", n)
			}
			return fieldArgs{Page: p, Name: name, Label: label, Autocomplete: autocomplete, Required: required, MaxLength: n, Hint: hint}
		},
	}
	// Files named _*.html hold partials shared by every page.
	return pagesec.ParseTemplates(templateFS, funcs, "templates/_*.html")
}

// render writes a page. Rendering into a buffer first means a template error
// becomes a clean 500, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := s.tmpl[name]
	if !ok {
		s.cfg.Logger.Error("missing template", "name", name)
		pagesec.InternalError(w)
		return
	}
	var banner template.HTML
	if p.Nav == nil {
		var err error
		if banner, err = s.banner(t, r, p); err != nil {
			s.cfg.Logger.Error("rendering the banner", "name", name, "err", err)
			pagesec.InternalError(w)
			return
		}
	}
	p.MailFrom = s.mailFrom
	p.Offers = s.offers()
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// Overload (EBUSY): the page asks to come back in a minute.
		w.Header().Set("Retry-After", "60")
	}
	err := pagesec.Write(w, status, func(buf *bytes.Buffer) error {
		c, err := s.chrome(t, p)
		if err != nil {
			return err
		}
		buf.WriteString(c[0])
		if err := t.ExecuteTemplate(buf, "head", p); err != nil {
			return err
		}
		buf.WriteString(c[1])
		if banner != "" {
			buf.WriteString(string(banner))
		} else if err := t.ExecuteTemplate(buf, "banner", p); err != nil {
			return err
		}
		buf.WriteString(c[2])
		if p.Notice != "" || p.Error != "" || len(p.Errors) > 0 {
			if err := t.ExecuteTemplate(buf, "alerts", p); err != nil {
				return err
			}
		}
		buf.WriteString(c[3])
		if err := t.ExecuteTemplate(buf, "content", p); err != nil {
			return err
		}
		buf.WriteString(c[4])
		if err := t.ExecuteTemplate(buf, "scripts", p); err != nil {
			return err
		}
		buf.WriteString(c[5])
		return nil
	})
	if err != nil {
		s.cfg.Logger.Error("rendering page", "name", name, "err", err)
	}
}

// slotMark brackets a slot's name in the layout rendered by chrome: a NUL,
// which no template of ours writes and html/template would escape anyway.
const slotMark = "\x00"

// slots are the layout's slots, in their order.
var slots = [...]string{"head", "banner", "alerts", "content", "scripts"}

// chromeKey names one rendering of the layout: all it shows of a page
// besides its slots is the title and the portal.
type chromeKey struct {
	title         string
	portal, pname string
}

// maxChromes bounds the kept layouts. Titles are the pages' own, so a
// few dozen per portal are ever seen; past the bound the layout is
// rendered for each page instead.
const maxChromes = 512

// chrome returns the layout of p's page cut at its slots: the six pieces
// around head, banner, alerts, content and scripts. html/template's
// escapers, called by reflection for each of the layout's actions, were
// half the cost of rendering a signed-in page; the layout is the same for
// every page with the same title and portal, so it is rendered once.
func (s *Server) chrome(t *template.Template, p *page) ([6]string, error) {
	key := chromeKey{title: p.Title, portal: string(p.Portal.ID), pname: p.Portal.Name}
	if c, ok := s.chromes.Load(key); ok {
		return c.([6]string), nil
	}
	var out [6]string
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", &page{Title: p.Title, Portal: p.Portal}); err != nil {
		return out, err
	}
	rest := buf.String()
	for i, name := range slots {
		before, after, ok := strings.Cut(rest, slotMark+name+slotMark)
		if !ok {
			return out, fmt.Errorf("the layout has no slot %q", name)
		}
		out[i], rest = before, after
	}
	out[len(slots)] = rest
	if s.chromeCount.Add(1) <= maxChromes {
		s.chromes.Store(key, out)
	}
	return out, nil
}

// bannerKey names one rendering of the banner: the portal (its ID and
// name), whether a person is signed in (the menu), and which menu item is
// the current page (-1 for none). Bounded: never a path from the request.
type bannerKey struct {
	portal   milogin.PortalID
	name     string
	signedIn bool
	current  int
}

// banner returns the banner of p's page, rendered once per bannerKey: it
// is the same on every page of a portal with the same menu item current,
// and rendering it (its links through html/template's escapers) was a
// sixth of a signed-in page's CPU. p.Nav is left as it is; a page that
// sets its own menu renders its banner itself.
func (s *Server) banner(t *template.Template, r *http.Request, p *page) (template.HTML, error) {
	key := bannerKey{portal: p.Portal.ID, name: p.Portal.Name, signedIn: p.Account != nil, current: -1}
	// Which menu item is current, without building the menu: most pages
	// find their banner kept.
	if key.signedIn {
		rel, inPortal := strings.CutPrefix(r.URL.Path, "/"+string(p.Portal.ID))
		i := 0
		for _, n := range s.nav {
			if !s.pages[n.Path] {
				continue
			}
			if inPortal && rel == n.Path {
				key.current = i
			}
			i++
		}
	}
	if b, ok := s.banners.Load(key); ok {
		return b.(template.HTML), nil
	}
	var nav []navLink
	if key.signedIn {
		for _, n := range s.nav {
			if s.pages[n.Path] {
				nav = append(nav, navLink{Label: n.Label, Href: "/" + string(p.Portal.ID) + n.Path, Current: len(nav) == key.current})
			}
		}
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "banner", &page{Portal: p.Portal, Nav: nav}); err != nil {
		return "", err
	}
	b := template.HTML(buf.String()) // #nosec G203 -- html/template's own output
	s.banners.Store(key, b)
	return b, nil
}

// errorPage renders a plain error page.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	portal := portalOf(r)
	if portal.Name == "" {
		portal = s.portalOrDefault(milogin.ThirdParty)
	}
	s.render(w, r, status, "error", &page{Title: http.StatusText(status), Portal: portal, Error: msg})
}

// fail renders err on an error page, hiding internal details.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if milogin.ErrorKind(err) == milogin.EINTERNAL {
		s.cfg.Logger.Error("request failed", "path", r.URL.Path, "err", err)
	}
	s.errorPage(w, r, milogin.HTTPStatus(err), milogin.ErrorMessage(err))
}

func (s *Server) portalOrDefault(id milogin.PortalID) milogin.Portal {
	p, err := s.cfg.Auth.Portal(id)
	if err != nil {
		p, _ = s.cfg.Auth.Portal(milogin.ThirdParty)
	}
	return p
}

// maxFormBytes bounds every form body; no form of ours comes near it.
const maxFormBytes = 64 << 10

// parseForm reads a bounded form body. It returns false after answering
// with a 4xx when the body is too large or malformed.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	status, msg, ok := pagesec.ReadForm(w, r, maxFormBytes)
	if !ok {
		s.errorPage(w, r, status, msg)
	}
	return ok
}

// keepFields returns the named form values for re-display.
func keepFields(r *http.Request, names ...string) url.Values {
	v := url.Values{}
	for _, n := range names {
		v.Set(n, r.PostFormValue(n))
	}
	return v
}

// redirect answers with 303 See Other, so a POST is never repeated.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// Refuse answers a request refused before routing (see package wellformed)
// with an error page of the portal its path names, carrying the pages'
// security headers and logged like every page.
func (s *Server) Refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if p, err := s.cfg.Auth.Portal(milogin.PortalID(first)); err == nil {
		r = r.WithContext(context.WithValue(r.Context(), portalKey, p))
	}
	s.logRequests(s.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, status, msg)
	}))).ServeHTTP(w, r)
}
