package authn

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"milogin"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

// TestResetAnswersSameHashWorkForUnknownUserID counts argon2id derivations
// (the hasher's hook), not time: checking the security answers of a real
// account and of an unknown user ID does the same hash work, so timing
// tells nothing (ASVS 6.3.8).
func TestResetAnswersSameHashWorkForUnknownUserID(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := NewHasher(Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	s := NewService(store, h, NewCodeHasher([]byte("test-key-0123456789abcdef0123456")))
	s.Now = func() time.Time { return time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) }
	a, err := s.CreateAccount(ctx, NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0001", FirstName: "John", LastName: "Smith",
		Email: "john.smith@example.org", WorkPhone: "5175550100", Password: "Mitten!State26"}, "test", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"first-pet", "birth-city", "first-car", "first-employer"}
	answers, err := s.hashAnswers(ctx, ids, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Write(ctx, func(tx milogin.Tx) error { return tx.SecurityAnswers().Put(ctx, a.ID, answers) }); err != nil {
		t.Fatal(err)
	}
	// An unknown user ID whose made-up options include the questions.
	unknown := ""
	for _, c := range []string{"ghost0001", "ghost0002", "ghost0003", "ghost0004", "ghost0005", "ghost0006", "ghost0007", "ghost0008"} {
		if opts, _ := s.decoyOptions(milogin.DefaultPolicy(), milogin.ThirdParty, c); len(opts) > 0 && opts[len(opts)-1] == milogin.RecoverQuestions {
			unknown = c
			break
		}
	}
	if unknown == "" {
		t.Fatal("no candidate user ID gets decoy security questions")
	}
	var derivations atomic.Int64
	h.hook = func(ev string) {
		if ev == "start" {
			derivations.Add(1)
		}
	}
	work := func(userID string) int64 {
		q, err := s.NewQuestion(ctx, milogin.ThirdParty, FormForgotPassword)
		if err != nil {
			t.Fatal(err)
		}
		_, answer := s.question(q.ID)
		token, err := s.StartReset(ctx, milogin.ThirdParty, userID, q.ID, answer, Meta{})
		if err != nil {
			t.Fatalf("%s: %v", userID, err)
		}
		if err := s.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverQuestions, Meta{}); err != nil {
			t.Fatalf("%s: %v", userID, err)
		}
		derivations.Store(0)
		err = s.VerifyResetAnswers(ctx, milogin.ThirdParty, token, []string{"w", "x", "y", "z"}, Meta{})
		if !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
			t.Fatalf("%s: wrong answers: %v", userID, err)
		}
		return derivations.Load()
	}
	known, fake := work("smithj0001"), work(unknown)
	if known != 4 || fake != known {
		t.Errorf("argon2id derivations: %d for a real account, %d for an unknown user ID; want 4 each", known, fake)
	}
}

// TestSignupFlowExpires: a pending sign-up lives signupLife after its last
// step, then nothing of it can be used.
func TestSignupFlowExpires(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	s := NewService(store, NewHasher(Params{Time: 1, MemoryKiB: 64, Threads: 1}, 0), NewCodeHasher([]byte("k")))
	s.Now = func() time.Time { return now }
	q, _ := s.NewQuestion(ctx, milogin.ThirdParty, FormSignup)
	_, answer := s.question(q.ID)
	token, err := s.SaveSignupProfile(ctx, milogin.ThirdParty, "", SignupProfileInput{ProfileInput: ProfileInput{FirstName: "Ann", LastName: "Lee",
		Email: "ann@example.org", ConfirmEmail: "ann@example.org", WorkPhone: "5175550100"}, AgreeTerms: true, QuestionID: q.ID, Answer: answer}, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(signupLife)
	var p milogin.PendingSignup
	if _, err := s.FlowState(ctx, milogin.FlowSignup, milogin.ThirdParty, token, &p); !milogin.IsKind(err, milogin.EEXPIRED) {
		t.Errorf("expired sign-up readable: %v", err)
	}
	err = s.SubmitSignup(ctx, milogin.ThirdParty, token, SecuritySetupInput{UserID: "leea0000", Password: "Lake#Huron1987", ConfirmPassword: "Lake#Huron1987", RecoverByEmail: true}, Meta{})
	if !milogin.IsKind(err, milogin.EEXPIRED) || milogin.ErrorMessage(err) != MsgFlowExpired {
		t.Errorf("expired sign-up submitted: %v", err)
	}
	n, err := s.SweepInactive(ctx)
	if err != nil || n != 0 {
		t.Fatal(n, err)
	}
	if err := store.Read(ctx, func(tx milogin.Tx) error {
		_, err := tx.Flows().Get(ctx, TokenID(token))
		return err
	}); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Errorf("the sweep left the expired flow: %v", err)
	}
}
