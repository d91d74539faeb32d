// Package authn authenticates people: password hashing and policy, sign-in
// with lockout and inactivity rules, server-side sessions, one-time codes.
//
// Every state change it makes (a failure counted, a session started, a
// password changed) is written in one transaction with its audit event and
// any email it causes, so a crash never leaves one without the other.
package authn

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"milogin"
	"milogin/internal/notify"
)

// Meta describes the request behind an action, for the audit trail.
type Meta struct {
	IP        string
	UserAgent string
}

// Service is the sign-in and session service.
type Service struct {
	Store   milogin.Store
	Hasher  *Hasher
	Codes   *CodeHasher
	Portals map[milogin.PortalID]milogin.Portal
	Now     func() time.Time
	Logger  *slog.Logger
	// Common reports whether a password is on the blocklist.
	Common func(string) bool
	// Kick wakes the outbox worker after a message is queued (may be nil).
	Kick func()
	// SessionsEnded, when set, is called inside the transaction that ends
	// sessions (sign-out, takeover, password change, disable), so that
	// protocols can queue back-channel logout for the applications those
	// sessions signed in to, atomically with the ending.
	SessionsEnded func(ctx context.Context, tx milogin.Tx, accountID string, sessionIDs []string) error
	// IPFailureLimit is how many failed sign-ins one IP address may make in
	// IPFailureWindow before it is refused without a password check; 0 turns
	// the per-IP limit off.
	IPFailureLimit  int
	IPFailureWindow time.Duration
	// AllowSeeded lets accounts made by "milogin users seed" sign in. They
	// share one password, so only a load-test deployment sets it.
	AllowSeeded bool

	// saved holds the policies saved in the administration console, by
	// portal, as LoadPolicies last read them; Portal puts them in place of
	// Portals' own. Read on every request, replaced whole. A pointer, so
	// that a copy of the Service (the console's staff sign-in) shares it.
	saved *atomic.Pointer[map[milogin.PortalID]milogin.Policy]
}

// NewService returns a Service with the default portals, the common-password
// list and a per-IP limit of 50 failures per 15 minutes.
func NewService(store milogin.Store, hasher *Hasher, codes *CodeHasher) *Service {
	ps := map[milogin.PortalID]milogin.Portal{}
	for _, p := range milogin.DefaultPortals() {
		ps[p.ID] = p
	}
	return &Service{
		Store:           store,
		Hasher:          hasher,
		Codes:           codes,
		Portals:         ps,
		Now:             time.Now,
		Logger:          slog.Default(),
		Common:          Common,
		IPFailureLimit:  50,
		IPFailureWindow: 15 * time.Minute,
		saved:           new(atomic.Pointer[map[milogin.PortalID]milogin.Policy]),
	}
}

// Portal returns the portal with id or ENOTFOUND.
func (s *Service) Portal(id milogin.PortalID) (milogin.Portal, error) {
	p, ok := s.Portals[id]
	if !ok {
		return milogin.Portal{}, milogin.Errorf("authn.Portal", milogin.ENOTFOUND, "no such portal")
	}
	if s.saved != nil {
		if m := s.saved.Load(); m != nil {
			if pol, ok := (*m)[id]; ok {
				p.Policy = pol
			}
		}
	}
	return p, nil
}

// LoadPolicies reads the portal policies saved in the administration
// console; from then on Portal answers with them. Every node loads them at
// start and again every PolicyRefresh (WatchPolicies), and the node that
// saves a policy at once, so a change reaches every node within that time.
// The staff portal's rules are fixed: a saved policy for it is ignored.
func (s *Service) LoadPolicies(ctx context.Context) error {
	if s.saved == nil {
		return milogin.Errorf("authn.LoadPolicies", milogin.EINTERNAL, "the Service was not made by NewService")
	}
	var ps []milogin.PortalPolicy
	if err := s.Store.Read(ctx, func(tx milogin.Tx) (err error) {
		ps, err = tx.Policies().List(ctx)
		return err
	}); err != nil {
		return milogin.Wrap("authn.LoadPolicies", err)
	}
	m := make(map[milogin.PortalID]milogin.Policy, len(ps))
	for _, p := range ps {
		if p.Portal != milogin.Staff {
			m[p.Portal] = p.Policy
		}
	}
	s.saved.Store(&m)
	return nil
}

// PolicyRefresh is how often WatchPolicies reads the saved policies again.
const PolicyRefresh = 30 * time.Second

// WatchPolicies calls LoadPolicies every PolicyRefresh until ctx ends,
// logging a failure (the policies last read stay in force).
func (s *Service) WatchPolicies(ctx context.Context) {
	t := time.NewTicker(PolicyRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.LoadPolicies(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Error("loading portal policies", "err", err)
		}
	}
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) kick() {
	if s.Kick != nil {
		s.Kick()
	}
}

// audit appends an event inside tx.
func audit(ctx context.Context, tx milogin.Tx, now time.Time, typ string, portal milogin.PortalID, actor, subject string, m Meta, detail map[string]string) error {
	return tx.Audit().Append(ctx, &milogin.AuditEvent{
		Time: now, Type: typ, Portal: portal, ActorID: actor, SubjectID: subject,
		IP: m.IP, UserAgent: m.UserAgent, Detail: detail,
	})
}

// mail composes a templated email and queues it inside tx.
func mail(ctx context.Context, tx milogin.Tx, now time.Time, to, name string, data any) error {
	if to == "" {
		return nil
	}
	m, err := notify.Compose(milogin.ChannelEmail, to, name, data)
	if err != nil {
		return err
	}
	m.CreatedAt = now
	m.NextAttemptAt = now
	return tx.Outbox().Enqueue(ctx, m)
}

// portalMail is what every email of the portal names: the portal (.Portal
// in the templates) and its help desk (.Help).
func portalMail(portal milogin.Portal) map[string]any {
	return map[string]any{"Portal": portal.Name, "Help": portal.HelpDesk}
}

// accountMail is portalMail for an email about account a: also its
// holder's name (.Name) and MILogin ID (.UserID).
func accountMail(portal milogin.Portal, a *milogin.Account) map[string]any {
	d := portalMail(portal)
	d["Name"], d["UserID"] = a.DisplayName(), a.UserID
	return d
}

// mailDecoy composes the message template would be for someone who does not
// exist and queues it as a decoy, so that the request costs what a real
// one costs (the worker drops it).
func mailDecoy(ctx context.Context, tx milogin.Tx, now time.Time, ch milogin.Channel, name string, data any) error {
	m, err := notify.Compose(ch, milogin.DecoyTo, name, data)
	if err != nil {
		return err
	}
	m.Channel, m.CreatedAt, m.NextAttemptAt = milogin.ChannelDecoy, now, now
	return tx.Outbox().Enqueue(ctx, m)
}

// endedBecause remembers why the sessions ids ended, for as long as they
// could have lived (pol's absolute time-out), so that a browser that still
// holds one is told on the sign-in page; then it reports them like ended.
func (s *Service) endedBecause(ctx context.Context, tx milogin.Tx, pol milogin.Policy, accountID string, ids []string, reason milogin.EndReason, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if err := tx.Sessions().MarkEnded(ctx, ids, reason, now, now.Add(pol.SessionAbsolute)); err != nil {
		return err
	}
	return s.ended(ctx, tx, accountID, ids)
}

// ended reports ended sessions to the SessionsEnded hook.
func (s *Service) ended(ctx context.Context, tx milogin.Tx, accountID string, ids []string) error {
	if s.SessionsEnded == nil || len(ids) == 0 {
		return nil
	}
	return s.SessionsEnded(ctx, tx, accountID, ids)
}
