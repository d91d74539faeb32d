package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"milogin"
)

// policyFields are the numbers of the policy form, with their bounds.
var policyFields = []struct {
	Name, Label string
	Min, Max    int
}{
	{"min_length", "Minimum password length (characters)", 8, 64},
	{"max_length", "Maximum password length (characters)", 64, 1024},
	{"classes", "Character classes required (0 to 4)", 0, 4},
	{"history", "Passwords remembered (not reusable)", 0, 24},
	{"max_age_days", "Password expiry in days (0: never)", 0, 730},
	{"lockout_threshold", "Consecutive failures that lock the account", 3, 20},
	{"lockout_minutes", "Lock duration in minutes", 1, 1440},
	{"max_failures_hour", "Most failures per hour under any policy", 1, 100},
	{"inactivity_months", "Disable after months without a sign-in (0: never)", 0, 60},
	{"idle_minutes", "Session idle time-out in minutes", 5, 120},
	{"absolute_hours", "Session absolute time-out in hours", 1, 24},
}

func policyValues(p milogin.Policy) map[string]int {
	return map[string]int{
		"min_length": p.PasswordMinLength, "max_length": p.PasswordMaxLength, "classes": p.PasswordClasses,
		"history": p.PasswordHistory, "max_age_days": int(p.PasswordMaxAge / (24 * time.Hour)),
		"lockout_threshold": p.LockoutThreshold, "lockout_minutes": int(p.LockoutDuration / time.Minute),
		"max_failures_hour": p.MaxFailuresPerHour, "inactivity_months": p.InactivityMonths,
		"idle_minutes": int(p.SessionIdle / time.Minute), "absolute_hours": int(p.SessionAbsolute / time.Hour),
	}
}

// policyForm is a portal's policy as the form shows it.
func policyForm(p milogin.Policy) url.Values {
	v := url.Values{"profile": {p.Profile}}
	for k, n := range policyValues(p) {
		v.Set(k, strconv.Itoa(n))
	}
	if p.SecurityQuestions {
		v.Set("questions", "on")
	}
	return v
}

// parsePolicy reads the policy form over base (which keeps what the form
// does not show, such as the user ID format), naming each field that fails.
func parsePolicy(base milogin.Policy, form url.Values, prefix string) (milogin.Policy, []milogin.Violation) {
	p := base
	var vs []milogin.Violation
	n := map[string]int{}
	for _, f := range policyFields {
		raw := strings.TrimSpace(form.Get(f.Name))
		v, err := strconv.Atoi(raw)
		if err != nil || v < f.Min || v > f.Max {
			vs = append(vs, milogin.Violation{Field: prefix + f.Name, Rule: milogin.RuleRequired, Message: fmt.Sprintf("%s: enter a whole number from %d to %d.", f.Label, f.Min, f.Max)})
			continue
		}
		n[f.Name] = v
	}
	switch form.Get("profile") {
	case "milogin", "nist-800-63b-4":
		p.Profile = form.Get("profile")
	default:
		vs = append(vs, milogin.Violation{Field: prefix + "profile", Rule: milogin.RuleRequired, Message: "Choose the profile milogin or nist-800-63b-4."})
	}
	if len(vs) > 0 {
		return base, vs
	}
	if n["max_length"] < n["min_length"] {
		vs = append(vs, milogin.Violation{Field: prefix + "max_length", Message: "The maximum password length must be at least the minimum."})
	}
	if time.Duration(n["absolute_hours"])*time.Hour < time.Duration(n["idle_minutes"])*time.Minute {
		vs = append(vs, milogin.Violation{Field: prefix + "absolute_hours", Message: "The absolute time-out must be at least the idle time-out."})
	}
	p.PasswordMinLength, p.PasswordMaxLength, p.PasswordClasses = n["min_length"], n["max_length"], n["classes"]
	p.PasswordHistory, p.PasswordMaxAge = n["history"], time.Duration(n["max_age_days"])*24*time.Hour
	p.LockoutThreshold, p.LockoutDuration = n["lockout_threshold"], time.Duration(n["lockout_minutes"])*time.Minute
	p.MaxFailuresPerHour, p.InactivityMonths = n["max_failures_hour"], n["inactivity_months"]
	p.SessionIdle, p.SessionAbsolute = time.Duration(n["idle_minutes"])*time.Minute, time.Duration(n["absolute_hours"])*time.Hour
	p.SecurityQuestions = form.Get("questions") == "on"
	return p, vs
}

// SetPolicy stores a portal's policy, audited with what changed, and puts
// it in force on this node at once; the other nodes read it within
// authn.PolicyRefresh.
func (s *Service) SetPolicy(ctx context.Context, actor Actor, portal milogin.PortalID, p milogin.Policy) error {
	const op = "admin.SetPolicy"
	running, err := s.Residents.Portal(portal)
	if err != nil || portal == milogin.Staff {
		return milogin.Errorf(op, milogin.ENOTFOUND, "No such portal.")
	}
	now := s.now()
	old := running.Policy
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		stored, err := tx.Policies().List(ctx)
		if err != nil {
			return err
		}
		for _, x := range stored {
			if x.Portal == portal {
				old = x.Policy
			}
		}
		if err := tx.Policies().Put(ctx, &milogin.PortalPolicy{Portal: portal, Policy: p, UpdatedAt: now, UpdatedBy: actor.ID}); err != nil {
			return err
		}
		detail := map[string]string{"profile": p.Profile}
		ov, nv := policyValues(old), policyValues(p)
		var changed []string
		for _, f := range policyFields {
			if ov[f.Name] != nv[f.Name] {
				changed = append(changed, fmt.Sprintf("%s %d→%d", f.Name, ov[f.Name], nv[f.Name]))
			}
		}
		if old.SecurityQuestions != p.SecurityQuestions {
			changed = append(changed, fmt.Sprintf("security_questions %t→%t", old.SecurityQuestions, p.SecurityQuestions))
		}
		if old.Profile != p.Profile {
			changed = append(changed, "profile "+old.Profile+"→"+p.Profile)
		}
		detail["changed"] = strings.Join(changed, ", ")
		return appendAudit(ctx, tx, now, milogin.EventPolicyChanged, portal, actor, "", "", detail)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	// Saved: in force here now. Should reading it back fail, the periodic
	// load puts it in force within authn.PolicyRefresh.
	if err := s.Residents.LoadPolicies(ctx); err != nil {
		s.Residents.Logger.Error("loading portal policies after a change", "err", err)
	}
	return nil
}

// storedPolicies returns the policies saved in the console, by portal.
func (s *Service) storedPolicies(ctx context.Context) (map[milogin.PortalID]milogin.PortalPolicy, error) {
	out := map[milogin.PortalID]milogin.PortalPolicy{}
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		ps, err := tx.Policies().List(ctx)
		for _, p := range ps {
			out[p.Portal] = p
		}
		return err
	})
	return out, err
}

func (s *Server) handlePolicySave(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	portal := milogin.PortalID(r.PathValue("portal"))
	cur, err := s.svc.Residents.Portal(portal)
	if err != nil {
		s.errorPage(w, r, http.StatusNotFound, "No such portal.")
		return
	}
	st := staffOf(r)
	if r.PostFormValue("action") == "defaults" {
		base := milogin.DefaultPolicy()
		if r.PostFormValue("profile") == "nist-800-63b-4" {
			base = milogin.NISTPolicy()
		}
		base.UserIDFormat = cur.Policy.UserIDFormat
		s.policiesPage(w, r, http.StatusOK, "", nil, map[milogin.PortalID]url.Values{portal: policyForm(base)})
		return
	}
	p, vs := parsePolicy(cur.Policy, r.PostForm, string(portal)+"-")
	if len(vs) > 0 {
		s.policiesPage(w, r, http.StatusUnprocessableEntity, "", vs, map[milogin.PortalID]url.Values{portal: r.PostForm})
		return
	}
	if err := s.svc.SetPolicy(r.Context(), Actor{ID: st.Account.ID, Meta: meta(r)}, portal, p); err != nil {
		s.fail(w, r, err)
		return
	}
	s.policiesPage(w, r, http.StatusOK, "The policy of "+cur.Name+" was saved. It is in force on this node now and on every other node within a minute.", nil, nil)
}
