package authn_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/authn/questiontest"
)

var ctx = context.Background()

// question returns a new verification question for form and its answer.
func (f *fixture) question(t *testing.T, form string) (authn.Question, string) {
	t.Helper()
	q, err := f.svc.NewQuestion(ctx, milogin.ThirdParty, form)
	if err != nil {
		t.Fatal(err)
	}
	a := questiontest.Answers(q.Text)
	if len(a) != 1 {
		t.Fatalf("question %q has answers %v", q.Text, a)
	}
	return q, a[0]
}

var pinRE = regexp.MustCompile(`\b\d{6}\b`)

// lastPIN returns the PIN of the newest message to `to`.
func (f *fixture) lastPIN(t *testing.T, to string) string {
	t.Helper()
	for _, m := range f.outbox(t) { // newest first
		if m.To == to {
			if p := pinRE.FindString(m.Text); p != "" {
				return p
			}
		}
	}
	t.Fatalf("no PIN sent to %s", to)
	return ""
}

func (f *fixture) messagesTo(t *testing.T, to string) []*milogin.Message {
	t.Helper()
	var out []*milogin.Message
	for _, m := range f.outbox(t) {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

func violationsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	if !milogin.IsKind(err, milogin.EINVALID) {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	out := map[string]string{}
	for _, v := range milogin.ViolationsOf(err) {
		out[v.Field] += v.Message
	}
	return out
}

func wrongPIN(pin string) string {
	if pin == "000000" {
		return "111111"
	}
	return "000000"
}

func TestVerificationQuestions(t *testing.T) {
	f := newFixture(t)
	// Every generated question has exactly one right word, and the same ID
	// always shows the same question.
	for range 300 {
		q, _ := f.question(t, authn.FormSignup)
		if f.svc.QuestionText(q.ID) != q.Text {
			t.Fatal("the text of a question changed")
		}
	}
	q, a := f.question(t, authn.FormForgotUserID)
	if !strings.HasPrefix(q.Text, "Which word from list \"") {
		t.Errorf("question %q", q.Text)
	}
	// Bound to its form: the answer does not work on another form.
	err := f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, a, meta)
	if err != nil {
		t.Fatalf("right answer refused: %v", err)
	}
	// Single use.
	err = f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, a, meta)
	if vs := violationsOf(t, err); vs[authn.FieldQuestion] != authn.MsgQuestionExpired || !authn.NeedsNewQuestion(milogin.ViolationsOf(err)) {
		t.Errorf("reused question: %v", vs)
	}
	q, a = f.question(t, authn.FormForgotPassword)
	if _, err := f.svc.StartReset(ctx, milogin.ThirdParty, "smithj0001", "", a, meta); !authn.NeedsNewQuestion(milogin.ViolationsOf(err)) {
		t.Errorf("no question ID: %v", err)
	}
	_, err = f.svc.StartReset(ctx, milogin.Citizen, "smithj0001", q.ID, a, meta)
	if !authn.NeedsNewQuestion(milogin.ViolationsOf(err)) {
		t.Errorf("question of another portal accepted: %v", err)
	}
	// Wrong answer: used up, with the message asking for the new one.
	q, a = f.question(t, authn.FormForgotUserID)
	err = f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, a+"x", meta)
	if vs := violationsOf(t, err); vs[authn.FieldQuestion] != authn.MsgQuestionWrong {
		t.Errorf("wrong answer: %v", vs)
	}
	if err := f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, a, meta); err == nil {
		t.Error("a question answered wrongly was accepted afterwards")
	}
	// Empty answer keeps the question; a right answer with another field
	// wrong keeps it too; case, space and quotes do not matter.
	q, a = f.question(t, authn.FormForgotUserID)
	err = f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, " ", meta)
	if vs := violationsOf(t, err); vs[authn.FieldQuestion] != authn.MsgQuestionRequired || authn.NeedsNewQuestion(milogin.ViolationsOf(err)) {
		t.Errorf("empty answer: %v", vs)
	}
	err = f.svc.ForgotUserID(ctx, milogin.ThirdParty, "not-an-email", q.ID, a, meta)
	if vs := violationsOf(t, err); vs["email"] == "" || vs[authn.FieldQuestion] != "" {
		t.Errorf("bad email with right answer: %v", vs)
	}
	if err := f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, ` "`+strings.ToUpper(a)+`." `, meta); err != nil {
		t.Errorf("answer in capitals with quotes refused: %v", err)
	}
	// Expiry: 10 minutes.
	q, a = f.question(t, authn.FormForgotUserID)
	f.clk.Add(authn.QuestionLife)
	err = f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, a, meta)
	if vs := violationsOf(t, err); vs[authn.FieldQuestion] != authn.MsgQuestionExpired {
		t.Errorf("expired question: %v", vs)
	}
}

// signup drives the wizard up to the PIN for a new person.
type signupInput struct {
	profile  authn.ProfileInput
	security authn.SecuritySetupInput
}

func newSignup() signupInput {
	return signupInput{
		profile: authn.ProfileInput{FirstName: "Ann", LastName: "Lee", Email: "ann.lee@example.org", ConfirmEmail: "ANN.LEE@example.org",
			WorkPhone: "517-555-0111"},
		security: authn.SecuritySetupInput{UserID: "leea0000", Password: "Lake#Huron1987", ConfirmPassword: "Lake#Huron1987",
			RecoverByEmail: true, RecoverByQuestions: true,
			QuestionIDs: []string{"first-pet", "birth-city", "first-car", "first-employer"},
			Answers:     []string{"Rex", " Grand   Rapids ", "Ford Focus", "Meijer"}},
	}
}

func (f *fixture) startSignup(t *testing.T, in signupInput) string {
	t.Helper()
	q, a := f.question(t, authn.FormSignup)
	token, err := f.svc.SaveSignupProfile(ctx, milogin.ThirdParty, "", authn.SignupProfileInput{ProfileInput: in.profile, AgreeTerms: true, QuestionID: q.ID, Answer: a}, meta)
	if err != nil {
		t.Fatalf("step 1: %v", err)
	}
	if err := f.svc.SubmitSignup(ctx, milogin.ThirdParty, token, in.security, meta); err != nil {
		t.Fatalf("step 2: %v", err)
	}
	return token
}

func (f *fixture) accountByUserID(t *testing.T, userID string) (*milogin.Account, error) {
	var a *milogin.Account
	err := f.store.Read(ctx, func(tx milogin.Tx) (err error) {
		a, err = tx.Accounts().GetByUserID(ctx, milogin.ThirdParty, userID)
		return err
	})
	return a, err
}

func TestSignupCreatesAccountOnlyAfterPIN(t *testing.T) {
	f := newFixture(t)
	in := newSignup()
	token := f.startSignup(t, in)

	// Nothing exists yet, and the pending sign-up holds no plaintext secret.
	if _, err := f.accountByUserID(t, "leea0000"); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Fatalf("account exists before the PIN: %v", err)
	}
	var fl *milogin.Flow
	_ = f.store.Read(ctx, func(tx milogin.Tx) (err error) {
		fl, err = tx.Flows().Get(ctx, authn.TokenID(token))
		return err
	})
	if fl == nil || fl.ID == token {
		t.Fatal("the flow must be stored under the token's hash")
	}
	// As a word: the state also holds hashes in base64, where three
	// letters such as "rex" turn up by chance (3 runs in 300 failed so).
	for _, secret := range []string{"Lake#Huron1987", "Rex", "grand rapids", "Meijer"} {
		word := regexp.MustCompile(`\b` + regexp.QuoteMeta(strings.ToLower(secret)) + `\b`)
		if word.MatchString(strings.ToLower(string(fl.State))) {
			t.Errorf("pending sign-up holds %q in the clear", secret)
		}
	}
	pin := f.lastPIN(t, "ann.lee@example.org")
	if len(f.messagesTo(t, "ann.lee@example.org")) != 1 {
		t.Fatal("want exactly one PIN email")
	}

	a, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, pin, meta)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	got, err := f.accountByUserID(t, "LEEA0000")
	if err != nil || got.ID != a.ID {
		t.Fatalf("account after confirm: %v", err)
	}
	if !got.RecoverByEmail || got.RecoverByMobile || !got.EmailVerified || got.WorkPhone != "517-555-0111" {
		t.Errorf("account: %+v", got)
	}
	if _, err := f.svc.SignIn(ctx, milogin.ThirdParty, "leea0000", "Lake#Huron1987", meta); err != nil {
		t.Errorf("sign-in with the new account: %v", err)
	}
	answers, _ := f.svc.SecurityAnswers(ctx, a.ID)
	if len(answers) != 4 || answers[1].QuestionID != "birth-city" || !strings.HasPrefix(answers[1].Hash, "$argon2id$") {
		t.Fatalf("answers: %+v", answers)
	}
	if ok, _, _ := f.svc.Hasher.Verify(ctx, answers[1].Hash, "grand rapids"); !ok {
		t.Error("answer not stored as the hash of the normalized answer")
	}
	msgs := f.messagesTo(t, "ann.lee@example.org")
	if msgs[0].Subject != "Account Creation Confirmed" || !strings.Contains(msgs[0].Text, "leea0000") {
		t.Errorf("confirmation email: %q", msgs[0].Subject)
	}
	if n := len(f.audit(t, milogin.EventAccountCreated)); n != 2 { // the fixture's and this one
		t.Errorf("%d account.created events", n)
	}
	// The PIN and the flow are used up.
	if _, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, pin, meta); err == nil {
		t.Error("a second confirmation succeeded")
	}
	var p milogin.PendingSignup
	if _, err := f.svc.FlowState(ctx, milogin.FlowSignup, milogin.ThirdParty, token, &p); err != nil || !p.Created || p.PasswordHash != "" || p.UserID != "leea0000" {
		t.Errorf("finished flow: %+v, %v", p, err)
	}
}

func TestSignupPINByTextWhenMobileChosen(t *testing.T) {
	f := newFixture(t)
	in := newSignup()
	in.security.RecoverByMobile, in.security.Mobile = true, "(517) 555-0199"
	token := f.startSignup(t, in)
	msgs := f.messagesTo(t, "(517) 555-0199")
	if len(msgs) != 1 || msgs[0].Channel != milogin.ChannelSMS {
		t.Fatalf("texts: %+v", msgs)
	}
	if len(f.messagesTo(t, "ann.lee@example.org")) != 0 {
		t.Error("a PIN email was sent as well")
	}
	a, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, f.lastPIN(t, "(517) 555-0199"), meta)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mobile != "(517) 555-0199" || !a.RecoverByMobile || a.EmailVerified {
		t.Errorf("account: %+v", a)
	}
}

func TestSignupPINTriesAndResends(t *testing.T) {
	f := newFixture(t)
	token := f.startSignup(t, newSignup())
	pin := f.lastPIN(t, "ann.lee@example.org")
	confirm := func(p string) error {
		_, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, p, meta)
		return err
	}
	// Malformed PINs are not tries.
	for _, p := range []string{"", "12345", "abcdef"} {
		if vs := violationsOf(t, confirm(p)); vs["pin"] == "" {
			t.Errorf("PIN %q: %v", p, vs)
		}
	}
	for i := 1; i <= 3; i++ {
		vs := violationsOf(t, confirm(wrongPIN(pin)))
		if !strings.HasPrefix(vs["pin"], authn.MsgPINWrong) {
			t.Fatalf("wrong PIN %d: %v", i, vs)
		}
	}
	// RESEND PIN: not within 30 s; then a new PIN; the tries are not reset.
	if err := f.svc.ResendSignupPIN(ctx, milogin.ThirdParty, token, meta); !milogin.IsKind(err, milogin.ERATELIMIT) || milogin.ErrorMessage(err) != authn.MsgPINResendWait {
		t.Fatalf("resend at once: %v", err)
	}
	f.clk.Add(authn.PINResendGap)
	if err := f.svc.ResendSignupPIN(ctx, milogin.ThirdParty, token, meta); err != nil {
		t.Fatal(err)
	}
	newPIN := f.lastPIN(t, "ann.lee@example.org")
	if newPIN != pin && confirm(pin) == nil {
		t.Fatal("the old PIN still works after a resend")
	}
	// That was try 4 (if the PIN changed); one more wrong ends the sign-up.
	if newPIN == pin {
		_ = confirm(wrongPIN(pin))
	}
	err := confirm(wrongPIN(newPIN))
	var se *authn.SignupError
	if !errors.As(err, &se) || se.Step != authn.SignupNewPIN || milogin.ErrorMessage(err) != authn.MsgPINLockedSignup {
		t.Fatalf("fifth wrong PIN: %v", err)
	}
	if err := confirm(newPIN); err == nil {
		t.Fatal("the right PIN worked after five wrong ones")
	}
	if _, err := f.accountByUserID(t, "leea0000"); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Fatal("account created")
	}
}

// Five wrong PINs threw the whole sign-up away and showed an empty Profile
// Information form. What was entered is kept (never the password or the
// answers), the page says what happened, and CREATE ACCOUNT sends a new PIN
// once; five more wrong ones end the sign-up.
func TestSignupFiveWrongPINsKeepWhatWasEntered(t *testing.T) {
	f := newFixture(t)
	in := newSignup()
	token := f.startSignup(t, in)
	pin := f.lastPIN(t, "ann.lee@example.org")
	confirm := func(p string) error {
		_, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, p, meta)
		return err
	}
	for range 4 {
		_ = confirm(wrongPIN(pin))
	}
	var se *authn.SignupError
	if err := confirm(wrongPIN(pin)); !errors.As(err, &se) || se.Step != authn.SignupNewPIN {
		t.Fatalf("fifth wrong PIN: %v", err)
	}
	var p milogin.PendingSignup
	if _, err := f.svc.FlowState(ctx, milogin.FlowSignup, milogin.ThirdParty, token, &p); err != nil {
		t.Fatal(err)
	}
	if p.FirstName != "Ann" || p.Email != "ann.lee@example.org" || p.UserID != "leea0000" || !p.RecoverByQuestions || len(p.QuestionIDs) != 4 {
		t.Errorf("what was entered is lost: %+v", p)
	}
	if p.Submitted || p.PasswordHash != "" || len(p.Answers) != 0 || p.PINCodeID != "" {
		t.Errorf("secrets or the used-up PIN kept: %+v", p)
	}
	// CREATE ACCOUNT again (the password and answers retyped): a new PIN.
	if err := f.svc.SubmitSignup(ctx, milogin.ThirdParty, token, in.security, meta); err != nil {
		t.Fatalf("CREATE ACCOUNT after five wrong PINs: %v", err)
	}
	pin2 := f.lastPIN(t, "ann.lee@example.org")
	for range 4 {
		_ = confirm(wrongPIN(pin2))
	}
	if err := confirm(wrongPIN(pin2)); !errors.As(err, &se) || se.Step != authn.SignupStartOver || milogin.ErrorMessage(err) != authn.MsgPINLocked {
		t.Fatalf("fifth wrong PIN of the second round: %v", err)
	}
	if err := f.svc.SubmitSignup(ctx, milogin.ThirdParty, token, in.security, meta); err == nil {
		t.Fatal("a third PIN was offered")
	}
}

// The same for Forgot Password: five wrong PINs keep the user ID and go
// back to 2 Select Options for a new PIN, once.
func TestResetFiveWrongPINsOfferANewPIN(t *testing.T) {
	f := newFixture(t)
	token, err := f.startReset(t, "smithj0001")
	if err != nil {
		t.Fatal(err)
	}
	round := func() error {
		if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverEmail, meta); err != nil {
			t.Fatal(err)
		}
		pin := f.lastPIN(t, "john.smith@example.org")
		for range 4 {
			_ = f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, wrongPIN(pin), meta)
		}
		return f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, wrongPIN(pin), meta)
	}
	if err := round(); !milogin.IsKind(err, milogin.ELOCKED) || milogin.ErrorMessage(err) != authn.MsgPINLockedReset {
		t.Fatalf("fifth wrong PIN: %v", err)
	}
	if r := f.resetState(t, token); r.UserID != "smithj0001" || r.Method != "" || r.PINCodeID != "" || r.Verified {
		t.Fatalf("kept reset: %+v", r)
	}
	if err := round(); !milogin.IsKind(err, milogin.ELOCKED) || milogin.ErrorMessage(err) != authn.MsgPINLocked {
		t.Fatalf("fifth wrong PIN of the second round: %v", err)
	}
	if _, err := f.svc.FlowState(ctx, milogin.FlowResetPassword, milogin.ThirdParty, token, &milogin.PasswordReset{}); err == nil {
		t.Error("the reset survived a second round of wrong PINs")
	}
}

func TestSignupPINExpiresAndSendsAreLimited(t *testing.T) {
	f := newFixture(t)
	token := f.startSignup(t, newSignup())
	pin := f.lastPIN(t, "ann.lee@example.org")
	f.clk.Add(authn.PINLife)
	_, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, pin, meta)
	if !milogin.IsKind(err, milogin.EEXPIRED) || milogin.ErrorMessage(err) != authn.MsgPINExpired {
		t.Fatalf("expired PIN: %v", err)
	}
	for i := 2; i <= authn.PINMaxSends; i++ {
		f.clk.Add(authn.PINResendGap)
		if err := f.svc.ResendSignupPIN(ctx, milogin.ThirdParty, token, meta); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	f.clk.Add(authn.PINResendGap)
	if err := f.svc.ResendSignupPIN(ctx, milogin.ThirdParty, token, meta); milogin.ErrorMessage(err) != authn.MsgPINSendLimit {
		t.Fatalf("sixth send: %v", err)
	}
	if _, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, f.lastPIN(t, "ann.lee@example.org"), meta); err != nil {
		t.Fatalf("latest PIN: %v", err)
	}
}

func TestSignupRules(t *testing.T) {
	f := newFixture(t)
	q, a := f.question(t, authn.FormSignup)
	_, err := f.svc.SaveSignupProfile(ctx, milogin.ThirdParty, "", authn.SignupProfileInput{
		ProfileInput: authn.ProfileInput{FirstName: "J0hn", MiddleInitial: "QR", Email: "john.smith@example.org", ConfirmEmail: "other@example.org", Mobile: "12"},
		QuestionID:   q.ID, Answer: a,
	}, meta)
	vs := violationsOf(t, err)
	want := map[string]string{
		"first_name":     "First Name can contain letters, spaces, hyphens (-), apostrophes (') and periods (.) only.",
		"middle_initial": "Middle Initial is one letter.",
		"last_name":      "Last Name is required.",
		"email":          "", // a registered address is not refused here: that would tell who has an account
		"confirm_email":  "Email Address and Confirm Email Address do not match.",
		"work_phone":     "Work Phone Number is required.",
		"mobile":         "Mobile Number must be a 10-digit phone number, such as 517-555-0100.",
		"agree_terms":    authn.MsgTerms,
	}
	for k, w := range want {
		if vs[k] != w {
			t.Errorf("%s: %q, want %q", k, vs[k], w)
		}
	}
	if _, ok := vs[authn.FieldQuestion]; ok {
		t.Errorf("right answer reported: %v", vs)
	}
	// The question was kept (the answer was right): it works once the rest is fixed.
	in := newSignup()
	token, err := f.svc.SaveSignupProfile(ctx, milogin.ThirdParty, "", authn.SignupProfileInput{ProfileInput: in.profile, AgreeTerms: true, QuestionID: q.ID, Answer: a}, meta)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.SuggestUserID(ctx, milogin.ThirdParty, "Ann", "Lee"); got != "leea0000" {
		t.Errorf("suggestion %q", got)
	}
	if got, _ := f.svc.SuggestUserID(ctx, milogin.ThirdParty, "John", "Smith"); got != "smithj0000" {
		t.Errorf("suggestion for Smith %q (smithj0001 is taken)", got)
	}
	if got, _ := f.svc.SuggestUserID(ctx, milogin.ThirdParty, "John", "Smith"); got != "smithj0000" {
		t.Errorf("suggestion %q", got)
	}
	for _, n := range [][3]string{{"Zoe", "Nguyễn", "nguyenz0000"}, {"José", "Peña-Álvarez", "penaalvarezj0000"}} {
		if got, _ := f.svc.SuggestUserID(ctx, milogin.ThirdParty, n[0], n[1]); got != n[2] {
			t.Errorf("suggestion for %s %s: %q, want %q (accents folded, not dropped)", n[0], n[1], got, n[2])
		}
	}
	bad := authn.SecuritySetupInput{UserID: "smith j", Password: "ann", ConfirmPassword: "x",
		RecoverByMobile: true, RecoverByQuestions: true,
		QuestionIDs: []string{"", "first-pet", "first-pet", "nope"}, Answers: []string{"a", "", "Rex", "ok"}}
	vs = violationsOf(t, f.svc.SubmitSignup(ctx, milogin.ThirdParty, token, bad, meta))
	for _, field := range []string{"user_id", "password", "confirm_password", "mobile", "question1", "question3", "question4", "answer1", "answer2"} {
		if vs[field] == "" {
			t.Errorf("no message for %s: %v", field, vs)
		}
	}
	if !strings.Contains(vs["user_id"], "User ID cannot contain space.") || !strings.Contains(vs["password"], "at least 8 characters") {
		t.Errorf("messages: %v", vs)
	}
	// BACK keeps what was typed, not the secrets.
	var p milogin.PendingSignup
	if _, err := f.svc.FlowState(ctx, milogin.FlowSignup, milogin.ThirdParty, token, &p); err != nil || p.UserID != "smith j" || !p.RecoverByMobile || p.QuestionIDs[1] != "first-pet" {
		t.Errorf("kept: %+v %v", p, err)
	}
	none := authn.SecuritySetupInput{UserID: "smithj0001", Password: "Lake#Huron1987", ConfirmPassword: "Lake#Huron1987"}
	vs = violationsOf(t, f.svc.SubmitSignup(ctx, milogin.ThirdParty, token, none, meta))
	if vs["options"] != authn.MsgSelectOption || !strings.Contains(vs["user_id"], "smithj9999") {
		t.Errorf("no option / wrong stem: %v", vs)
	}
	// The user ID is checked for uniqueness.
	taken := newSignup().security
	taken.UserID = "smithj0001"
	_, err = f.svc.SaveSignupProfile(ctx, milogin.ThirdParty, token, authn.SignupProfileInput{ProfileInput: authn.ProfileInput{
		FirstName: "John", LastName: "Smith", Email: "js2@example.org", ConfirmEmail: "js2@example.org", WorkPhone: "5175550100"}, AgreeTerms: true}, meta)
	if err != nil {
		t.Fatalf("BACK to step 1 and NEXT (no new question needed): %v", err)
	}
	vs = violationsOf(t, f.svc.SubmitSignup(ctx, milogin.ThirdParty, token, taken, meta))
	if vs["user_id"] != authn.MsgUserIDTaken {
		t.Errorf("taken user ID: %v", vs)
	}
	// Password based on the name / user ID, common.
	pw := newSignup().security
	pw.UserID, pw.Password, pw.ConfirmPassword = "smithj0002", "Smithj0002!", "Smithj0002!"
	vs = violationsOf(t, f.svc.SubmitSignup(ctx, milogin.ThirdParty, token, pw, meta))
	if !strings.Contains(vs["password"], "User ID") {
		t.Errorf("password based on user ID: %v", vs)
	}
	// Sign-up is for MILogin for Third Party only.
	if _, err := f.svc.SaveSignupProfile(ctx, milogin.Citizen, "", authn.SignupProfileInput{}, meta); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Errorf("citizen sign-up: %v", err)
	}
}

// TestSignupIPLimit: both wizards' step 1 share the IP address's hourly
// count of new sign-ups; past the limit a new one is refused, while coming
// BACK to a live sign-up and another address still work.
func TestSignupIPLimit(t *testing.T) {
	const limit = 30 // signupIPLimit
	for _, tc := range []struct {
		portal milogin.PortalID
		save   func(t *testing.T, f *fixture, token string, n int, m authn.Meta) (string, error)
	}{
		{milogin.ThirdParty, func(t *testing.T, f *fixture, token string, n int, m authn.Meta) (string, error) {
			in := authn.SignupProfileInput{ProfileInput: newSignup().profile, AgreeTerms: true}
			if token == "" {
				q, a := f.question(t, authn.FormSignup)
				in.QuestionID, in.Answer = q.ID, a
			}
			in.Email = fmt.Sprintf("ann.lee%d@example.org", n)
			in.ConfirmEmail = in.Email
			return f.svc.SaveSignupProfile(ctx, milogin.ThirdParty, token, in, m)
		}},
		{milogin.Citizen, func(t *testing.T, f *fixture, token string, n int, m authn.Meta) (string, error) {
			email := fmt.Sprintf("mary.smith%d@example.org", n)
			return f.svc.SaveCitizenProfile(ctx, token, authn.CitizenProfileInput{
				FirstName: "Mary", LastName: "Smith", Email: email, ConfirmEmail: email}, m)
		}},
	} {
		t.Run(string(tc.portal), func(t *testing.T) {
			f := newFixture(t)
			var first string
			for n := range limit {
				token, err := tc.save(t, f, "", n, meta)
				if err != nil {
					t.Fatalf("sign-up %d: %v", n+1, err)
				}
				if n == 0 {
					first = token
				}
			}
			if _, err := tc.save(t, f, "", limit, meta); !milogin.IsKind(err, milogin.ERATELIMIT) || milogin.ErrorMessage(err) != authn.MsgTooManySignups {
				t.Fatalf("sign-up %d: %v, want %q", limit+1, err, authn.MsgTooManySignups)
			}
			if got, err := tc.save(t, f, first, 0, meta); err != nil || got != first {
				t.Errorf("BACK to a live sign-up past the limit: %q, %v; want %q", got, err, first)
			}
			other := meta
			other.IP = "192.0.2.11"
			if _, err := tc.save(t, f, "", limit, other); err != nil {
				t.Errorf("another address: %v", err)
			}
		})
	}
}

func TestSignupEmailTakenAtConfirmation(t *testing.T) {
	f := newFixture(t)
	in := newSignup()
	token := f.startSignup(t, in)
	// Someone else signs up with the same email first.
	other := newSignup()
	other.security.UserID = "leea0001"
	_, err := f.svc.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "leea0001", FirstName: "Ann", LastName: "Lee",
		Email: "Ann.Lee@example.org", Password: goodPassword}, "test", meta)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, f.lastPIN(t, "ann.lee@example.org"), meta)
	if err != nil || a != nil {
		t.Fatalf("email taken meanwhile: %v, %v; want no account and no error", a, err)
	}
	if _, err := f.accountByUserID(t, "leea0000"); !milogin.IsKind(err, milogin.ENOTFOUND) {
		t.Errorf("a second account for one email: %v", err)
	}
	if ms := f.messagesTo(t, "Ann.Lee@example.org"); len(ms) != 1 || !strings.Contains(ms[0].Text, "leea0001") {
		t.Errorf("the holder was not told the account's User ID: %+v", ms)
	}
}

// Sign-up told whether an email address was registered (40 probes from one
// address, no limit): the profile step refused it. Now any address goes on
// to its PIN, and the confirmation says the same in both cases; the holder
// of a registered address is emailed that account's User ID instead.
func TestSignupDoesNotRevealRegisteredEmail(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		finish := func(email, userID string) (string, *milogin.Account) {
			in := newSignup()
			in.profile.Email, in.profile.ConfirmEmail = email, email
			in.security.UserID = userID
			token := f.startSignup(t, in) // the profile step accepted the address
			a, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, f.lastPIN(t, email), meta)
			if err != nil {
				t.Fatalf("%s: %v", email, err)
			}
			var p milogin.PendingSignup
			if _, err := f.svc.FlowState(ctx, milogin.FlowSignup, milogin.ThirdParty, token, &p); err != nil || !p.Created {
				t.Fatalf("%s: finished flow %+v, %v", email, p, err)
			}
			return p.Email, a
		}
		newEmail, created := finish("ann.lee@example.org", "leea0000")
		takenEmail, none := finish("john.smith@example.org", "leea0009")
		if created == nil || none != nil {
			t.Fatalf("created %v, taken %v", created, none)
		}
		// The confirmation shows the same fields in both cases.
		if milogin.MaskEmail(newEmail) == "" || milogin.MaskEmail(takenEmail) == "" {
			t.Error("no address for the confirmation")
		}
		if _, err := f.accountByUserID(t, "leea0009"); !milogin.IsKind(err, milogin.ENOTFOUND) {
			t.Errorf("second account for a registered email: %v", err)
		}
		ms := f.messagesTo(t, "john.smith@example.org")
		if len(ms) == 0 || ms[0].Subject != "Regarding your MILogin user account" || !strings.Contains(ms[0].Text, "smithj0001") ||
			!strings.Contains(ms[0].Text, "Forgot your password?") {
			t.Errorf("the holder's email: %+v", ms)
		}
		if n := len(f.audit(t, milogin.EventSignupEmailTaken)); n != 1 {
			t.Errorf("%d %s events", n, milogin.EventSignupEmailTaken)
		}
	})
}

func TestForgotUserIDAnswersAlike(t *testing.T) {
	f := newFixture(t)
	q, a := f.question(t, authn.FormForgotUserID)
	if err := f.svc.ForgotUserID(ctx, milogin.ThirdParty, " John.Smith@EXAMPLE.org ", q.ID, a, meta); err != nil {
		t.Fatal(err)
	}
	q, a = f.question(t, authn.FormForgotUserID)
	if err := f.svc.ForgotUserID(ctx, milogin.ThirdParty, "nobody@example.org", q.ID, a, meta); err != nil {
		t.Fatal(err)
	}
	msgs := f.outbox(t)
	// The unknown address got the same message composed and queued as a
	// decoy, which no one receives.
	if len(msgs) != 2 || msgs[1].To != "john.smith@example.org" || !strings.Contains(msgs[1].Text, "\n\nsmithj0001\n\n") {
		t.Fatalf("outbox: %+v", msgs)
	}
	if msgs[0].Channel != milogin.ChannelDecoy || msgs[0].To != milogin.DecoyTo || msgs[0].Subject != msgs[1].Subject {
		t.Errorf("decoy: %+v", msgs[0])
	}
	if n := len(f.audit(t, milogin.EventUserIDReminder)); n != 2 {
		t.Errorf("%d audit events", n)
	}
}

// startReset runs step 1 of Forgot Password.
func (f *fixture) startReset(t *testing.T, userID string) (string, error) {
	t.Helper()
	q, a := f.question(t, authn.FormForgotPassword)
	return f.svc.StartReset(ctx, milogin.ThirdParty, userID, q.ID, a, meta)
}

func (f *fixture) resetState(t *testing.T, token string) milogin.PasswordReset {
	t.Helper()
	var r milogin.PasswordReset
	if _, err := f.svc.FlowState(ctx, milogin.FlowResetPassword, milogin.ThirdParty, token, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResetByEmailPINClearsLockAndEndsSessions(t *testing.T) {
	f := newFixture(t)
	res, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		f.signIn(t, "Wrong!Password1")
	}
	if !f.account(t).Locked(f.clk.Now()) {
		t.Fatal("not locked")
	}
	token, err := f.startReset(t, "SMITHJ0001")
	if err != nil {
		t.Fatal(err)
	}
	r := f.resetState(t, token)
	if len(r.Options) != 1 || r.Options[0] != milogin.RecoverEmail {
		t.Fatalf("options %v", r.Options)
	}
	if _, err := f.svc.CompleteReset(ctx, milogin.ThirdParty, token, "Lake#Huron1987", "Lake#Huron1987", meta); err == nil {
		t.Fatal("reset without verification")
	}
	if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverText, meta); violationsOf(t, err)["method"] != authn.MsgSelectMethod {
		t.Fatalf("option the account lacks: %v", err)
	}
	if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverEmail, meta); err != nil {
		t.Fatal(err)
	}
	pin := f.lastPIN(t, "john.smith@example.org")
	if err := f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, wrongPIN(pin), meta); !strings.HasPrefix(violationsOf(t, err)["pin"], authn.MsgPINWrong) {
		t.Fatalf("wrong PIN: %v", err)
	}
	if err := f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, pin, meta); err != nil {
		t.Fatal(err)
	}
	// The history rule holds: the current password is one of the last 3.
	_, err = f.svc.CompleteReset(ctx, milogin.ThirdParty, token, goodPassword, goodPassword, meta)
	if vs := violationsOf(t, err); !strings.Contains(vs["new_password"], "last 3") {
		t.Fatalf("history: %v", vs)
	}
	if _, err := f.svc.CompleteReset(ctx, milogin.ThirdParty, token, "Lake#Huron1987", "Lake#Huron1987", meta); err != nil {
		t.Fatal(err)
	}
	if f.account(t).Locked(f.clk.Now()) {
		t.Error("still locked after the reset")
	}
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, res.Token); err == nil {
		t.Error("the old session survived the reset")
	}
	if _, err := f.signIn(t, "Lake#Huron1987"); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	if msgs := f.messagesTo(t, "john.smith@example.org"); !strings.Contains(msgs[0].Text, "has been reset") {
		t.Errorf("no notice: %q", msgs[0].Text)
	}
	if n := len(f.audit(t, milogin.EventPasswordReset)); n != 1 {
		t.Errorf("%d password.reset events", n)
	}
	if _, err := f.svc.CompleteReset(ctx, milogin.ThirdParty, token, "Other#Pass2025", "Other#Pass2025", meta); err == nil {
		t.Error("the flow was usable twice")
	}
}

func (f *fixture) setOptions(t *testing.T, mobile bool, questions bool) {
	t.Helper()
	err := f.store.Write(ctx, func(tx milogin.Tx) error {
		_, err := tx.Accounts().Update(ctx, f.acct.ID, func(a *milogin.Account) error {
			a.Mobile, a.MobileVerified, a.RecoverByMobile = "517-555-0142", true, mobile
			return nil
		})
		if err != nil || !questions {
			return err
		}
		hs, err := f.hashes(t, "Rex", "Lansing", "Ford", "Meijer")
		if err != nil {
			return err
		}
		return tx.SecurityAnswers().Put(ctx, f.acct.ID, []milogin.SecurityAnswer{
			{QuestionID: "first-pet", Hash: hs[0]}, {QuestionID: "birth-city", Hash: hs[1]},
			{QuestionID: "first-car", Hash: hs[2]}, {QuestionID: "first-employer", Hash: hs[3]}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) hashes(t *testing.T, answers ...string) ([]string, error) {
	var out []string
	for _, a := range answers {
		h, err := f.svc.Hasher.Hash(ctx, milogin.NormalizeAnswer(a))
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func TestResetByTextAndByQuestions(t *testing.T) {
	f := newFixture(t)
	f.setOptions(t, true, true)
	token, err := f.startReset(t, "smithj0001")
	if err != nil {
		t.Fatal(err)
	}
	r := f.resetState(t, token)
	if len(r.Options) != 3 || r.QuestionIDs[3] != "first-employer" {
		t.Fatalf("options %v %v", r.Options, r.QuestionIDs)
	}
	if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverText, meta); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, f.lastPIN(t, "517-555-0142"), meta); err != nil {
		t.Fatalf("text PIN: %v", err)
	}
	if !f.resetState(t, token).Verified {
		t.Fatal("not verified")
	}

	token, _ = f.startReset(t, "smithj0001")
	if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverQuestions, meta); err != nil {
		t.Fatal(err)
	}
	if vs := violationsOf(t, f.svc.VerifyResetAnswers(ctx, milogin.ThirdParty, token, []string{"rex", "", "", ""}, meta)); vs["answer2"] == "" {
		t.Errorf("missing answers: %v", vs)
	}
	for i := 1; i <= 4; i++ {
		err := f.svc.VerifyResetAnswers(ctx, milogin.ThirdParty, token, []string{"rex", "lansing", "ford", "walmart"}, meta)
		if milogin.ErrorMessage(err) != authn.MsgAnswersWrong {
			t.Fatalf("wrong set %d: %v", i, err)
		}
	}
	if err := f.svc.VerifyResetAnswers(ctx, milogin.ThirdParty, token, []string{" REX", "Lansing ", "ford", "MEIJER"}, meta); err != nil {
		t.Fatalf("right answers on the fifth try: %v", err)
	}
	if _, err := f.svc.CompleteReset(ctx, milogin.ThirdParty, token, "Lake#Huron1987", "Lake#Huron1987", meta); err != nil {
		t.Fatal(err)
	}

	token, _ = f.startReset(t, "smithj0001")
	_ = f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverQuestions, meta)
	for range 4 {
		_ = f.svc.VerifyResetAnswers(ctx, milogin.ThirdParty, token, []string{"a1", "a2", "a3", "a4"}, meta)
	}
	err = f.svc.VerifyResetAnswers(ctx, milogin.ThirdParty, token, []string{"a1", "a2", "a3", "a4"}, meta)
	if !milogin.IsKind(err, milogin.ELOCKED) || milogin.ErrorMessage(err) != authn.MsgAnswersLocked {
		t.Fatalf("fifth wrong set: %v", err)
	}
	if err := f.svc.VerifyResetAnswers(ctx, milogin.ThirdParty, token, []string{"rex", "lansing", "ford", "meijer"}, meta); err == nil {
		t.Fatal("flow usable after five wrong sets")
	}
}

func TestResetPINTriesEndTheFlow(t *testing.T) {
	f := newFixture(t)
	token, _ := f.startReset(t, "smithj0001")
	_ = f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverEmail, meta)
	pin := f.lastPIN(t, "john.smith@example.org")
	for range 2 {
		_ = f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, wrongPIN(pin), meta)
	}
	f.clk.Add(authn.PINResendGap)
	if err := f.svc.ResendResetPIN(ctx, milogin.ThirdParty, token, meta); err != nil {
		t.Fatal(err)
	}
	pin = f.lastPIN(t, "john.smith@example.org")
	for range 2 {
		_ = f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, wrongPIN(pin), meta)
	}
	err := f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, wrongPIN(pin), meta)
	if !milogin.IsKind(err, milogin.ELOCKED) {
		t.Fatalf("fifth wrong PIN across a resend: %v", err)
	}
	if err := f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, pin, meta); err == nil {
		t.Fatal("right PIN accepted after five wrong ones")
	}
}

func TestResetUnknownUserIDLooksReal(t *testing.T) {
	f := newFixture(t)
	token, err := f.startReset(t, "nobody0001")
	if err != nil {
		t.Fatalf("unknown user ID: %v", err)
	}
	r := f.resetState(t, token)
	if len(r.Options) == 0 || r.Options[0] != milogin.RecoverEmail {
		t.Fatalf("decoy options %v", r.Options)
	}
	token2, _ := f.startReset(t, "NOBODY0001")
	if r2 := f.resetState(t, token2); len(r2.Options) != len(r.Options) || len(r2.QuestionIDs) != len(r.QuestionIDs) {
		t.Error("decoy options differ between two tries of one user ID")
	}
	if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverEmail, meta); err != nil {
		t.Fatalf("choose: %v", err)
	}
	if ms := f.outbox(t); len(ms) != 1 || ms[0].Channel != milogin.ChannelDecoy || ms[0].To != milogin.DecoyTo {
		t.Fatalf("an unknown user ID's PIN must be queued as a decoy only: %+v", ms)
	}
	err = f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, "123456", meta)
	if !strings.HasPrefix(violationsOf(t, err)["pin"], authn.MsgPINWrong) {
		t.Fatalf("decoy PIN: %v", err)
	}
	// Many user IDs: each gets Email, some Text and Security Questions too.
	kinds := map[int]bool{}
	for i := range 40 {
		tok, err := f.startReset(t, "ghost"+string(rune('a'+i%26))+string(rune('a'+i/26))+"0001")
		if err != nil {
			t.Fatal(err)
		}
		kinds[len(f.resetState(t, tok).Options)] = true
	}
	if len(kinds) < 2 {
		t.Errorf("decoy options never vary: %v", kinds)
	}
}

func TestResetProfileIncomplete(t *testing.T) {
	f := newFixture(t)
	f.setOptions(t, true, false)
	_, err := f.svc.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "smithj0002", FirstName: "John", LastName: "Smith",
		Email: "other.john@example.org", Mobile: "5175550142", MobileVerified: true, Password: goodPassword}, "test", meta)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.startReset(t, "smithj0001")
	if !milogin.IsKind(err, milogin.EFORBIDDEN) || milogin.ErrorMessage(err) != authn.MsgProfileIncomplete {
		t.Fatalf("shared mobile: %v", err)
	}
	if authn.MsgProfileIncomplete != "Password cannot be changed since your profile is incomplete. Please use Help Page link to contact the helpdesk for further assistance." {
		t.Error("the guide's wording changed")
	}
}

func TestResetRequestsPerUserIDAreLimited(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"smithj0001", "nobody0001"} {
		var last error
		for range 11 {
			_, last = f.startReset(t, id)
		}
		if !milogin.IsKind(last, milogin.ERATELIMIT) {
			t.Errorf("%s: eleventh reset in an hour: %v", id, last)
		}
	}
	f.clk.Add(time.Hour)
	if _, err := f.startReset(t, "smithj0001"); err != nil {
		t.Errorf("after an hour: %v", err)
	}
}

func TestUpdateProfileEmailNeedsPINAtNewAddress(t *testing.T) {
	f := newFixture(t)
	res, _ := f.signIn(t, goodPassword)
	in := authn.ProfileUpdateInput{ProfileInput: authn.ProfileInput{FirstName: "Johnny", LastName: "Smith", Email: "j.smith@work.example.org",
		ConfirmEmail: "j.smith@work.example.org", WorkPhone: "517-555-0100"}}
	vs := violationsOf(t, func() error { _, err := f.svc.UpdateProfile(ctx, milogin.ThirdParty, res.Token, in, meta); return err }())
	if vs["current_password"] != authn.MsgCurrentPassword {
		t.Fatalf("no password: %v", vs)
	}
	in.CurrentPassword = "Wrong!Password1"
	_, err := f.svc.UpdateProfile(ctx, milogin.ThirdParty, res.Token, in, meta)
	if violationsOf(t, err)["current_password"] != authn.MsgCurrentPasswordBad {
		t.Fatalf("wrong password: %v", err)
	}
	in.CurrentPassword = goodPassword
	out, err := f.svc.UpdateProfile(ctx, milogin.ThirdParty, res.Token, in, meta)
	if err != nil || out.FlowToken == "" {
		t.Fatalf("update: %+v %v", out, err)
	}
	if a := f.account(t); a.Email != "john.smith@example.org" || a.FirstName != "John" {
		t.Fatal("changed before the PIN")
	}
	pin := f.lastPIN(t, "j.smith@work.example.org")
	if err := f.svc.ConfirmEmailChange(ctx, milogin.ThirdParty, res.Token, out.FlowToken, wrongPIN(pin), meta); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	if err := f.svc.ConfirmEmailChange(ctx, milogin.ThirdParty, res.Token, out.FlowToken, pin, meta); err != nil {
		t.Fatal(err)
	}
	if a := f.account(t); a.Email != "j.smith@work.example.org" || a.FirstName != "Johnny" || !a.EmailVerified {
		t.Fatalf("after the PIN: %+v", a)
	}
	if msgs := f.messagesTo(t, "john.smith@example.org"); len(msgs) == 0 || !strings.Contains(msgs[0].Text, "has been changed to") {
		t.Error("the old address was not told")
	}
	// An address in use is refused with the FAQ's message.
	_, err = f.svc.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: "doej0001", FirstName: "Jane", LastName: "Doe",
		Email: "jane.doe@example.org", Password: goodPassword}, "test", meta)
	if err != nil {
		t.Fatal(err)
	}
	in.Email, in.ConfirmEmail = "Jane.Doe@example.org", "Jane.Doe@example.org"
	_, err = f.svc.UpdateProfile(ctx, milogin.ThirdParty, res.Token, in, meta)
	if violationsOf(t, err)["email"] != authn.MsgEmailTaken {
		t.Fatalf("email in use: %v", err)
	}
	// Names alone save at once, without a password.
	in = authn.ProfileUpdateInput{ProfileInput: authn.ProfileInput{FirstName: "John", LastName: "Smith", Suffix: "Jr.", Email: "j.smith@work.example.org",
		ConfirmEmail: "j.smith@work.example.org", WorkPhone: "517-555-0100"}}
	if out, err := f.svc.UpdateProfile(ctx, milogin.ThirdParty, res.Token, in, meta); err != nil || !out.Changed || out.FlowToken != "" {
		t.Fatalf("names: %+v %v", out, err)
	}
	if a := f.account(t); a.Suffix != "Jr." || a.DisplayName() != "John Smith Jr." {
		t.Errorf("suffix: %+v", a)
	}
}

func TestSecurityOptionsByPasswordOrPIN(t *testing.T) {
	f := newFixture(t)
	res, _ := f.signIn(t, goodPassword)
	in := authn.SecurityOptionsInput{SecuritySetupInput: authn.SecuritySetupInput{
		RecoverByEmail: true, RecoverByMobile: true, Mobile: "517-555-0177", RecoverByQuestions: true,
		QuestionIDs: []string{"first-pet", "birth-city", "first-car", "first-employer"},
		Answers:     []string{"Rex", "Lansing", "Ford", "Meijer"},
	}, CurrentPassword: goodPassword}
	// A new mobile number for Mobile (Text/SMS): the password, then a PIN
	// sent to the number proves it.
	tok, err := f.svc.UpdateSecurityOptions(ctx, milogin.ThirdParty, res.Token, in, meta)
	if err != nil || tok == "" {
		t.Fatalf("with password and a new mobile: %q %v", tok, err)
	}
	if a := f.account(t); a.RecoverByMobile || a.Mobile != "" {
		t.Fatalf("saved before the number's PIN: %+v", a)
	}
	if err := f.svc.ConfirmSecurityOptions(ctx, milogin.ThirdParty, res.Token, tok, f.lastPIN(t, "517-555-0177"), meta); err != nil {
		t.Fatal(err)
	}
	a := f.account(t)
	if !a.RecoverByMobile || a.Mobile != "517-555-0177" || !a.MobileVerified {
		t.Fatalf("account: %+v", a)
	}
	if ans, _ := f.svc.SecurityAnswers(ctx, a.ID); len(ans) != 4 {
		t.Fatal("answers not saved")
	}
	// Without the password: a PIN to the email confirms; answers left blank are kept.
	in = authn.SecurityOptionsInput{SecuritySetupInput: authn.SecuritySetupInput{
		RecoverByEmail: true, RecoverByQuestions: true,
		QuestionIDs: []string{"first-pet", "birth-city", "first-car", "first-employer"},
	}}
	tok, err = f.svc.UpdateSecurityOptions(ctx, milogin.ThirdParty, res.Token, in, meta)
	if err != nil || tok == "" {
		t.Fatalf("without password: %q %v", tok, err)
	}
	if f.account(t).RecoverByMobile == false {
		t.Fatal("changed before the PIN")
	}
	if err := f.svc.ConfirmSecurityOptions(ctx, milogin.ThirdParty, res.Token, tok, f.lastPIN(t, "john.smith@example.org"), meta); err != nil {
		t.Fatal(err)
	}
	if f.account(t).RecoverByMobile {
		t.Error("mobile option still on")
	}
	ans, _ := f.svc.SecurityAnswers(ctx, a.ID)
	if ok, _, _ := f.svc.Hasher.Verify(ctx, ans[0].Hash, "rex"); len(ans) != 4 || !ok {
		t.Error("answers not kept")
	}
	// Changing a question needs its answers again.
	in.QuestionIDs[0] = "first-concert"
	_, err = f.svc.UpdateSecurityOptions(ctx, milogin.ThirdParty, res.Token, in, meta)
	if vs := violationsOf(t, err); vs["answer1"] == "" {
		t.Errorf("changed question without answers: %v", vs)
	}
	if n := len(f.audit(t, milogin.EventSecurityOptionsChanged)); n != 2 {
		t.Errorf("%d audit events", n)
	}
}
