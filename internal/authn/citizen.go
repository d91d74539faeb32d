package authn

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"milogin"
	"milogin/internal/records"
)

// Citizen sign-up, in the order of the citizen FAQ: 1 profile
// (SaveCitizenProfile), 2 username, password and recovery methods
// (SubmitSignup, shared with the third-party wizard), the PIN sent to the
// email (ConfirmSignup, which for a citizen proves the email and creates
// nothing), then identity verification against the Secretary of State's
// card records (VerifyCitizen). Only a successful verification creates the
// account, in one transaction with the card's link to it, the audit
// event, the "Account Creation Confirmed" email and the person's first
// session.

// Messages of citizen sign-up.
const (
	// MsgVerifyIncorrect is the FAQ's 'incorrect' answer. It names what to
	// check without saying which part did not match.
	MsgVerifyIncorrect = "The information you entered is incorrect. Please check your driver's license or state ID card number and the name exactly as it appears on your card. If your name contains hyphens, try it with and without the hyphens, and without other special characters such as apostrophes. If you do not have a Michigan driver's license or state ID card, you will not be able to create a MiLogin account. If this does not resolve the error, please call 888-767-6424 for assistance."
	// MsgCardNotValid answers a card that is expired, suspended, revoked or
	// of a deceased person.
	MsgCardNotValid = "Your driver's license or state ID card cannot be used to create a MiLogin account. Please visit a Secretary of State office."
	// MsgCardInUse answers a card that already verified an active account.
	MsgCardInUse = "A MiLogin account already exists for this driver's license or state ID card. Use Forgot your User ID? on the sign-in page to get your User ID, or call 888-767-6424 for assistance."
	// MsgVerifyThrottled answers the sixth try within the hour.
	MsgVerifyThrottled = "Too many identity verification attempts. Please wait an hour and try again, or call 888-767-6424 for assistance."
	// MsgBusinessVehicle answers Yes to the vehicle question.
	MsgBusinessVehicle = "A MiLogin account is for an individual resident and is verified with your own Michigan driver's license or state ID card. Select No if your vehicle is registered in your own name. To sign up a business or organization, use MILogin for Third Party."
	MsgVehicleQuestion = "Answer whether your vehicle is registered in the name of a business or organization."
)

// Verification throttle: at most VerifyLimit failed tries per sign-up and
// per IP address in VerifyWindow.
const (
	VerifyLimit  = 5
	VerifyWindow = time.Hour
)

// CitizenProfileInput is citizen sign-up step 1 as typed.
type CitizenProfileInput struct {
	FirstName    string
	MiddleName   string
	LastName     string
	Suffix       string
	Email        string
	ConfirmEmail string
	Phone        string // optional; it becomes the account's mobile number
}

func validateCitizenProfile(in *CitizenProfileInput) []milogin.Violation {
	p := ProfileInput{FirstName: in.FirstName, LastName: in.LastName, Suffix: in.Suffix,
		Email: in.Email, ConfirmEmail: in.ConfirmEmail, Mobile: in.Phone}
	vs := validateProfile(&p, milogin.Citizen)
	in.FirstName, in.LastName, in.Suffix, in.Email, in.ConfirmEmail, in.Phone = p.FirstName, p.LastName, p.Suffix, p.Email, p.ConfirmEmail, p.Mobile
	for i := range vs {
		if vs[i].Field == "mobile" {
			vs[i].Field, vs[i].Message = "phone", "Phone Number must be a 10-digit phone number, such as 517-555-0100."
		}
	}
	in.MiddleName = strings.TrimSpace(in.MiddleName)
	switch {
	case in.MiddleName == "":
	case utf8.RuneCountInString(in.MiddleName) > 64:
		vs = append(vs, milogin.Violation{Field: "middle_name", Rule: "length", Message: "Middle Name must be at most 64 characters."})
	case !validName(in.MiddleName):
		vs = append(vs, milogin.Violation{Field: "middle_name", Rule: "name", Message: "Middle Name can contain letters, spaces, hyphens (-), apostrophes (') and periods (.) only."})
	}
	return vs
}

func middleInitial(middle string) string {
	for _, r := range middle {
		return strings.ToUpper(string(r))
	}
	return ""
}

// SaveCitizenProfile runs step 1's NEXT: it starts a citizen sign-up, or
// updates the one behind token when the person came back. It returns the
// flow's token or an EINVALID error with a violation per broken rule.
func (s *Service) SaveCitizenProfile(ctx context.Context, token string, in CitizenProfileInput, m Meta) (string, error) {
	const op = "authn.SaveCitizenProfile"
	portalID := milogin.Citizen
	vs := validateCitizenProfile(&in)
	now := s.now()
	outToken := token
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		outToken = token
		var p milogin.PendingSignup
		live, err := s.liveSignup(ctx, tx, op, portalID, token, &p)
		if err != nil {
			return err
		}
		existing := live && p.Citizen != nil
		// A registered email is not refused here: that would tell anyone
		// which addresses have accounts. ConfirmSignup, once the PIN to
		// the address is proven, emails its holder instead.
		if len(vs) > 0 {
			return nil
		}
		if existing {
			_, err := s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(*milogin.Flow) error {
				if !strings.EqualFold(p.Email, in.Email) || p.Mobile != in.Phone {
					// What the PIN went to, or the recovery choices, may
					// have changed: Create Account again.
					p.Submitted, p.PasswordHash, p.Citizen.EmailProven = false, "", false
				}
				p.FirstName, p.MiddleInitial, p.LastName, p.Suffix = in.FirstName, middleInitial(in.MiddleName), in.LastName, in.Suffix
				p.Email, p.Mobile, p.Citizen.MiddleName = in.Email, in.Phone, in.MiddleName
				if p.Mobile == "" {
					p.RecoverByMobile = false
				}
				return nil
			})
			return err
		}
		p = milogin.PendingSignup{
			FirstName: in.FirstName, MiddleInitial: middleInitial(in.MiddleName), LastName: in.LastName, Suffix: in.Suffix,
			Email: in.Email, Mobile: in.Phone, AgreedTerms: true, RecoverByEmail: true,
			Citizen: &milogin.CitizenSignup{MiddleName: in.MiddleName},
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

// citizenEmailProven records, inside ConfirmSignup's transaction, that the
// PIN to the email was right.
func (s *Service) citizenEmailProven(ctx context.Context, tx milogin.Tx, token string, p *milogin.PendingSignup) error {
	_, err := s.updateFlow(ctx, tx, "authn.ConfirmSignup", milogin.FlowSignup, milogin.Citizen, token, signupLife, p, func(*milogin.Flow) error {
		p.Citizen.EmailProven = true
		return nil
	})
	return err
}

// VerifyInput is the identity verification step as typed.
type VerifyInput struct {
	// BusinessVehicle is the answer to "Is your vehicle registered in the
	// name of a business or organization?": "yes", "no" or "" (none).
	BusinessVehicle string
	FirstName       string
	MiddleName      string
	LastName        string
	CardNumber      string
}

// VerifyCitizen runs Confirm on the identity verification step. The card
// number and the name are compared with the card records (records.MatchName);
// only a valid card that verified no other active account creates the
// account. The result's Token is the new session's: the person lands on
// their home page.
//
// Every try is audited. A try first takes a slot of the sign-up's and the
// IP address's counters (the count comes back from the statement that
// adds it, so racing tries cannot overrun the limit); a successful try
// gives its slots back, a failed one keeps them, and the sixth within the
// hour is refused (ERATELIMIT) without looking at the records.
//
// Refusals are EINVALID errors with one of the messages above; form
// mistakes carry violations for their fields.
func (s *Service) VerifyCitizen(ctx context.Context, token string, in VerifyInput, m Meta) (*SignInResult, error) {
	const op = "authn.VerifyCitizen"
	portalID := milogin.Citizen
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, err
	}
	pol := portal.Policy
	var p milogin.PendingSignup
	if _, err := s.FlowState(ctx, milogin.FlowSignup, portalID, token, &p); err != nil {
		return nil, err
	}
	if p.Citizen == nil || !p.Citizen.EmailProven || p.Created || p.PasswordHash == "" {
		return nil, errFlowExpired(op)
	}

	in.FirstName, in.MiddleName, in.LastName = strings.TrimSpace(in.FirstName), strings.TrimSpace(in.MiddleName), strings.TrimSpace(in.LastName)
	var vs []milogin.Violation
	add := func(field, rule, msg string) {
		vs = append(vs, milogin.Violation{Field: field, Rule: rule, Message: msg})
	}
	switch strings.ToLower(strings.TrimSpace(in.BusinessVehicle)) {
	case "no":
	case "yes":
		add("business_vehicle", "business", MsgBusinessVehicle)
	default:
		add("business_vehicle", milogin.RuleRequired, MsgVehicleQuestion)
	}
	for _, f := range []struct{ field, label, v string }{{"verify_first_name", "First Name", in.FirstName}, {"verify_last_name", "Last Name", in.LastName}} {
		switch {
		case f.v == "":
			add(f.field, milogin.RuleRequired, f.label+" is required.")
		case utf8.RuneCountInString(f.v) > 64 || !validName(f.v):
			add(f.field, "name", f.label+" can contain letters, spaces, hyphens (-), apostrophes (') and periods (.) only.")
		}
	}
	if utf8.RuneCountInString(in.MiddleName) > 64 || (in.MiddleName != "" && !validName(in.MiddleName)) {
		add("verify_middle_name", "name", "Middle Name can contain letters, spaces, hyphens (-), apostrophes (') and periods (.) only.")
	}
	card, cardOK := records.NormalizeCard(in.CardNumber, in.LastName)
	switch {
	case strings.TrimSpace(in.CardNumber) == "":
		add("card_number", milogin.RuleRequired, records.MsgCardRequired)
	case !cardOK:
		add("card_number", "card", records.MsgCardFormat)
	}
	if len(vs) > 0 {
		// A form mistake is not a verification try: nothing was compared.
		return nil, milogin.Invalid(op, vs)
	}

	now := s.now()
	typed := records.Name{First: in.FirstName, Middle: in.MiddleName, Last: in.LastName}
	var res *SignInResult
	var refusal error
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		res, refusal = nil, nil
		var p milogin.PendingSignup
		f, err := s.loadFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, &p)
		if err != nil {
			return err
		}
		if p.Citizen == nil || !p.Citizen.EmailProven || p.Created {
			return errFlowExpired(op)
		}
		keys := []string{"citizen-verify-flow:" + f.ID}
		if m.IP != "" {
			keys = append(keys, "citizen-verify-ip:"+m.IP)
		}
		throttled := false
		for _, k := range keys {
			n, err := tx.Limits().Hit(ctx, k, VerifyWindow, now)
			if err != nil {
				return err
			}
			throttled = throttled || n > VerifyLimit
		}
		fail := func(reason string, msg error, detail map[string]string) error {
			refusal = msg
			d := map[string]string{"reason": reason, "user_id": p.UserID}
			for k, v := range detail {
				d[k] = v
			}
			return audit(ctx, tx, now, milogin.EventCitizenVerifyFailed, portalID, "", "", m, d)
		}
		if throttled {
			return fail("throttled", milogin.Errorf(op, milogin.ERATELIMIT, MsgVerifyThrottled), nil)
		}
		incorrect := milogin.Errorf(op, milogin.EINVALID, MsgVerifyIncorrect)
		// The card's row is locked for the rest of the transaction:
		// sign-ups racing with the same card are taken one at a time.
		var rec *milogin.CardRecord
		_, err = tx.Records().Update(ctx, card, func(r *milogin.CardRecord) error {
			rec = r
			return errStop
		})
		switch {
		case milogin.IsKind(err, milogin.ENOTFOUND):
			return fail("no-match", incorrect, map[string]string{"why": "card"})
		case err != nil && !errors.Is(err, errStop):
			return err
		}
		if !records.MatchName(records.NameOf(rec), typed) {
			return fail("no-match", incorrect, map[string]string{"why": "name"})
		}
		if rec.Status != milogin.CardValid {
			return fail("status", milogin.Errorf(op, milogin.EINVALID, MsgCardNotValid), map[string]string{"status": string(rec.Status)})
		}
		if rec.AccountID != "" {
			owner, err := tx.Accounts().Get(ctx, rec.AccountID)
			switch {
			case err == nil && owner.Status == milogin.StatusActive:
				data := accountMail(portal, owner)
				data["When"] = now.Format("January 2, 2006")
				if err := mail(ctx, tx, now, owner.Email, "card-in-use", data); err != nil {
					return err
				}
				if err := audit(ctx, tx, now, milogin.EventCitizenCardInUseSent, portalID, "system", owner.ID, m, nil); err != nil {
					return err
				}
				return fail("card-in-use", milogin.Errorf(op, milogin.EINVALID, MsgCardInUse), map[string]string{"owner": owner.ID})
			case err != nil && !milogin.IsKind(err, milogin.ENOTFOUND):
				return err
			}
			// The account the card verified is no longer active: the card
			// may verify a new one.
		}

		// Verified. The slots this try took go back.
		for _, k := range keys {
			if err := tx.Limits().Refund(ctx, k, VerifyWindow, now); err != nil {
				return err
			}
		}
		a := &milogin.Account{
			ID: NewID(), Portal: portalID, UserID: p.UserID,
			FirstName: p.FirstName, MiddleInitial: p.MiddleInitial, LastName: p.LastName, Suffix: p.Suffix,
			Email: p.Email, EmailVerified: true, Mobile: p.AccountMobile(),
			RecoverByEmail: p.RecoverByEmail, RecoverByMobile: p.RecoverByMobile,
			Status: milogin.StatusActive, CreatedAt: now, UpdatedAt: now,
		}
		a.SetPassword(p.PasswordHash, pol, now)
		a.RecordSuccess(now) // the person lands on their home page, signed in
		if err := tx.Accounts().Create(ctx, a); err != nil {
			if milogin.IsKind(err, milogin.ECONFLICT) {
				if milogin.ErrorMessage(err) == MsgUserIDTaken {
					return &SignupError{Step: SignupBackToSecurity, Err: milogin.Invalid(op, []milogin.Violation{{Field: "user_id", Rule: "unique", Message: MsgUserIDTaken}})}
				}
				return &SignupError{Step: SignupBackToProfile, Err: milogin.Invalid(op, []milogin.Violation{{Field: "email", Rule: "unique", Message: MsgEmailInUse}})}
			}
			return err
		}
		if _, err := tx.Records().Update(ctx, card, func(r *milogin.CardRecord) error {
			r.AccountID, r.UpdatedAt = a.ID, now
			return nil
		}); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventCitizenVerified, portalID, a.ID, a.ID, m, map[string]string{"user_id": a.UserID}); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventAccountCreated, portalID, a.ID, a.ID, m,
			map[string]string{"user_id": a.UserID, "via": "citizen-signup", "pin": string(milogin.ChannelEmail)}); err != nil {
			return err
		}
		if err := mail(ctx, tx, now, a.Email, "account-created", accountMail(portal, a)); err != nil {
			return err
		}
		sessToken, sess := s.newSession(a, milogin.StageActive, pol, now, m)
		if err := tx.Sessions().Create(ctx, sess); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventSignIn, portalID, a.ID, a.ID, m, map[string]string{"stage": string(milogin.StageActive), "via": "citizen-signup"}); err != nil {
			return err
		}
		done := milogin.PendingSignup{FirstName: p.FirstName, LastName: p.LastName, UserID: a.UserID, Email: a.Email, Created: true,
			Citizen: &milogin.CitizenSignup{}}
		if _, err := s.updateFlow(ctx, tx, op, milogin.FlowSignup, portalID, token, signupLife, &p, func(f *milogin.Flow) error {
			p = done
			f.Subject = a.ID
			return nil
		}); err != nil {
			return err
		}
		res = &SignInResult{Token: sessToken, Session: sess, Account: a}
		return nil
	})
	if err != nil {
		var se *SignupError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, milogin.Wrap(op, err)
	}
	if refusal != nil {
		s.kick()
		return nil, refusal
	}
	s.kick()
	return res, nil
}

// errStop ends an Update callback without writing: VerifyCitizen uses the
// update's row lock to read the card.
var errStop = errors.New("authn: read only")
