package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
)

// PageSize is how many accounts one page of a search shows.
const PageSize = 25

// ResidentPortals are the portals the help desk searches, in this order.
var ResidentPortals = []milogin.PortalID{milogin.Citizen, milogin.ThirdParty, milogin.Workforce}

// SearchInput is a help-desk search as typed.
type SearchInput struct {
	Query  string
	Field  string // user_id, email, name, phone
	Portal string // "" for every portal
	Cursor string // from the previous page's Next
}

// SearchResult is one page of a search.
type SearchResult struct {
	Hits []milogin.SearchHit
	Next string // cursor of the next page, "" on the last
}

// normalizeSearch validates a search and returns the prefix to look for.
func normalizeSearch(field milogin.SearchField, q string) (string, *milogin.Violation) {
	q = strings.TrimSpace(q)
	bad := func(msg string) (string, *milogin.Violation) {
		return "", &milogin.Violation{Field: "q", Rule: milogin.RuleRequired, Message: msg}
	}
	if !utf8.ValidString(q) || strings.ContainsFunc(q, unicode.IsControl) {
		return bad("The search contains characters that cannot be searched for.")
	}
	if utf8.RuneCountInString(q) > 100 {
		return bad("Search for at most 100 characters.")
	}
	switch field {
	case milogin.SearchPhone:
		var b strings.Builder
		for _, r := range q {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		if b.Len() < 3 {
			return bad("Enter at least 3 digits of the phone number.")
		}
		return b.String(), nil
	case milogin.SearchName:
		q = strings.Join(strings.Fields(strings.ReplaceAll(q, ",", " ")), " ")
	case milogin.SearchUserID, milogin.SearchEmail:
	default:
		return bad("Choose what to search by.")
	}
	q = strings.ToLower(q)
	if utf8.RuneCountInString(q) < 2 {
		return bad("Enter at least 2 characters to search for.")
	}
	return q, nil
}

// Search finds accounts in the residents' portals whose field starts with
// the query (case-insensitive), a page at a time.
func (s *Service) Search(ctx context.Context, in SearchInput) (*SearchResult, error) {
	const op = "admin.Search"
	field := milogin.SearchField(in.Field)
	prefix, v := normalizeSearch(field, in.Query)
	if v != nil {
		return nil, milogin.Invalid(op, []milogin.Violation{*v})
	}
	portals := ResidentPortals
	if in.Portal != "" {
		p, err := milogin.ParsePortal(in.Portal)
		if err != nil {
			return nil, milogin.Invalid(op, []milogin.Violation{{Field: "portal", Rule: milogin.RuleRequired, Message: "Choose a portal."}})
		}
		portals = []milogin.PortalID{p}
	}
	cur, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, milogin.Invalid(op, []milogin.Violation{{Field: "q", Rule: milogin.RuleRequired, Message: "That page is no longer available. Please search again."}})
	}
	if cur.Portal != "" {
		i := slices.Index(portals, cur.Portal)
		if i < 0 {
			return nil, milogin.Invalid(op, []milogin.Violation{{Field: "q", Rule: milogin.RuleRequired, Message: "That page is no longer available. Please search again."}})
		}
		portals = portals[i:]
	}
	res := &SearchResult{}
	err = s.Store.Read(ctx, func(tx milogin.Tx) error {
		for i, p := range portals {
			q := milogin.AccountSearch{Portal: p, Field: field, Prefix: prefix, Limit: PageSize + 1 - len(res.Hits)}
			if i == 0 && cur.Portal != "" {
				q.AfterKey, q.AfterID = cur.Key, cur.ID
			}
			hits, err := tx.Accounts().Search(ctx, q)
			if err != nil {
				return err
			}
			res.Hits = append(res.Hits, hits...)
			if len(res.Hits) > PageSize {
				res.Hits = res.Hits[:PageSize]
				last := res.Hits[PageSize-1]
				res.Next = encodeCursor(cursor{Portal: last.Account.Portal, Key: last.Key, ID: last.Account.ID})
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return res, nil
}

type cursor struct {
	Portal  milogin.PortalID
	Key, ID string
}

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(c.Portal) + "\x00" + c.Key + "\x00" + c.ID))
}

func decodeCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	if len(s) > 600 {
		return cursor{}, fmt.Errorf("cursor too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || !utf8.Valid(b) {
		return cursor{}, fmt.Errorf("bad cursor")
	}
	p, err := milogin.ParsePortal(parts[0])
	if err != nil {
		return cursor{}, err
	}
	return cursor{Portal: p, Key: parts[1], ID: parts[2]}, nil
}

// GrantView is one application's grant for the account page.
type GrantView struct {
	Grant *milogin.Grant
	App   string // the application's name
}

// AccountView is everything the help desk sees about one account.
type AccountView struct {
	Account      *milogin.Account
	Portal       milogin.Portal
	Locked       bool
	LockedUntil  time.Time
	PasswordAge  int // days; -1 when never set
	PasswordDays int // days until expiry, -1 when it never expires
	Email        string
	Mobile       string
	WorkPhone    string
	RecoverBy    []string
	Questions    int // security answers on file
	TOTP         bool
	Passkeys     int
	Grants       []GrantView
	Sessions     []*milogin.Session
	Events       []*milogin.AuditEvent
}

// Account returns the help desk's view of a resident's account. Staff
// accounts are not served here (ENOTFOUND): the help desk does not act on
// its colleagues.
func (s *Service) Account(ctx context.Context, id string) (*AccountView, error) {
	const op = "admin.Account"
	now := s.now()
	v := &AccountView{}
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		a, err := tx.Accounts().Get(ctx, id)
		if err != nil {
			return err
		}
		if a.Portal == milogin.Staff {
			return milogin.Errorf(op, milogin.ENOTFOUND, "Account not found.")
		}
		v.Account = a
		if v.Portal, err = s.Residents.Portal(a.Portal); err != nil {
			return err
		}
		pol := v.Portal.Policy
		v.Locked, v.LockedUntil = a.Locked(now), a.LockedUntil
		v.PasswordAge = -1
		if !a.PasswordChangedAt.IsZero() {
			v.PasswordAge = int(now.Sub(a.PasswordChangedAt) / (24 * time.Hour))
		}
		v.PasswordDays = a.PasswordDaysLeft(pol, now)
		if a.Email != "" {
			v.Email = milogin.MaskEmail(a.Email)
		}
		if a.Mobile != "" {
			v.Mobile = milogin.MaskPhone(a.Mobile)
		}
		if a.WorkPhone != "" {
			v.WorkPhone = milogin.MaskPhone(a.WorkPhone)
		}
		if a.RecoverByEmail {
			v.RecoverBy = append(v.RecoverBy, "Email")
		}
		if a.RecoverByMobile {
			v.RecoverBy = append(v.RecoverBy, "Mobile (Text/SMS)")
		}
		answers, err := tx.SecurityAnswers().List(ctx, a.ID)
		if err != nil {
			return err
		}
		if v.Questions = len(answers); v.Questions > 0 {
			v.RecoverBy = append(v.RecoverBy, "Security Questions")
		}
		if k, err := tx.TOTP().Get(ctx, a.ID); err == nil {
			v.TOTP = k.Confirmed
		} else if !milogin.IsKind(err, milogin.ENOTFOUND) {
			return err
		}
		creds, err := tx.WebAuthn().ListByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		v.Passkeys = len(creds)
		grants, err := tx.Grants().ListByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			name := g.AppID
			if app, err := tx.Apps().Get(ctx, g.AppID); err == nil {
				name = app.Name
			}
			v.Grants = append(v.Grants, GrantView{Grant: g, App: name})
		}
		sessions, err := tx.Sessions().ListByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, x := range sessions {
			if x.Live(pol, now) {
				v.Sessions = append(v.Sessions, x)
			}
		}
		v.Events, err = tx.Audit().List(ctx, milogin.AuditFilter{SubjectID: a.ID, Limit: 50})
		return err
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return v, nil
}

// Help-desk actions on an account.
const (
	ActUnlock       = "unlock"
	ActReactivate   = "reactivate"
	ActDeactivate   = "deactivate"
	ActEndSessions  = "end-sessions"
	ActResendUserID = "resend-user-id"
	ActSendReset    = "send-reset"
)

// Actions lists the actions with the labels the account page shows.
var Actions = []struct{ Name, Label, Done string }{
	{ActUnlock, "Unlock", "The account was unlocked."},
	{ActReactivate, "Reactivate", "The account was reactivated."},
	{ActDeactivate, "Deactivate", "The account was deactivated and its sessions ended."},
	{ActEndSessions, "End sessions", "Every session of the account was ended."},
	{ActResendUserID, "Resend user ID email", "The user ID was emailed to the address on file."},
	{ActSendReset, "Send password reset", "A password reset link was emailed to the address on file."},
}

// checkReason validates the reason staff give for an action.
func checkReason(reason string) (string, *milogin.Violation) {
	reason = strings.Join(strings.Fields(reason), " ")
	bad := func(msg string) (string, *milogin.Violation) {
		return "", &milogin.Violation{Field: "reason", Rule: milogin.RuleRequired, Message: msg}
	}
	switch {
	case reason == "":
		return bad("Reason is required.")
	case !utf8.ValidString(reason) || strings.ContainsFunc(reason, unicode.IsControl):
		return bad("The reason contains characters that cannot be stored.")
	case utf8.RuneCountInString(reason) > MaxReason:
		return bad(fmt.Sprintf("The reason may be at most %d characters.", MaxReason))
	}
	return reason, nil
}

// mailAction is what the help-desk action email receives.
type mailAction struct {
	Name, UserID, Portal, Action, Reason, When, Link string
}

// Act performs a help-desk action on a resident's account: the change, its
// audit event (with the reason and the staff member) and the owner's email
// commit together. It returns EINVALID (with a violation) for a missing
// reason and ECONFLICT when the action does not apply to the account's
// state ("not locked").
func (s *Service) Act(ctx context.Context, actor Actor, accountID, action, reason string) error {
	const op = "admin.Act"
	reason, v := checkReason(reason)
	if v != nil {
		return milogin.Invalid(op, []milogin.Violation{*v})
	}
	if !slices.ContainsFunc(Actions, func(a struct{ Name, Label, Done string }) bool { return a.Name == action }) {
		return milogin.Errorf(op, milogin.ENOTFOUND, "No such action.")
	}
	now := s.now()
	conflict := func(msg string) error { return milogin.Errorf(op, milogin.ECONFLICT, "%s", msg) }
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		a, err := tx.Accounts().Get(ctx, accountID)
		if err != nil {
			return err
		}
		if a.Portal == milogin.Staff {
			return milogin.Errorf(op, milogin.ENOTFOUND, "Account not found.")
		}
		portal, err := s.Residents.Portal(a.Portal)
		if err != nil {
			return err
		}
		data := mailAction{Name: a.DisplayName(), UserID: a.UserID, Portal: portal.Name, Reason: reason,
			When: now.In(access.StateLocation()).Format("January 2, 2006 at 3:04 PM MST")}
		var typ, tmpl string
		detail := map[string]string{}
		update := func(fn func(x *milogin.Account) error) error {
			x, err := tx.Accounts().Update(ctx, a.ID, func(x *milogin.Account) error {
				if err := fn(x); err != nil {
					return err
				}
				x.UpdatedAt = now
				return nil
			})
			if err == nil {
				a = x
			}
			return err
		}
		endSessions := func() error {
			ids, err := tx.Sessions().DeleteByAccount(ctx, a.ID, "")
			if err != nil {
				return err
			}
			detail["sessions_ended"] = fmt.Sprint(len(ids))
			if s.Residents.SessionsEnded != nil && len(ids) > 0 {
				return s.Residents.SessionsEnded(ctx, tx, a.ID, ids)
			}
			return nil
		}
		switch action {
		case ActUnlock:
			if !a.Locked(now) {
				return conflict("The account is not locked.")
			}
			typ, tmpl, data.Action = milogin.EventUnlock, "helpdesk-action", "unlocked"
			detail["was_locked_until"] = a.LockedUntil.Format(time.RFC3339)
			err = update(func(x *milogin.Account) error { x.Unlock(); return nil })
		case ActReactivate:
			if a.Status == milogin.StatusActive {
				return conflict("The account is already active.")
			}
			typ, tmpl, data.Action = milogin.EventReactivated, "helpdesk-action", "reactivated"
			detail["was"] = string(a.Status)
			// Reactivation counts as activity: the inactivity period
			// starts again, or the next sign-in would disable it at once.
			err = update(func(x *milogin.Account) error {
				x.Status = milogin.StatusActive
				x.LastLoginAt = now
				x.Unlock()
				return nil
			})
		case ActDeactivate:
			if a.Status == milogin.StatusDeactivated {
				return conflict("The account is already deactivated.")
			}
			typ, tmpl, data.Action = milogin.EventAccountDeactivated, "helpdesk-action", "deactivated"
			detail["was"] = string(a.Status)
			if err = update(func(x *milogin.Account) error { x.Status = milogin.StatusDeactivated; return nil }); err == nil {
				err = endSessions()
			}
		case ActEndSessions:
			typ, tmpl, data.Action = milogin.EventSessionsEnded, "helpdesk-action", "signed out every session of"
			err = endSessions()
		case ActResendUserID:
			if a.Email == "" {
				return conflict("The account has no email address on file.")
			}
			typ, tmpl = milogin.EventUserIDResent, "forgot-user-id"
		case ActSendReset:
			if a.Email == "" {
				return conflict("The account has no email address on file.")
			}
			if a.Status != milogin.StatusActive {
				return conflict("Reactivate the account before sending a password reset.")
			}
			typ, tmpl = milogin.EventResetSent, "helpdesk-reset"
			token, id := authn.NewToken()
			err = tx.Flows().Create(ctx, &milogin.Flow{
				ID: id, Kind: milogin.FlowResetPassword, Portal: a.Portal, Subject: a.ID,
				State:     marshal(milogin.PasswordReset{UserID: a.UserID, Method: "helpdesk", Verified: true}),
				CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(ResetLinkLife),
			})
			data.Link = s.BaseURL + "/" + string(a.Portal) + "/forgot-password/link?t=" + url.QueryEscape(token)
		}
		if err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, now, typ, a.Portal, actor, a.ID, reason, detail); err != nil {
			return err
		}
		if tmpl == "forgot-user-id" {
			return queueMail(ctx, tx, now, a.Email, tmpl, map[string]any{"Name": "", "UserID": a.UserID, "Portal": portal.Name})
		}
		return queueMail(ctx, tx, now, a.Email, tmpl, data)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	s.kick()
	return nil
}
