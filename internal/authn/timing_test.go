package authn_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
)

// costStore charges a fixed cost each time a repository is used, as a
// database across a network does. Differences in work between two code
// paths then show up as differences in time that noise cannot hide, and a
// statistical test on the two distributions tells whether timing reveals
// which path ran.
type costStore struct {
	milogin.Store
	cost *time.Duration // 0 while a test sets up what it times
}

func (s costStore) Write(ctx context.Context, fn func(milogin.Tx) error) error {
	return s.Store.Write(ctx, func(tx milogin.Tx) error { return fn(costTx{tx, s.cost}) })
}

func (s costStore) Read(ctx context.Context, fn func(milogin.Tx) error) error {
	return s.Store.Read(ctx, func(tx milogin.Tx) error { return fn(costTx{tx, s.cost}) })
}

type costTx struct {
	milogin.Tx
	cost *time.Duration
}

func (t costTx) pay() {
	if *t.cost > 0 {
		time.Sleep(*t.cost)
	}
}

func (t costTx) Accounts() milogin.AccountStore       { t.pay(); return t.Tx.Accounts() }
func (t costTx) Sessions() milogin.SessionStore       { t.pay(); return t.Tx.Sessions() }
func (t costTx) Codes() milogin.CodeStore             { t.pay(); return t.Tx.Codes() }
func (t costTx) Audit() milogin.AuditLog              { t.pay(); return t.Tx.Audit() }
func (t costTx) Outbox() milogin.Outbox               { t.pay(); return t.Tx.Outbox() }
func (t costTx) Limits() milogin.LimitStore           { t.pay(); return t.Tx.Limits() }
func (t costTx) Settings() milogin.SettingStore       { t.pay(); return t.Tx.Settings() }
func (t costTx) Apps() milogin.AppStore               { t.pay(); return t.Tx.Apps() }
func (t costTx) Grants() milogin.GrantStore           { t.pay(); return t.Tx.Grants() }
func (t costTx) TOTP() milogin.TOTPStore              { t.pay(); return t.Tx.TOTP() }
func (t costTx) WebAuthn() milogin.WebAuthnStore      { t.pay(); return t.Tx.WebAuthn() }
func (t costTx) Flows() milogin.FlowStore             { t.pay(); return t.Tx.Flows() }
func (t costTx) SigningKeys() milogin.SigningKeyStore { t.pay(); return t.Tx.SigningKeys() }
func (t costTx) SecurityAnswers() milogin.SecurityAnswerStore {
	t.pay()
	return t.Tx.SecurityAnswers()
}
func (t costTx) LoginRequests() milogin.LoginRequestStore {
	t.pay()
	return t.Tx.LoginRequests()
}
func (t costTx) OAuthRequests() milogin.OAuthRequestStore { t.pay(); return t.Tx.OAuthRequests() }
func (t costTx) OAuthTokens() milogin.OAuthTokenStore     { t.pay(); return t.Tx.OAuthTokens() }
func (t costTx) SessionClients() milogin.SessionClientStore {
	t.pay()
	return t.Tx.SessionClients()
}

// mannWhitneyP is the two-sided p-value of the Mann-Whitney U test that a
// and b come from the same distribution (normal approximation, ties
// ranked by their average).
func mannWhitneyP(a, b []float64) float64 {
	type obs struct {
		v     float64
		fromA bool
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var rankA float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1..j, averaged
		for k := i; k < j; k++ {
			if all[k].fromA {
				rankA += rank
			}
		}
		i = j
	}
	n1, n2 := float64(len(a)), float64(len(b))
	u := rankA - n1*(n1+1)/2
	z := (u - n1*n2/2) / math.Sqrt(n1*n2*(n1+n2+1)/12)
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

func TestMannWhitneyP(t *testing.T) {
	same := mannWhitneyP([]float64{1, 3, 5, 7, 9, 11}, []float64{2, 4, 6, 8, 10, 12})
	apart := mannWhitneyP([]float64{1, 2, 3, 4, 5, 6, 7, 8}, []float64{11, 12, 13, 14, 15, 16, 17, 18})
	if same < 0.5 || apart > 0.001 {
		t.Errorf("p(interleaved) = %v, p(apart) = %v", same, apart)
	}
}

// timingSamples is the number of requests timed per path.
const timingSamples = 40

// pRevealing is the p-value below which the two paths are told apart. With
// equal work p is uniform, so a correct implementation fails this once in
// ten thousand runs; a missing outbox write (one repository use, as much
// as the whole noise) gives p far below it.
const pRevealing = 1e-4

// compareTimings times run(known) and run(unknown) timingSamples times each,
// in random order, with setup (not timed) before each, and fails when the
// Mann-Whitney test tells the two apart.
func compareTimings(t *testing.T, f *fixture, setup func(known bool), run func(known bool)) {
	cost := f.svc.Store.(costStore).cost
	perUse := *cost
	t.Helper()
	order := make([]bool, 0, 2*timingSamples)
	for range timingSamples {
		order = append(order, true, false)
	}
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var known, unknown []float64
	for _, k := range order {
		f.clk.Add(61 * time.Minute) // past every hourly limit
		*cost = 0
		setup(k)
		*cost = perUse
		start := time.Now()
		run(k)
		d := float64(time.Since(start).Microseconds())
		if k {
			known = append(known, d)
		} else {
			unknown = append(unknown, d)
		}
	}
	sort.Float64s(known)
	sort.Float64s(unknown)
	p := mannWhitneyP(known, unknown)
	t.Logf("median known %.0fµs, unknown %.0fµs, p = %.3g", known[len(known)/2], unknown[len(unknown)/2], p)
	if p < pRevealing {
		t.Errorf("timing tells a known account from an unknown one: median %.0fµs vs %.0fµs, Mann-Whitney p = %.3g",
			known[len(known)/2], unknown[len(unknown)/2], p)
	}
}

// Forgot Password's Email PIN step, Forgot User ID and Forgot Password step
// 1 do the same work for an account that exists and for one that does not:
// before the fix, the PIN step for a real user ID composed and queued its
// email and the unknown one did not (2.05 ms vs 1.49 ms, p < 1e-29).
func TestTimingDoesNotRevealAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("times 240 requests")
	}
	newCostFixture := func(t *testing.T) *fixture {
		f := newFixture(t)
		cost := 3 * time.Millisecond
		f.svc.Store = costStore{f.store, &cost}
		return f
	}
	userID := func(known bool) string {
		if known {
			return "smithj0001"
		}
		return "nobody0001"
	}

	t.Run("ForgotPasswordEmailPIN", func(t *testing.T) {
		f := newCostFixture(t)
		var token string
		compareTimings(t, f, func(known bool) {
			var err error
			if token, err = f.startReset(t, userID(known)); err != nil {
				t.Fatal(err)
			}
		}, func(known bool) {
			if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverEmail, meta); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("ForgotUserID", func(t *testing.T) {
		f := newCostFixture(t)
		var q authn.Question
		var answer string
		compareTimings(t, f, func(bool) { q, answer = f.question(t, authn.FormForgotUserID) }, func(known bool) {
			email := "nobody@example.org"
			if known {
				email = "john.smith@example.org"
			}
			if err := f.svc.ForgotUserID(ctx, milogin.ThirdParty, email, q.ID, answer, meta); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("ForgotPasswordStep1", func(t *testing.T) {
		f := newCostFixture(t)
		var q authn.Question
		var answer string
		compareTimings(t, f, func(bool) { q, answer = f.question(t, authn.FormForgotPassword) }, func(known bool) {
			if _, err := f.svc.StartReset(ctx, milogin.ThirdParty, userID(known), q.ID, answer, meta); err != nil {
				t.Fatal(err)
			}
		})
	})
}
