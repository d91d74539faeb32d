package access

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the state's time zone, even on a host without zoneinfo

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/notify"
)

var stateLoc = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation(StateTimeZone)
	if err != nil {
		panic("access: " + err.Error()) // embedded by time/tzdata: cannot happen
	}
	return loc
})

// StateLocation returns the state's time zone, America/Detroit.
func StateLocation() *time.Location { return stateLoc() }

// Service applies access decisions to the store. Every change writes its
// audit event and queues its email in the same transaction.
type Service struct {
	Store milogin.Store
	Now   func() time.Time
	// Location is where the daily MFA policy counts calendar days.
	Location *time.Location
	// Portals names the portals in emails ("MILogin for Third Party").
	Portals map[milogin.PortalID]milogin.Portal
	// Kick wakes the outbox worker after a message is queued (may be nil).
	Kick   func()
	Logger *slog.Logger
}

// New returns a Service on store with the state's time zone and the
// default portals.
func New(store milogin.Store) *Service {
	ps := map[milogin.PortalID]milogin.Portal{}
	for _, p := range milogin.DefaultPortals() {
		ps[p.ID] = p
	}
	return &Service{Store: store, Now: time.Now, Location: StateLocation(), Portals: ps, Logger: slog.Default()}
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) loc() *time.Location {
	if s.Location == nil {
		return StateLocation()
	}
	return s.Location
}

func (s *Service) kick() {
	if s.Kick != nil {
		s.Kick()
	}
}

func (s *Service) portalName(p milogin.PortalID) string {
	if n := s.Portals[p].Name; n != "" {
		return n
	}
	return "MILogin"
}

// Actor is who makes a change, for the audit trail and the grant's
// DecidedBy: an account ID, "cli", "app:osmis".
type Actor struct {
	ID   string
	Meta authn.Meta
}

func audit(ctx context.Context, tx milogin.Tx, now time.Time, typ string, portal milogin.PortalID, actor Actor, subject string, detail map[string]string) error {
	return tx.Audit().Append(ctx, &milogin.AuditEvent{
		Time: now, Type: typ, Portal: portal, ActorID: actor.ID, SubjectID: subject,
		IP: actor.Meta.IP, UserAgent: actor.Meta.UserAgent, Detail: detail,
	})
}

// mailData is what the access emails receive.
type mailData struct {
	Name    string // greeting
	UserID  string
	App     string // the application's name
	Portal  string // the portal's name
	Contact string // whom to contact about access
	Reason  string // the administrator's reason, if given
	Help    milogin.HelpDesk
}

// mail queues an access email to the account inside tx.
func (s *Service) mail(ctx context.Context, tx milogin.Tx, now time.Time, a *milogin.Account, app *milogin.Application, name, reason string) error {
	if a.Email == "" {
		return nil
	}
	m, err := notify.Compose(milogin.ChannelEmail, a.Email, name, mailData{
		Name: a.DisplayName(), UserID: a.UserID, App: app.Name, Portal: s.portalName(a.Portal),
		Contact: ContactOf(app), Reason: reason, Help: s.Portals[a.Portal].HelpDesk,
	})
	if err != nil {
		return err
	}
	m.CreatedAt, m.NextAttemptAt = now, now
	return tx.Outbox().Enqueue(ctx, m)
}

// ContactOf is whom the person should contact about access to app: the
// catalog's Contact, or the help desk.
func ContactOf(app *milogin.Application) string {
	if c := strings.TrimSpace(app.Contact); c != "" {
		return c
	}
	return "the help desk"
}

// errKeep ends an Accounts().Update without writing: lockAccount wants only
// the row lock that Update takes before calling its function.
var errKeep = errors.New("access: keep the account as it is")

// lockAccount returns the account with its row locked for the rest of the
// transaction (on PostgreSQL; SQLite's single writer serializes anyway), so
// that two changes to one person's access (two administrators, an
// administrator and the application) apply one after the other and the
// second sees the first: never two emails for one pending request, one
// saying approved and the other denied.
func lockAccount(ctx context.Context, tx milogin.Tx, id string) (*milogin.Account, error) {
	var a *milogin.Account
	_, err := tx.Accounts().Update(ctx, id, func(x *milogin.Account) error {
		a = x
		return errKeep
	})
	if errors.Is(err, errKeep) {
		return a, nil
	}
	return nil, err
}

// getGrant returns the grant or nil when there is none.
func getGrant(ctx context.Context, tx milogin.Tx, appID, accountID string) (*milogin.Grant, error) {
	g, err := tx.Grants().Get(ctx, appID, accountID)
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil, nil
	}
	return g, err
}

// appFor returns the application, ENOTFOUND unless it is offered in the
// account's portal: a person never learns of another portal's applications.
func appFor(ctx context.Context, tx milogin.Tx, op, appID string, portal milogin.PortalID) (*milogin.Application, error) {
	app, err := tx.Apps().Get(ctx, appID)
	if err != nil {
		return nil, err
	}
	if !app.InPortal(portal) {
		return nil, milogin.Errorf(op, milogin.ENOTFOUND, "Application not found.")
	}
	return app, nil
}

// LaunchInfo is what the gate needs to decide a launch, read in one go.
type LaunchInfo struct {
	App     *milogin.Application
	Grant   *milogin.Grant
	Terms   *milogin.TermsAcceptance
	LastMFA *milogin.MFAEvent
}

// Launch reads the application and the person's grant, terms acceptance and
// last second factor for it.
func (s *Service) Launch(ctx context.Context, appID, accountID string) (*LaunchInfo, error) {
	const op = "access.Launch"
	var li LaunchInfo
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		if li.App, err = tx.Apps().Get(ctx, appID); err != nil {
			return err
		}
		if li.Grant, err = getGrant(ctx, tx, appID, accountID); err != nil {
			return err
		}
		li.Terms, err = tx.Grants().Terms(ctx, appID, accountID)
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			li.Terms, err = nil, nil
		}
		if err != nil {
			return err
		}
		li.LastMFA, err = tx.Grants().LastMFA(ctx, accountID, appID)
		if milogin.IsKind(err, milogin.ENOTFOUND) {
			li.LastMFA, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return &li, nil
}

// Decide reads what the rules need and applies them to a parked sign-in
// of acct in session sess.
func (s *Service) Decide(ctx context.Context, req *milogin.LoginRequest, acct *milogin.Account, sess *milogin.Session) (*LaunchInfo, Decision, error) {
	li, err := s.Launch(ctx, req.AppID, acct.ID)
	if err != nil {
		return nil, Decision{}, err
	}
	return li, s.Apply(li, req, sess), nil
}

// Apply applies the rules to what Decide read, now. After Agree enrolled
// the person, the pages apply them again with the grant Agree returned
// instead of reading everything again: enrolling changes the grant only.
func (s *Service) Apply(li *LaunchInfo, req *milogin.LoginRequest, sess *milogin.Session) Decision {
	return Decide(Input{
		App: li.App, Portal: req.Portal, Grant: li.Grant, Terms: li.Terms, LastMFA: li.LastMFA,
		Request: req, SessionID: sess.ID, SessionStart: sess.CreatedAt, Now: s.now(), Location: s.loc(),
	})
}

// Request asks for access to an approval application: a pending grant for
// an administrator to decide, and an email saying so. Open applications
// are entered with Agree; provisioned ones only the application grants.
func (s *Service) Request(ctx context.Context, acct *milogin.Account, appID string, actor Actor) (*milogin.Grant, error) {
	const op = "access.Request"
	now := s.now()
	var out *milogin.Grant
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		app, err := appFor(ctx, tx, op, appID, acct.Portal)
		if err != nil {
			return err
		}
		if _, err := lockAccount(ctx, tx, acct.ID); err != nil {
			return err
		}
		g, err := getGrant(ctx, tx, app.ID, acct.ID)
		if err != nil {
			return err
		}
		switch app.Approval {
		case milogin.ApprovalOpen:
			return milogin.Errorf(op, milogin.EINVALID, "Please read and agree to the Terms & Conditions of %s to use it.", app.Name)
		case milogin.ApprovalProvisioned:
			return milogin.Errorf(op, milogin.EFORBIDDEN, "Access to %s is given by its administrators. Contact %s.", app.Name, ContactOf(app))
		}
		if Launchable(g) {
			return milogin.Errorf(op, milogin.ECONFLICT, "You already have access to %s.", app.Name)
		}
		if g != nil && g.Status == milogin.GrantPending {
			return milogin.Errorf(op, milogin.ECONFLICT, "Your request for access to %s is already waiting for approval.", app.Name)
		}
		out = &milogin.Grant{AppID: app.ID, AccountID: acct.ID, Status: milogin.GrantPending, RequestedAt: now}
		if err := tx.Grants().Put(ctx, out); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventAccessRequested, acct.Portal, actor, acct.ID, map[string]string{"app": app.ID}); err != nil {
			return err
		}
		return s.mail(ctx, tx, now, acct, app, "access-requested", "")
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	s.kick()
	return out, nil
}

// Agree records that acct agreed to version of the application's terms
// (version 0 for an application without terms). For an open application the
// person is not enrolled in, agreeing enrols them: an active grant decided
// by "self". A version other than the current one is refused (ECONFLICT):
// the terms changed while the page was open.
func (s *Service) Agree(ctx context.Context, acct *milogin.Account, appID string, version int, actor Actor) (*milogin.Grant, error) {
	const op = "access.Agree"
	now := s.now()
	var out *milogin.Grant
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		app, err := appFor(ctx, tx, op, appID, acct.Portal)
		if err != nil {
			return err
		}
		if version != app.TermsVersion {
			return milogin.Errorf(op, milogin.ECONFLICT, "The Terms & Conditions of %s have changed. Please read them again.", app.Name)
		}
		if _, err := lockAccount(ctx, tx, acct.ID); err != nil {
			return err
		}
		g, err := getGrant(ctx, tx, app.ID, acct.ID)
		if err != nil {
			return err
		}
		if app.TermsVersion > 0 {
			if err := tx.Grants().AcceptTerms(ctx, &milogin.TermsAcceptance{AppID: app.ID, AccountID: acct.ID, Version: app.TermsVersion, AcceptedAt: now}); err != nil {
				return err
			}
			if err := audit(ctx, tx, now, milogin.EventTermsAccepted, acct.Portal, actor, acct.ID,
				map[string]string{"app": app.ID, "version": strconv.Itoa(app.TermsVersion)}); err != nil {
				return err
			}
		}
		out = g
		if app.Approval != milogin.ApprovalOpen || Launchable(g) {
			return nil
		}
		if !CanEnrol(g) {
			return milogin.Errorf(op, milogin.EFORBIDDEN, "Your access to %s was removed. Contact %s.", app.Name, ContactOf(app))
		}
		out = &milogin.Grant{AppID: app.ID, AccountID: acct.ID, Status: milogin.GrantActive, RequestedAt: now, DecidedAt: now, DecidedBy: "self"}
		if err := tx.Grants().Put(ctx, out); err != nil {
			return err
		}
		return audit(ctx, tx, now, milogin.EventAccessGranted, acct.Portal, actor, acct.ID, map[string]string{"app": app.ID, "how": "enrolled"})
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	return out, nil
}

// Decline records that acct did not agree to the terms (CANCEL).
func (s *Service) Decline(ctx context.Context, acct *milogin.Account, appID string, actor Actor) error {
	const op = "access.Decline"
	now := s.now()
	return milogin.Wrap(op, s.Store.Write(ctx, func(tx milogin.Tx) error {
		return audit(ctx, tx, now, milogin.EventTermsDeclined, acct.Portal, actor, acct.ID, map[string]string{"app": appID})
	}))
}

// LaunchDenied records that a sign-in to app ended on the Access Denied page.
func (s *Service) LaunchDenied(ctx context.Context, acct *milogin.Account, appID, reason string, actor Actor) error {
	const op = "access.LaunchDenied"
	now := s.now()
	return milogin.Wrap(op, s.Store.Write(ctx, func(tx milogin.Tx) error {
		return audit(ctx, tx, now, milogin.EventLaunchDenied, acct.Portal, actor, acct.ID, map[string]string{"app": appID, "reason": reason})
	}))
}

// Decision kinds for Decide's administrative counterpart.
type change int

const (
	approve change = iota
	deny
	grant
	revoke
)

// Result is the outcome of an administrative change.
type Result struct {
	Grant   *milogin.Grant
	Account *milogin.Account
	App     *milogin.Application
	// Changed is false when the grant was already as asked (a repeated
	// grant or revoke): nothing was written and no email was sent.
	Changed bool
}

// Approve grants a pending request (ECONFLICT when there is none) and
// emails the person.
func (s *Service) Approve(ctx context.Context, appID, accountID, reason string, actor Actor) (*Result, error) {
	return s.decide(ctx, "access.Approve", approve, appID, accountID, reason, actor)
}

// Deny turns down a pending request (ECONFLICT when there is none) and
// emails the person.
func (s *Service) Deny(ctx context.Context, appID, accountID, reason string, actor Actor) (*Result, error) {
	return s.decide(ctx, "access.Deny", deny, appID, accountID, reason, actor)
}

// Grant gives access whatever the current state (provisioning, an
// administrator); granting again changes nothing and sends nothing.
func (s *Service) Grant(ctx context.Context, appID, accountID, reason string, actor Actor) (*Result, error) {
	return s.decide(ctx, "access.Grant", grant, appID, accountID, reason, actor)
}

// Revoke removes access (an active grant, or withdraws a pending request);
// the home-page link disappears. Revoking what is not granted changes
// nothing. The person is emailed when access they had is removed.
func (s *Service) Revoke(ctx context.Context, appID, accountID, reason string, actor Actor) (*Result, error) {
	return s.decide(ctx, "access.Revoke", revoke, appID, accountID, reason, actor)
}

func (s *Service) decide(ctx context.Context, op string, c change, appID, accountID, reason string, actor Actor) (*Result, error) {
	now := s.now()
	reason = strings.TrimSpace(reason)
	if len(reason) > 500 {
		return nil, milogin.Errorf(op, milogin.EINVALID, "The reason is too long (500 characters at most).")
	}
	var res Result
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		app, err := tx.Apps().Get(ctx, appID)
		if err != nil {
			return err
		}
		acct, err := lockAccount(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if !app.InPortal(acct.Portal) {
			return milogin.Errorf(op, milogin.EINVALID, "%s is not offered in %s.", app.Name, s.portalName(acct.Portal))
		}
		res.App, res.Account = app, acct
		g, err := getGrant(ctx, tx, app.ID, acct.ID)
		if err != nil {
			return err
		}
		res.Grant = g
		var next milogin.GrantStatus
		var event, mail string
		switch c {
		case approve, deny:
			if g == nil || g.Status != milogin.GrantPending {
				return milogin.Errorf(op, milogin.ECONFLICT, "There is no pending request for access to %s by %s.", app.Name, acct.UserID)
			}
			next, event, mail = milogin.GrantActive, milogin.EventAccessGranted, "access-granted"
			if c == deny {
				next, event, mail = milogin.GrantDenied, milogin.EventAccessDenied, "access-denied"
			}
		case grant:
			if Launchable(g) {
				return nil
			}
			next, event, mail = milogin.GrantActive, milogin.EventAccessGranted, "access-granted"
		case revoke:
			if g == nil || (g.Status != milogin.GrantActive && g.Status != milogin.GrantPending) {
				return nil
			}
			next, event = milogin.GrantRevoked, milogin.EventAccessRevoked
			if g.Status == milogin.GrantActive {
				mail = "access-revoked"
			}
		}
		ng := &milogin.Grant{AppID: app.ID, AccountID: acct.ID, Status: next, RequestedAt: now,
			DecidedAt: now, DecidedBy: actor.ID, Reason: reason}
		if g != nil && !g.RequestedAt.IsZero() {
			ng.RequestedAt = g.RequestedAt
		}
		if err := tx.Grants().Put(ctx, ng); err != nil {
			return err
		}
		res.Grant, res.Changed = ng, true
		detail := map[string]string{"app": app.ID}
		if g != nil {
			detail["from"] = string(g.Status)
		}
		if reason != "" {
			detail["reason"] = reason
		}
		if err := audit(ctx, tx, now, event, acct.Portal, actor, acct.ID, detail); err != nil {
			return err
		}
		if mail == "" {
			return nil
		}
		return s.mail(ctx, tx, now, acct, app, mail, reason)
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	if res.Changed {
		s.kick()
	}
	return &res, nil
}

// Group is one category of the home page.
type Group struct {
	Category string
	Apps     []*milogin.Application
}

// Home returns the applications acct may launch (an active grant, which
// open applications get at enrolment), grouped by category in alphabetical
// order, applications by name; the uncategorized come last as
// "Applications".
func (s *Service) Home(ctx context.Context, acct *milogin.Account) ([]Group, error) {
	return s.groups(ctx, "access.Home", acct, func(a *milogin.Application, g *milogin.Grant) bool {
		// An application without a launch URL or an initiate_login_uri
		// has no home-page entry: a name that leads nowhere is not a link.
		return Launchable(g) && a.HasHomeEntry()
	})
}

// groups returns the portal's applications (in name order) that keep
// accepts, given acct's grant for each (nil when none), grouped by
// category: Home and Services list the same applications through
// different filters.
func (s *Service) groups(ctx context.Context, op string, acct *milogin.Account, keep func(*milogin.Application, *milogin.Grant) bool) ([]Group, error) {
	apps, byApp, err := s.appsAndGrants(ctx, acct)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	var list []*milogin.Application
	for _, a := range apps {
		if keep(a, byApp[a.ID]) {
			list = append(list, a)
		}
	}
	return groupByCategory(list), nil
}

// appsAndGrants reads, in one transaction, the applications of acct's
// portal (in name order) and acct's grants by application ID (at most one
// grant an application and account).
func (s *Service) appsAndGrants(ctx context.Context, acct *milogin.Account) ([]*milogin.Application, map[string]*milogin.Grant, error) {
	var apps []*milogin.Application
	var grants []*milogin.Grant
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		if apps, err = tx.Apps().List(ctx, acct.Portal); err != nil {
			return err
		}
		grants, err = tx.Grants().ListByAccount(ctx, acct.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	byApp := make(map[string]*milogin.Grant, len(grants))
	for _, g := range grants {
		byApp[g.AppID] = g
	}
	return apps, byApp, nil
}

// groupByCategory groups apps (in name order) by category, categories in
// alphabetical order and the uncategorized last as "Applications".
func groupByCategory(apps []*milogin.Application) []Group {
	byCat := map[string][]*milogin.Application{}
	for _, a := range apps {
		c := strings.TrimSpace(a.Category)
		byCat[c] = append(byCat[c], a)
	}
	var out []Group
	for c, list := range byCat {
		out = append(out, Group{Category: c, Apps: list})
	}
	slices.SortFunc(out, func(a, b Group) int {
		if (a.Category == "") != (b.Category == "") {
			if a.Category == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(strings.ToLower(a.Category), strings.ToLower(b.Category))
	})
	for i := range out {
		if out[i].Category == "" {
			out[i].Category = "Applications"
		}
	}
	return out
}

// Entry is one application on the Request Access page.
type Entry struct {
	App        *milogin.Application
	Grant      *milogin.Grant // nil when none
	Status     Status
	CanRequest bool
	Contact    string
}

// Catalog returns the portal's applications acct cannot launch yet, with
// their status, by name.
func (s *Service) Catalog(ctx context.Context, acct *milogin.Account) ([]Entry, error) {
	apps, byApp, err := s.appsAndGrants(ctx, acct)
	if err != nil {
		return nil, milogin.Wrap("access.Catalog", err)
	}
	var out []Entry
	for _, a := range apps {
		g := byApp[a.ID]
		if Launchable(g) {
			continue
		}
		out = append(out, Entry{App: a, Grant: g, Status: StatusOf(a, g), CanRequest: CanRequest(a, g), Contact: ContactOf(a)})
	}
	return out, nil
}

// App returns an application offered in acct's portal (ENOTFOUND otherwise).
func (s *Service) App(ctx context.Context, acct *milogin.Account, appID string) (*milogin.Application, *milogin.Grant, error) {
	const op = "access.App"
	var app *milogin.Application
	var g *milogin.Grant
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		if app, err = appFor(ctx, tx, op, appID, acct.Portal); err != nil {
			return err
		}
		g, err = getGrant(ctx, tx, app.ID, acct.ID)
		return err
	})
	if err != nil {
		return nil, nil, milogin.Wrap(op, err)
	}
	return app, g, nil
}

// CompleteMFA records a completed second factor inside tx, in the
// transaction that consumed it: the MFA event (what the daily policy looks
// for), the mark on the parked sign-in (what lets this request through
// under the always policy and ForceMFA), and the audit event. The request
// must belong to the portal, be live and unfinished.
func CompleteMFA(ctx context.Context, tx milogin.Tx, now time.Time, loginID string, acct *milogin.Account, sessionID, method string, m authn.Meta) error {
	const op = "access.CompleteMFA"
	req, err := tx.LoginRequests().Update(ctx, loginID, func(r *milogin.LoginRequest) error {
		if r.Portal != acct.Portal || !now.Before(r.ExpiresAt) || r.Done() {
			return milogin.Errorf(op, milogin.ENOTFOUND, "This sign-in request has expired. Please return to the application and try again.")
		}
		r.SessionID = sessionID
		r.AMR = milogin.AMR(method)
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.Grants().RecordMFA(ctx, &milogin.MFAEvent{AccountID: acct.ID, AppID: req.AppID, Method: method, At: now}); err != nil {
		return err
	}
	return audit(ctx, tx, now, milogin.EventMFASuccess, acct.Portal, Actor{ID: acct.ID, Meta: m}, acct.ID,
		map[string]string{"app": req.AppID, "method": method})
}
