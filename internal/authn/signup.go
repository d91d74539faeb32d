package authn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"milogin"
)

// Sign-up: 1 Profile Information → 2 Security Setup →
// 3 Confirmation, with a PIN before creation. Everything typed lives in a
// server-side flow (milogin.PendingSignup) until the PIN is confirmed; only
// then, in one transaction, is the account written with its security
// answers, its audit event and the "Account Creation Confirmed" email.

// Messages of the sign-up pages.
const (
	// MsgEmailInUse is the FAQ's rule, shown when a sign-up names an email
	// address another account of the portal has.
	MsgEmailInUse        = "In order to create a MILogin account, you will need to provide a unique email address that is not currently being used by another MILogin account."
	MsgUserIDTaken       = "That User ID is already taken. Please choose another."
	MsgSignupUnavailable = "Sign up is not available here. Please contact the help desk."
	MsgTooManySignups    = "Too many sign-ups were started from your network. Please try again later."
	MsgTerms             = "Please agree to the terms & conditions to continue."
	MsgSelectOption      = "Select at least one security option."
	MsgMobileForOption   = "Mobile Number is required for the Mobile (Text/SMS) option."
)

// signupIPLimit bounds the sign-ups one IP address may start per hour.
const signupIPLimit = 30

// SignupEnabled reports whether portal offers self-service sign-up: MILogin
// for Third Party with this wizard, the citizen portal with identity
// verification (citizen.go). State employees are provisioned.
func SignupEnabled(portal milogin.PortalID) bool {
	return portal == milogin.ThirdParty || portal == milogin.Citizen
}

// ProfileInput is Profile Information as typed (sign-up step 1, Update
// Profile).
type ProfileInput struct {
	FirstName     string
	MiddleInitial string
	LastName      string
	Suffix        string
	Email         string
	ConfirmEmail  string
	WorkPhone     string
	Mobile        string
}

func (in *ProfileInput) trim() {
	for _, p := range []*string{&in.FirstName, &in.MiddleInitial, &in.LastName, &in.Suffix, &in.Email, &in.ConfirmEmail, &in.WorkPhone, &in.Mobile} {
		*p = strings.TrimSpace(*p)
	}
}

// validName accepts letters (any script), spaces, hyphens, apostrophes and
// periods, with at least one letter.
func validName(s string) bool {
	letter := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case r == ' ' || r == '-' || r == '\'' || r == '’' || r == '.':
		default:
			return false
		}
	}
	return letter
}

// validateProfile applies the Profile Information rules, one violation per
// broken rule, named as the fields are labelled.
// The longest names the profile takes, in characters; the pages set them
// as maxlength and say them (FieldMaxLength).
const (
	MaxNameLength   = 64
	MaxSuffixLength = 10
)

// FieldMaxLength is the longest value the profile field takes, 0 when the
// field has no rule of its own here.
func FieldMaxLength(field string) int {
	switch field {
	case "first_name", "last_name":
		return MaxNameLength
	case "suffix":
		return MaxSuffixLength
	case "middle_initial":
		return 1
	}
	return 0
}

// The citizen portal asks for no work phone (its one phone number is the
// mobile, and optional).
func validateProfile(in *ProfileInput, portal milogin.PortalID) []milogin.Violation {
	in.trim()
	var vs []milogin.Violation
	add := func(field, rule, msg string) {
		vs = append(vs, milogin.Violation{Field: field, Rule: rule, Message: msg})
	}
	name := func(field, label, v string, required bool, max int) {
		switch {
		case v == "" && required:
			add(field, milogin.RuleRequired, label+" is required.")
		case v == "":
		case utf8.RuneCountInString(v) > max:
			add(field, "length", fmt.Sprintf("%s must be at most %d characters.", label, max))
		case !validName(v):
			add(field, "name", label+" can contain letters, spaces, hyphens (-), apostrophes (') and periods (.) only.")
		}
	}
	name("first_name", "First Name", in.FirstName, true, MaxNameLength)
	if in.MiddleInitial != "" {
		if r := []rune(in.MiddleInitial); len(r) != 1 || !unicode.IsLetter(r[0]) {
			add("middle_initial", "middle-initial", "Middle Initial is one letter.")
		}
	}
	name("last_name", "Last Name", in.LastName, true, MaxNameLength)
	name("suffix", "Suffix", in.Suffix, false, MaxSuffixLength)
	switch {
	case in.Email == "":
		add("email", milogin.RuleRequired, "Email Address is required.")
	case !ValidEmail(in.Email):
		add("email", "email", "Enter a valid email address, such as name@example.org.")
	}
	switch {
	case in.ConfirmEmail == "":
		add("confirm_email", milogin.RuleRequired, "Confirm Email Address is required.")
	case in.Email != "" && !strings.EqualFold(in.Email, in.ConfirmEmail):
		add("confirm_email", milogin.RuleConfirm, "Email Address and Confirm Email Address do not match.")
	}
	switch {
	case in.WorkPhone == "" && portal == milogin.Citizen:
	case in.WorkPhone == "":
		add("work_phone", milogin.RuleRequired, "Work Phone Number is required.")
	case !ValidPhone(in.WorkPhone):
		add("work_phone", "phone", "Work Phone Number must be a 10-digit phone number, such as 517-555-0100.")
	}
	if in.Mobile != "" && !ValidPhone(in.Mobile) {
		add("mobile", "phone", "Mobile Number must be a 10-digit phone number, such as 517-555-0100.")
	}
	return vs
}

// SignupProfileInput is step 1 as typed.
type SignupProfileInput struct {
	ProfileInput
	AgreeTerms bool
	QuestionID string
	Answer     string
}

// SaveSignupProfile runs step 1's NEXT. With no live sign-up behind token
// it needs the verification question answered and starts one; with one
// (the person came BACK) it updates it. It returns the flow's token, or an
// EINVALID error whose violations name each broken rule; when
// NeedsNewQuestion(violations) the page shows a new question.
func (s *Service) SaveSignupProfile(ctx context.Context, portalID milogin.PortalID, token string, in SignupProfileInput, m Meta) (string, error) {
	const op = "authn.SaveSignupProfile"
	if portalID != milogin.ThirdParty { // citizens: SaveCitizenProfile
		return "", milogin.Errorf(op, milogin.ENOTFOUND, MsgSignupUnavailable)
	}
	vs := validateProfile(&in.ProfileInput, portalID)
	if !in.AgreeTerms {
		vs = append(vs, milogin.Violation{Field: "agree_terms", Rule: milogin.RuleRequired, Message: MsgTerms})
	}
	now := s.now()
	outToken := token
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		outToken = token
		var p milogin.PendingSignup
		existing, err := s.liveSignup(ctx, tx, op, portalID, token, &p)
		if err != nil {
			return err
		}
		// Any well-formed address is accepted here, registered or not: the
		// answer must not tell who has an account. One account per address
		// is kept at confirmation (ConfirmSignup).
		if !existing {
			v, err := s.checkQuestion(ctx, tx, now, portalID, FormSignup, in.QuestionID, in.Answer, len(vs) == 0)
			if err != nil {
				return err
			}
			if v != nil {
				vs = append(vs, *v)
			}
		}
		if len(vs) > 0 {
			return nil // commit the question's use
		}
		if existing {
			_, err := s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(*milogin.Flow) error {
				p.FirstName, p.MiddleInitial, p.LastName, p.Suffix = in.FirstName, in.MiddleInitial, in.LastName, in.Suffix
				p.Email, p.WorkPhone, p.Mobile, p.AgreedTerms = in.Email, in.WorkPhone, in.Mobile, true
				if p.Mobile != "" {
					p.SetupMobile = ""
				}
				// What the PIN was sent to may have changed: CREATE ACCOUNT again.
				p.Submitted, p.PasswordHash, p.Answers = false, "", nil
				return nil
			})
			return err
		}
		p = milogin.PendingSignup{
			FirstName: in.FirstName, MiddleInitial: in.MiddleInitial, LastName: in.LastName, Suffix: in.Suffix,
			Email: in.Email, WorkPhone: in.WorkPhone, Mobile: in.Mobile, AgreedTerms: true,
			RecoverByEmail: true,
		}
		outToken, err = s.startSignup(ctx, tx, op, portalID, m, now, &p)
		return err
	})
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	if len(vs) > 0 {
		return outToken, milogin.Invalid(op, vs)
	}
	return outToken, nil
}

// liveSignup loads into p the sign-up behind token, for step 1 of either
// wizard (SaveSignupProfile, SaveCitizenProfile): true when it is live and
// has not created its account. No token, or an expired or finished one, is
// no error: the caller starts a new sign-up.
func (s *Service) liveSignup(ctx context.Context, tx milogin.Tx, op string, portalID milogin.PortalID, token string, p *milogin.PendingSignup) (bool, error) {
	if token == "" {
		return false, nil
	}
	_, err := s.loadFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, p)
	switch {
	case err == nil:
		return !p.Created, nil
	case milogin.IsKind(err, milogin.EEXPIRED):
		return false, nil
	}
	return false, err
}

// startSignup starts a sign-up flow holding p and returns its token, for
// step 1 of either wizard. It first reserves a slot of the IP address's
// hourly counter: past signupIPLimit new sign-ups are refused
// (ERATELIMIT); coming BACK to a live sign-up does not count.
func (s *Service) startSignup(ctx context.Context, tx milogin.Tx, op string, portalID milogin.PortalID, m Meta, now time.Time, p *milogin.PendingSignup) (string, error) {
	if m.IP != "" {
		_, ok, err := tx.Limits().Reserve(ctx, "signup-ip:"+m.IP, time.Hour, signupIPLimit, now)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", milogin.Errorf(op, milogin.ERATELIMIT, MsgTooManySignups)
		}
	}
	t, f, err := newFlow(milogin.FlowSignup, portalID, "", p, now, signupLife)
	if err != nil {
		return "", err
	}
	if err := tx.Flows().Create(ctx, f); err != nil {
		return "", err
	}
	return t, nil
}

// SuggestUserID returns the next free user ID of the portal's format for
// the names (smithj0000, smithj0001, …), "" when the format is free-form or
// the names give no stem.
func (s *Service) SuggestUserID(ctx context.Context, portalID milogin.PortalID, first, last string) (string, error) {
	portal, err := s.Portal(portalID)
	if err != nil || portal.Policy.UserIDFormat != milogin.UserIDLastFirst4 {
		return "", err
	}
	stem := milogin.UserIDStem(first, last)
	if stem == "" {
		return "", nil
	}
	var taken []string
	err = s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		taken, err = tx.Accounts().UserIDsWithPrefix(ctx, portalID, stem)
		return err
	})
	if err != nil {
		return "", milogin.Wrap("authn.SuggestUserID", err)
	}
	used := map[string]bool{}
	for _, id := range taken {
		used[strings.ToLower(id)] = true
	}
	for n := range 10000 {
		if id := fmt.Sprintf("%s%04d", stem, n); !used[id] {
			return id, nil
		}
	}
	return "", nil
}

// SecuritySetupInput is step 2 (and the Security Options page) as typed.
type SecuritySetupInput struct {
	UserID          string
	Password        string
	ConfirmPassword string

	RecoverByEmail     bool
	RecoverByMobile    bool
	RecoverByQuestions bool
	// Mobile is typed only when the profile has no mobile number.
	Mobile      string
	QuestionIDs []string // SecurityQuestionCount of them
	Answers     []string
}

func (in *SecuritySetupInput) normalize() {
	in.UserID = strings.TrimSpace(in.UserID)
	in.Mobile = strings.TrimSpace(in.Mobile)
	for len(in.QuestionIDs) < milogin.SecurityQuestionCount {
		in.QuestionIDs = append(in.QuestionIDs, "")
	}
	for len(in.Answers) < milogin.SecurityQuestionCount {
		in.Answers = append(in.Answers, "")
	}
	in.QuestionIDs = in.QuestionIDs[:milogin.SecurityQuestionCount]
	in.Answers = in.Answers[:milogin.SecurityQuestionCount]
	for i := range in.QuestionIDs {
		in.QuestionIDs[i] = strings.TrimSpace(in.QuestionIDs[i])
	}
}

// checkOptions applies the security option rules: at least one option, a
// mobile number for Mobile (Text/SMS), four different listed questions with
// answers. With keepAnswers, blank answers are allowed (the stored ones are
// kept) as long as all four are blank.
func checkOptions(pol milogin.Policy, profileMobile string, in *SecuritySetupInput, keepAnswers bool) []milogin.Violation {
	var vs []milogin.Violation
	add := func(field, rule, msg string) {
		vs = append(vs, milogin.Violation{Field: field, Rule: rule, Message: msg})
	}
	if !pol.SecurityQuestions {
		in.RecoverByQuestions = false
	}
	if !in.RecoverByEmail && !in.RecoverByMobile && !in.RecoverByQuestions {
		add("options", milogin.RuleRequired, MsgSelectOption)
	}
	if in.RecoverByMobile && profileMobile == "" {
		switch {
		case in.Mobile == "":
			add("mobile", milogin.RuleRequired, MsgMobileForOption)
		case !ValidPhone(in.Mobile):
			add("mobile", "phone", "Mobile Number must be a 10-digit phone number, such as 517-555-0100.")
		}
	}
	if !in.RecoverByQuestions {
		return vs
	}
	blank := 0
	for _, a := range in.Answers {
		if strings.TrimSpace(a) == "" {
			blank++
		}
	}
	answersKept := keepAnswers && blank == milogin.SecurityQuestionCount
	seen := map[string]bool{}
	for i, q := range in.QuestionIDs {
		n := i + 1
		switch {
		case q == "":
			add(fmt.Sprintf("question%d", n), milogin.RuleRequired, fmt.Sprintf("Select Security Question #%d.", n))
		case milogin.SecurityQuestionText(q) == "":
			add(fmt.Sprintf("question%d", n), "question", fmt.Sprintf("Select Security Question #%d from the list.", n))
		case seen[q]:
			add(fmt.Sprintf("question%d", n), "distinct", fmt.Sprintf("Security Question #%d is the same as another one. Choose four different questions.", n))
		}
		seen[q] = true
		if answersKept {
			continue
		}
		a := milogin.NormalizeAnswer(in.Answers[i])
		switch {
		case a == "":
			add(fmt.Sprintf("answer%d", n), milogin.RuleRequired, fmt.Sprintf("Enter Security Answer #%d.", n))
		case utf8.RuneCountInString(a) < 2:
			add(fmt.Sprintf("answer%d", n), "length", fmt.Sprintf("Security Answer #%d must be at least 2 characters long.", n))
		case utf8.RuneCountInString(a) > 64:
			add(fmt.Sprintf("answer%d", n), "length", fmt.Sprintf("Security Answer #%d must be at most 64 characters long.", n))
		}
	}
	return vs
}

// SaveSignupSecurity keeps what step 2 holds, except the passwords and
// answers, when the person goes BACK.
func (s *Service) SaveSignupSecurity(ctx context.Context, portalID milogin.PortalID, token string, in SecuritySetupInput) error {
	const op = "authn.SaveSignupSecurity"
	in.normalize()
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		var p milogin.PendingSignup
		_, err := s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(*milogin.Flow) error {
			if p.Created {
				return errFlowExpired(op)
			}
			keepSecurity(&p, in)
			return nil
		})
		return err
	})
	return milogin.Wrap(op, err)
}

func keepSecurity(p *milogin.PendingSignup, in SecuritySetupInput) {
	p.UserID = truncate(in.UserID, 64)
	p.RecoverByEmail, p.RecoverByMobile, p.RecoverByQuestions = in.RecoverByEmail, in.RecoverByMobile, in.RecoverByQuestions
	p.QuestionIDs = slices.Clone(in.QuestionIDs)
	if p.Mobile == "" {
		p.SetupMobile = truncate(in.Mobile, 32)
	}
}

// SubmitSignup runs CREATE ACCOUNT: every rule of step 2 (user ID format and
// uniqueness, password rules, security options), then the password and
// answers are hashed into the flow and a PIN is sent by text when Mobile was
// chosen, else by email. Nothing is created yet.
func (s *Service) SubmitSignup(ctx context.Context, portalID milogin.PortalID, token string, in SecuritySetupInput, m Meta) error {
	const op = "authn.SubmitSignup"
	portal, err := s.Portal(portalID)
	if err != nil {
		return err
	}
	pol := portal.Policy
	in.normalize()
	var p milogin.PendingSignup
	if _, err := s.FlowState(ctx, milogin.FlowSignup, portalID, token, &p); err != nil {
		return err
	}
	if p.Created {
		return errFlowExpired(op)
	}
	if p.Citizen != nil {
		// Citizen sign-up offers email and mobile recovery only, and
		// mobile only with a phone number from step 1.
		in.RecoverByQuestions = false
		in.RecoverByMobile = in.RecoverByMobile && p.Mobile != ""
	}
	vs := pol.CheckUserID(in.UserID, p.FirstName, p.LastName)
	if len(vs) == 0 {
		err := s.Store.Read(ctx, func(tx milogin.Tx) error {
			_, err := tx.Accounts().GetByUserID(ctx, portalID, in.UserID)
			if err == nil {
				vs = append(vs, milogin.Violation{Field: "user_id", Rule: "unique", Message: MsgUserIDTaken})
				return nil
			}
			if milogin.IsKind(err, milogin.ENOTFOUND) {
				return nil
			}
			return err
		})
		if err != nil {
			return milogin.Wrap(op, err)
		}
	}
	if in.Password == "" {
		vs = append(vs, milogin.Violation{Field: "password", Rule: milogin.RuleRequired, Message: "Password is required."})
	} else {
		pvs, err := s.CheckNewPassword(ctx, pol, &milogin.Account{UserID: in.UserID, FirstName: p.FirstName, LastName: p.LastName}, in.Password)
		if err != nil {
			return milogin.Wrap(op, err)
		}
		vs = append(vs, pvs...)
	}
	switch {
	case in.ConfirmPassword == "":
		vs = append(vs, milogin.Violation{Field: "confirm_password", Rule: milogin.RuleRequired, Message: "Confirm New Password is required."})
	case in.ConfirmPassword != in.Password:
		vs = append(vs, milogin.Violation{Field: "confirm_password", Rule: milogin.RuleConfirm, Message: "Confirm New Password must match the password."})
	}
	vs = append(vs, checkOptions(pol, p.Mobile, &in, false)...)
	if len(vs) > 0 {
		// Keep what was typed (not the secrets) for the page and for BACK.
		_ = s.SaveSignupSecurity(ctx, portalID, token, in)
		return milogin.Invalid(op, vs)
	}
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return milogin.Wrap(op, err)
	}
	var answers []milogin.SecurityAnswer
	if in.RecoverByQuestions {
		if answers, err = s.hashAnswers(ctx, in.QuestionIDs, in.Answers); err != nil {
			return milogin.Wrap(op, err)
		}
	}
	now := s.now()
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		_, err := s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(f *milogin.Flow) error {
			if p.Created {
				return errFlowExpired(op)
			}
			keepSecurity(&p, in)
			p.PasswordHash, p.Answers, p.Submitted = hash, answers, true
			if p.Citizen != nil && p.Citizen.EmailProven {
				return nil // the email was proven already: no new PIN
			}
			dest := pinDest{Channel: milogin.ChannelEmail, To: p.Email}
			if p.RecoverByMobile && p.Citizen == nil { // a citizen's PIN proves the email

				dest = pinDest{Channel: milogin.ChannelSMS, To: p.AccountMobile()}
			}
			id, err := s.sendPIN(ctx, tx, now, p.PINCodeID, milogin.PurposeSignup, "signup|"+f.ID, dest, "signup-pin",
				portalMail(portal), false)
			if err != nil {
				return err
			}
			p.PINCodeID, p.PINChannel = id, dest.Channel
			return audit(ctx, tx, now, milogin.EventSignupPINSent, portalID, "", "", m,
				map[string]string{"channel": string(dest.Channel), "user_id": p.UserID})
		})
		return err
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	s.kick()
	return nil
}

// ResendSignupPIN sends a new PIN for the sign-up (RESEND PIN): at most
// PINMaxSends per sign-up, PINResendGap apart; wrong tries still count.
func (s *Service) ResendSignupPIN(ctx context.Context, portalID milogin.PortalID, token string, m Meta) error {
	const op = "authn.ResendSignupPIN"
	portal, err := s.Portal(portalID)
	if err != nil {
		return err
	}
	now := s.now()
	var p milogin.PendingSignup
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		_, err := s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(f *milogin.Flow) error {
			if !p.Submitted || p.Created {
				return errFlowExpired(op)
			}
			dest := pinDest{Channel: milogin.ChannelEmail, To: p.Email}
			if p.PINChannel == milogin.ChannelSMS {
				dest = pinDest{Channel: milogin.ChannelSMS, To: p.AccountMobile()}
			}
			_, err := s.sendPIN(ctx, tx, now, p.PINCodeID, milogin.PurposeSignup, "signup|"+f.ID, dest, "signup-pin",
				portalMail(portal), false)
			if err != nil {
				return err
			}
			return audit(ctx, tx, now, milogin.EventSignupPINSent, portalID, "", "", m,
				map[string]string{"channel": string(dest.Channel), "user_id": p.UserID, "resend": "yes"})
		})
		return err
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	s.kick()
	return nil
}

// Where ConfirmSignup sends the person when the account cannot be created.
const (
	SignupBackToProfile  = "profile"
	SignupBackToSecurity = "security"
	SignupStartOver      = "start"
	// SignupNewPIN: the PIN ran out of tries and another may be had from
	// Security Setup, where everything but the password and the answers
	// was kept.
	SignupNewPIN = "new-pin"
)

// SignupError is a refusal of ConfirmSignup that names the step to show.
type SignupError struct {
	Step string
	Err  error
}

func (e *SignupError) Error() string { return e.Err.Error() }
func (e *SignupError) Unwrap() error { return e.Err }

// ConfirmSignup runs CONFIRM on the PIN step. A right PIN creates the
// account in one transaction with its security answers, the audit event and
// the "Account Creation Confirmed" email. A wrong PIN is an EINVALID error
// (the try is counted); the fifth ends the sign-up (ELOCKED, wrapped in a
// SignupError with Step SignupStartOver). A user ID taken since step 2
// comes back as a SignupError naming the step to fix. An email address that
// already has an account creates nothing: its holder is emailed that
// account's User ID, and ConfirmSignup returns a nil account and no error,
// so that the page says the same as for a new account.
func (s *Service) ConfirmSignup(ctx context.Context, portalID milogin.PortalID, token, pin string, m Meta) (*milogin.Account, error) {
	const op = "authn.ConfirmSignup"
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, err
	}
	pol := portal.Policy
	now := s.now()
	var acct *milogin.Account
	var verr error
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		acct, verr = nil, nil
		var p milogin.PendingSignup
		f, err := s.loadFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, &p)
		if err != nil {
			return err
		}
		if !p.Submitted || p.Created {
			return errFlowExpired(op)
		}
		if p.Citizen != nil && p.Citizen.EmailProven {
			return nil // proven already (a second CONFIRM): on to verification
		}
		out, perr, err := s.checkPIN(ctx, tx, now, p.PINCodeID, milogin.PurposeSignup, "signup|"+f.ID, pin)
		if err != nil {
			return err
		}
		switch out {
		case pinLocked:
			// Where the limits allow, what was entered is kept (never the
			// password or the answers) for a new PIN; otherwise it ends.
			key := ""
			if m.IP != "" {
				key = "signup-ip:" + m.IP
			}
			again, err := pinRoundAllowed(ctx, tx, now, p.PINRounds, key, signupIPLimit)
			if err != nil {
				return err
			}
			if !again {
				verr = &SignupError{Step: SignupStartOver, Err: perr}
				return tx.Flows().Delete(ctx, f.ID)
			}
			verr = &SignupError{Step: SignupNewPIN, Err: milogin.Errorf(op, milogin.ELOCKED, MsgPINLockedSignup)}
			_, err = s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(*milogin.Flow) error {
				p.Submitted, p.PasswordHash, p.Answers = false, "", nil
				p.PINCodeID, p.PINChannel, p.PINRounds = "", "", p.PINRounds+1
				return nil
			})
			return err
		case pinInvalid, pinExpired:
			verr = perr
			return nil // commit the counted try
		}
		// One account per email address, without saying so on the page:
		// when the address has an account, its holder is emailed its User
		// ID and the page ends as for a new account.
		taken := func(existing *milogin.Account) error {
			if err := audit(ctx, tx, now, milogin.EventSignupEmailTaken, portalID, "", existing.ID, m,
				map[string]string{"user_id": p.UserID, "pin": string(p.PINChannel)}); err != nil {
				return err
			}
			if err := mail(ctx, tx, now, existing.Email, "account-exists", accountMail(portal, existing)); err != nil {
				return err
			}
			done := milogin.PendingSignup{FirstName: p.FirstName, LastName: p.LastName, Email: p.Email, Created: true}
			_, err := s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(f *milogin.Flow) error {
				p = done
				return nil
			})
			return err
		}
		if existing, err := tx.Accounts().GetByEmail(ctx, portalID, p.Email); err == nil {
			return taken(existing)
		} else if !milogin.IsKind(err, milogin.ENOTFOUND) {
			return err
		}
		if p.Citizen != nil {
			// The email is proven; the account waits for identity
			// verification (VerifyCitizen).
			return s.citizenEmailProven(ctx, tx, token, &p)
		}
		a := &milogin.Account{
			ID: NewID(), Portal: portalID, UserID: p.UserID,
			FirstName: p.FirstName, MiddleInitial: p.MiddleInitial, LastName: p.LastName, Suffix: p.Suffix,
			Email: p.Email, EmailVerified: p.PINChannel == milogin.ChannelEmail,
			WorkPhone: p.WorkPhone, Mobile: p.AccountMobile(),
			// The number is proven only when the PIN just confirmed went
			// to it (Mobile chosen); typed in with Email chosen, it is kept
			// unproven and counts for nothing.
			MobileVerified: p.PINChannel == milogin.ChannelSMS && p.AccountMobile() != "",
			RecoverByEmail: p.RecoverByEmail, RecoverByMobile: p.RecoverByMobile,
			Status: milogin.StatusActive, CreatedAt: now, UpdatedAt: now,
		}
		a.SetPassword(p.PasswordHash, pol, now)
		if err := tx.Accounts().Create(ctx, a); err != nil {
			if milogin.IsKind(err, milogin.ECONFLICT) {
				// Someone took the user ID or the email since step 2. The
				// whole transaction (the PIN's use too) is undone.
				if milogin.ErrorMessage(err) == MsgUserIDTaken {
					return &SignupError{Step: SignupBackToSecurity, Err: milogin.Invalid(op, []milogin.Violation{{Field: "user_id", Rule: "unique", Message: MsgUserIDTaken}})}
				}
				existing, gerr := tx.Accounts().GetByEmail(ctx, portalID, p.Email)
				if gerr != nil {
					return gerr
				}
				return taken(existing)
			}
			return err
		}
		if p.RecoverByQuestions && len(p.Answers) > 0 {
			if err := tx.SecurityAnswers().Put(ctx, a.ID, p.Answers); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, now, milogin.EventAccountCreated, portalID, a.ID, a.ID, m,
			map[string]string{"user_id": a.UserID, "via": "signup", "pin": string(p.PINChannel)}); err != nil {
			return err
		}
		if err := mail(ctx, tx, now, a.Email, "account-created", accountMail(portal, a)); err != nil {
			return err
		}
		// The flow now only shows 3 Confirmation: the hashes go.
		done := milogin.PendingSignup{FirstName: p.FirstName, LastName: p.LastName, UserID: a.UserID, Email: a.Email, Created: true}
		_, err = s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(f *milogin.Flow) error {
			p = done
			f.Subject = a.ID
			return nil
		})
		acct = a
		return err
	})
	if err != nil {
		var se *SignupError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, milogin.Wrap(op, err)
	}
	if verr != nil {
		return nil, verr
	}
	s.kick()
	return acct, nil
}
