package provision

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"milogin"
	"milogin/internal/httplog"
)

// SCIM 2.0 for directory sync: read-only Users. The library
// (elimity-com/scim) parses requests, validates filters against the core
// User schema and writes the responses; what a filter means is ours
// (Query). Without a filter the list is the application's own users (an
// active grant); a filter on userName or emails.value looks one person up
// in the portal, as GET /api/v1/users does.

type ctxKey int

const callKey ctxKey = iota

// scim wraps the SCIM server of one portal: only GET, authenticated and
// audited like the JSON API.
func (h *Handler) scim(portal milogin.PortalID, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &httplog.StatusWriter{ResponseWriter: w}
		app, clientID, err := h.authenticate(r, portal)
		c := &call{w: sw, r: r, portal: portal, app: app, detail: map[string]string{"path": scimPath(r.URL.Path)}}
		switch {
		case err != nil:
			c.detail["code"] = string(milogin.ErrorKind(err))
			if milogin.ErrorKind(err) == milogin.EUNAUTHORIZED {
				sw.Header().Set("WWW-Authenticate", `Basic realm="MILogin provisioning", charset="UTF-8"`)
				sw.Header().Add("WWW-Authenticate", `Bearer realm="MILogin provisioning"`)
			}
			writeSCIMError(sw, milogin.HTTPStatus(err), "", milogin.ErrorMessage(err))
		case r.Method != http.MethodGet:
			c.detail["code"] = "method_not_allowed"
			sw.Header().Set("Allow", "GET")
			writeSCIMError(sw, http.StatusMethodNotAllowed, "", "MILogin's SCIM service is read-only: accounts are created by the people who own them, and access is granted with PUT /api/v1/apps/{app}/grants/{login_id}.")
		default:
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), callKey, c)))
		}
		h.audit(r, portal, "scim."+strings.ToLower(r.Method), clientID, app, c.subject, sw.Status, c.detail)
	})
}

// scimPath names the endpoint for the audit trail without the ID.
func scimPath(p string) string {
	i := strings.Index(p, "/scim/v2/")
	if i < 0 {
		return p
	}
	rest := p[i+len("/scim/v2/"):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j] + "/{id}"
	}
	return "/scim/v2/" + rest
}

func writeSCIMError(w http.ResponseWriter, status int, scimType scimerr.ScimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	b, _ := scimerr.ScimError{Status: status, ScimType: scimType, Detail: detail}.MarshalJSON()
	_, _ = w.Write(b)
}

func (h *Handler) scimServer(portal milogin.PortalID) (http.Handler, error) {
	base := strings.TrimRight(h.cfg.BaseURL, "/") + "/" + string(portal) + "/scim/v2"
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			AuthenticationSchemes: []scim.AuthenticationScheme{
				{Type: scim.AuthenticationTypeOauthBearerToken, Name: "OAuth Bearer Token",
					Description: "An access token from the token endpoint's client_credentials grant.", Primary: true},
				{Type: scim.AuthenticationTypeHTTPBasic, Name: "HTTP Basic",
					Description: "The application's OpenID Connect client ID and secret."},
			},
			MaxResults:       100,
			SupportFiltering: true,
		},
		ResourceTypes: []scim.ResourceType{{
			ID:          optional.NewString("User"),
			Name:        "User",
			Endpoint:    "/Users",
			Description: optional.NewString("MILogin accounts"),
			Schema:      schema.CoreUserSchema(),
			Handler:     users{h: h},
		}},
	}, scim.WithBaseURL(base))
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// users is the read-only SCIM User resource.
type users struct{ h *Handler }

func callOf(r *http.Request) *call {
	c, _ := r.Context().Value(callKey).(*call)
	return c
}

// scimInternal hides an internal error from the client (the library would
// otherwise copy its text into the response) and logs it.
func (u users) scimInternal(r *http.Request, err error) error {
	u.h.cfg.Logger.Error("SCIM call failed", "path", r.URL.Path, "err", err)
	return scimerr.ScimError{Status: http.StatusInternalServerError, Detail: "An internal error has occurred."}
}

func resourceOf(a *milogin.Account) scim.Resource {
	created, updated := a.CreatedAt, a.UpdatedAt
	attrs := scim.ResourceAttributes{
		"userName":    a.UserID,
		"displayName": a.DisplayName(),
		"name": map[string]any{
			"givenName":  a.FirstName,
			"familyName": a.LastName,
			"formatted":  a.DisplayName(),
		},
		"active": a.Status == milogin.StatusActive,
	}
	if a.MiddleInitial != "" {
		attrs["name"].(map[string]any)["middleName"] = a.MiddleInitial
	}
	if a.Suffix != "" {
		attrs["name"].(map[string]any)["honorificSuffix"] = a.Suffix
	}
	if a.Email != "" {
		attrs["emails"] = []any{map[string]any{"value": a.Email, "type": "work", "primary": true}}
	}
	var phones []any
	if a.WorkPhone != "" {
		phones = append(phones, map[string]any{"value": a.WorkPhone, "type": "work"})
	}
	if a.Mobile != "" {
		phones = append(phones, map[string]any{"value": a.Mobile, "type": "mobile"})
	}
	if phones != nil {
		attrs["phoneNumbers"] = phones
	}
	m := scim.Meta{}
	if !created.IsZero() {
		m.Created = &created
	}
	if !updated.IsZero() {
		m.LastModified = &updated
		m.Version = `W/"` + updated.UTC().Format(time.RFC3339Nano) + `"`
	}
	return scim.Resource{ID: a.ID, Attributes: attrs, Meta: m}
}

// Get returns one account of the portal by its ID.
func (u users) Get(r *http.Request, id string) (scim.Resource, error) {
	c := callOf(r)
	ctx := r.Context()
	var a *milogin.Account
	err := u.h.cfg.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		a, err = tx.Accounts().Get(ctx, id)
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) || (err == nil && a.Portal != c.portal) {
		return scim.Resource{}, scimerr.ScimErrorResourceNotFound(id)
	}
	if err != nil {
		return scim.Resource{}, u.scimInternal(r, err)
	}
	c.subject = a.ID
	return resourceOf(a), nil
}

// GetAll lists the application's users, or looks one person up by filter.
func (u users) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	c := callOf(r)
	ctx := r.Context()
	var q Query
	if params.FilterValidator != nil {
		var err error
		if q, err = ParseFilter(params.FilterValidator.GetFilter()); err != nil {
			c.detail["code"] = "invalid_filter"
			return scim.Page{}, scimerr.ScimError{Status: http.StatusBadRequest, ScimType: scimerr.ScimTypeInvalidFilter, Detail: err.Error()}
		}
		c.detail["filter"] = q.Attr
	}
	var list []*milogin.Account
	err := u.h.cfg.Store.Read(ctx, func(tx milogin.Tx) error {
		if q.Attr != "" {
			a, err := q.Lookup(ctx, tx, c.portal)
			if milogin.IsKind(err, milogin.ENOTFOUND) {
				return nil
			}
			if err != nil {
				return err
			}
			list = append(list, a)
			return nil
		}
		grants, err := tx.Grants().ListByApp(ctx, c.app.ID, milogin.GrantActive)
		if err != nil {
			return err
		}
		for _, g := range grants {
			a, err := tx.Accounts().Get(ctx, g.AccountID)
			if err != nil {
				return err
			}
			if a.Portal == c.portal {
				list = append(list, a)
			}
		}
		return nil
	})
	if err != nil {
		return scim.Page{}, u.scimInternal(r, err)
	}
	if len(list) == 1 {
		c.subject = list[0].ID
	}
	page := scim.Page{TotalResults: len(list), Resources: []scim.Resource{}}
	start := max(params.StartIndex, 1) - 1
	for i := start; i < len(list) && len(page.Resources) < params.Count; i++ {
		page.Resources = append(page.Resources, resourceOf(list[i]))
	}
	return page, nil
}

var readOnly = scimerr.ScimError{Status: http.StatusNotImplemented, Detail: "MILogin's SCIM service is read-only."}

func (users) Create(*http.Request, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, readOnly
}
func (users) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, readOnly
}
func (users) Delete(*http.Request, string) error { return readOnly }
func (users) Patch(*http.Request, string, []scim.PatchOperation) (scim.Resource, error) {
	return scim.Resource{}, readOnly
}

// Query is what a supported SCIM filter asks for: one person by an exact
// attribute.
type Query struct {
	Attr  string // "userName", "emails.value" or "id"
	Value string
}

// Lookup runs the query in portal; ENOTFOUND when nobody matches.
func (q Query) Lookup(ctx context.Context, tx milogin.Tx, portal milogin.PortalID) (*milogin.Account, error) {
	switch q.Attr {
	case "userName":
		return tx.Accounts().GetByUserID(ctx, portal, q.Value)
	case "emails.value":
		return tx.Accounts().GetByEmail(ctx, portal, q.Value)
	case "id":
		a, err := tx.Accounts().Get(ctx, q.Value)
		if err == nil && a.Portal != portal {
			return nil, milogin.Errorf("provision.Query", milogin.ENOTFOUND, "not found")
		}
		return a, err
	}
	return nil, milogin.Errorf("provision.Query", milogin.EINVALID, "unsupported filter")
}

// errFilter explains what filters are supported.
type errFilter string

func (e errFilter) Error() string { return string(e) }

const msgFilter = `Only these filters are supported: userName eq "…", emails.value eq "…", emails[value eq "…"], id eq "…".`

// ParseFilter turns a parsed SCIM filter into a Query. Only an equality on
// userName, emails.value (also written emails[value eq "…"]) or id with a
// string value is supported; attribute names are case-insensitive (RFC 7643
// §2.1), values are compared as the store compares them (user IDs and
// emails case-insensitively).
func ParseFilter(e filter.Expression) (Query, error) {
	var attr filter.AttributePath
	var ae *filter.AttributeExpression
	switch x := e.(type) {
	case *filter.AttributeExpression:
		ae, attr = x, x.AttributePath
	case *filter.ValuePath:
		inner, ok := x.ValueFilter.(*filter.AttributeExpression)
		if !ok || x.AttributePath.SubAttribute != nil || inner.AttributePath.SubAttribute != nil || inner.AttributePath.URIPrefix != nil {
			return Query{}, errFilter(msgFilter)
		}
		ae = inner
		sub := inner.AttributePath.AttributeName
		attr = filter.AttributePath{URIPrefix: x.AttributePath.URIPrefix, AttributeName: x.AttributePath.AttributeName, SubAttribute: &sub}
	default:
		return Query{}, errFilter(msgFilter)
	}
	if ae == nil || ae.Operator != filter.EQ {
		return Query{}, errFilter(msgFilter)
	}
	if attr.URIPrefix != nil && *attr.URIPrefix != schema.UserSchema {
		return Query{}, errFilter(msgFilter)
	}
	v, ok := ae.CompareValue.(string)
	if !ok || strings.TrimSpace(v) == "" || len(v) > 254 {
		return Query{}, errFilter(msgFilter)
	}
	name := strings.ToLower(attr.AttributeName)
	sub := ""
	if attr.SubAttribute != nil {
		sub = strings.ToLower(*attr.SubAttribute)
	}
	switch {
	case name == "username" && sub == "":
		return Query{Attr: "userName", Value: v}, nil
	case name == "emails" && sub == "value":
		return Query{Attr: "emails.value", Value: v}, nil
	case name == "id" && sub == "":
		return Query{Attr: "id", Value: v}, nil
	}
	return Query{}, errFilter(msgFilter)
}

// ParseFilterString parses raw filter text (as in ?filter=) into a Query;
// the fuzz test drives it.
func ParseFilterString(raw string) (Query, error) {
	e, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return Query{}, errFilter("The filter could not be parsed. " + msgFilter)
	}
	return ParseFilter(e)
}
