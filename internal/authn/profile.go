package authn

import (
	"context"
	"slices"
	"strings"
	"time"

	"milogin"
)

// Update Profile and Security Options for a signed-in
// person. Changing what recovery relies on (email, mobile, recovery
// options) needs the current password or a PIN (ASVS 7.5.1); a new email is
// moreover confirmed by a PIN sent to it before it replaces the old one, and
// the old address is told.

// Messages of the profile pages.
const (
	// MsgEmailTaken is the FAQ's rule for a changed address.
	MsgEmailTaken = "This email address is already used by another MILogin account. Please provide a unique email address."
	// The "required" messages name the field as each page labels it
	// (Current Password) and only what that page changes.
	MsgCurrentPassword        = "Current Password is required to change your Email Address or Mobile Number."
	MsgCurrentPasswordOptions = "Current Password is required to change your Security Options."
	MsgCurrentPasswordBad     = "The current password you entered is incorrect."
	// MsgCurrentPasswordForMobile asks for the password when Mobile
	// (Text/SMS) needs a number that is not yet confirmed: the PIN then goes
	// to that number.
	MsgCurrentPasswordForMobile = "Current Password is required to use a new Mobile Number for Mobile (Text/SMS). A PIN will then be sent to that number to confirm it."
	MsgTooManyReauth            = "Too many incorrect passwords. Please wait 15 minutes and try again."
	MsgMobileStillOption        = "Mobile Number is required while Mobile (Text/SMS) is one of your Security Options. Change your Security Options first."
	MsgProfileUpdated           = "Your profile has been successfully updated."
	// MsgProfileUpdatedMobile follows a new mobile number, which is not
	// used for recovery until its holder proves it.
	MsgProfileUpdatedMobile = "Your profile has been successfully updated. To use your new mobile number to reset your password, select Mobile (Text/SMS) in Security Options and enter the PIN sent to it."
	MsgSecurityOptionsDone  = "Your security options have been successfully updated."
)

// reauthLimit bounds wrong current passwords per account per reauthWindow.
const (
	reauthLimit  = 5
	reauthWindow = 15 * time.Minute
)

// reauth checks the current password of a signed-in person. A wrong one is
// a violation on field (required when it is empty); too many wrong ones are ERATELIMIT.
func (s *Service) reauth(ctx context.Context, a *milogin.Account, password, field, required string) (*milogin.Violation, error) {
	const op = "authn.reauth"
	if password == "" {
		return &milogin.Violation{Field: field, Rule: milogin.RuleRequired, Message: required}, nil
	}
	now := s.now()
	key := "reauth-fail:" + a.ID
	// Reserved before the hash and refunded when right, so that concurrent
	// guesses from a stolen session get at most reauthLimit judged.
	var allowed bool
	if err := s.Store.Write(ctx, func(tx milogin.Tx) (err error) {
		_, allowed, err = tx.Limits().Reserve(ctx, key, reauthWindow, reauthLimit, now)
		return err
	}); err != nil {
		return nil, err
	}
	if !allowed {
		return nil, milogin.Errorf(op, milogin.ERATELIMIT, MsgTooManyReauth)
	}
	ok, _, err := s.Hasher.Verify(ctx, a.PasswordHash, password)
	if err == nil && !ok {
		return &milogin.Violation{Field: field, Rule: "current", Message: MsgCurrentPasswordBad}, nil
	}
	// Right, or not judged: the hit is given back.
	rctx := context.WithoutCancel(ctx)
	if werr := s.Store.Write(rctx, func(tx milogin.Tx) error {
		return tx.Limits().Refund(rctx, key, reauthWindow, now)
	}); werr != nil && err == nil {
		err = werr
	}
	return nil, err
}

// signedIn returns the portal and the account of the person signed in
// with sessionToken.
func (s *Service) signedIn(ctx context.Context, portalID milogin.PortalID, sessionToken string) (milogin.Portal, *milogin.Account, error) {
	portal, err := s.Portal(portalID)
	if err != nil {
		return portal, nil, err
	}
	_, a, err := s.Authenticate(ctx, portalID, sessionToken)
	return portal, a, err
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ProfileUpdateInput is the Update Profile form.
type ProfileUpdateInput struct {
	ProfileInput
	CurrentPassword string
}

// ProfileUpdateResult says what UpdateProfile did.
type ProfileUpdateResult struct {
	// FlowToken is set when a new email waits for its PIN.
	FlowToken string
	// Changed is set when the profile was saved at once.
	Changed bool
	// MobileUnproven is set when a new mobile number was saved: it serves
	// recovery once a PIN sent to it is confirmed in Security Options.
	MobileUnproven bool
}

// UpdateProfile saves Update Profile for the person signed in with
// sessionToken. Names and phone numbers are saved at once (a new mobile
// number needs the current password); a new email address needs the
// current password and waits for the PIN sent to it (ConfirmEmailChange).
func (s *Service) UpdateProfile(ctx context.Context, portalID milogin.PortalID, sessionToken string, in ProfileUpdateInput, m Meta) (*ProfileUpdateResult, error) {
	const op = "authn.UpdateProfile"
	portal, a, err := s.signedIn(ctx, portalID, sessionToken)
	if err != nil {
		return nil, err
	}
	vs := validateProfile(&in.ProfileInput, portalID)
	emailChanged := !strings.EqualFold(in.Email, a.Email)
	mobileChanged := digitsOf(in.Mobile) != digitsOf(a.Mobile)
	if in.Mobile == "" && a.RecoverByMobile {
		vs = append(vs, milogin.Violation{Field: "mobile", Rule: milogin.RuleRequired, Message: MsgMobileStillOption})
	}
	if emailChanged && ValidEmail(in.Email) {
		err := s.Store.Read(ctx, func(tx milogin.Tx) error {
			other, err := tx.Accounts().GetByEmail(ctx, portalID, in.Email)
			if err == nil && other.ID != a.ID {
				vs = append(vs, milogin.Violation{Field: "email", Rule: "unique", Message: MsgEmailTaken})
				return nil
			}
			if milogin.IsKind(err, milogin.ENOTFOUND) {
				return nil
			}
			return err
		})
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
	}
	if emailChanged || mobileChanged {
		v, err := s.reauth(ctx, a, in.CurrentPassword, "current_password", MsgCurrentPassword)
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		if v != nil {
			vs = append(vs, *v)
		}
	}
	if len(vs) > 0 {
		return nil, milogin.Invalid(op, vs)
	}
	now := s.now()
	change := milogin.ProfileChange{
		FirstName: in.FirstName, MiddleInitial: in.MiddleInitial, LastName: in.LastName, Suffix: in.Suffix,
		Email: in.Email, WorkPhone: in.WorkPhone, Mobile: in.Mobile,
	}
	if !emailChanged {
		changed := false
		err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			var err error
			changed, err = s.applyProfile(ctx, tx, portal, a.ID, change, false, now, m)
			return err
		})
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		if changed {
			s.kick()
		}
		return &ProfileUpdateResult{Changed: changed, MobileUnproven: changed && mobileChanged && in.Mobile != ""}, nil
	}
	token, err := startPINFlow(s, ctx, op, emailChangeFlow, portalID, portal, a, &change,
		pinDest{Channel: milogin.ChannelEmail, To: change.Email}, now)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	s.kick()
	return &ProfileUpdateResult{FlowToken: token}, nil
}

// applyProfile writes a profile change inside tx with its audit event and
// the notice email; it reports whether anything changed.
func (s *Service) applyProfile(ctx context.Context, tx milogin.Tx, portal milogin.Portal, accountID string, c milogin.ProfileChange, emailConfirmed bool, now time.Time, m Meta) (bool, error) {
	var fields []string
	var oldEmail string
	a, err := tx.Accounts().Update(ctx, accountID, func(a *milogin.Account) error {
		oldEmail = a.Email
		set := func(name string, dst *string, v string) {
			if *dst != v {
				*dst = v
				fields = append(fields, name)
			}
		}
		set("first_name", &a.FirstName, c.FirstName)
		set("middle_initial", &a.MiddleInitial, c.MiddleInitial)
		set("last_name", &a.LastName, c.LastName)
		set("suffix", &a.Suffix, c.Suffix)
		set("email", &a.Email, c.Email)
		set("work_phone", &a.WorkPhone, c.WorkPhone)
		if a.Mobile != c.Mobile {
			// A new number is kept unproven until a PIN sent to it is
			// confirmed (Security Options, Mobile (Text/SMS)).
			a.SetMobile(c.Mobile)
			fields = append(fields, "mobile")
		}
		if emailConfirmed {
			a.EmailVerified = true
		}
		if len(fields) > 0 {
			a.UpdatedAt = now
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if len(fields) == 0 {
		return false, nil
	}
	if err := audit(ctx, tx, now, milogin.EventProfileChanged, portal.ID, a.ID, a.ID, m, map[string]string{"fields": strings.Join(fields, ",")}); err != nil {
		return false, err
	}
	data := accountMail(portal, a)
	data["NewEmail"] = milogin.MaskEmail(a.Email)
	if slices.Contains(fields, "email") {
		if err := audit(ctx, tx, now, milogin.EventEmailChanged, portal.ID, a.ID, a.ID, m,
			map[string]string{"old": milogin.MaskEmail(oldEmail), "new": milogin.MaskEmail(a.Email)}); err != nil {
			return false, err
		}
		// The old address hears of it: a hijacked session cannot move the
		// account away silently.
		if err := mail(ctx, tx, now, oldEmail, "email-changed", data); err != nil {
			return false, err
		}
	}
	return true, mail(ctx, tx, now, a.Email, "profile-changed", data)
}

// ConfirmEmailChange runs CONFIRM on the Update Profile PIN step: the right
// PIN (sent to the new address) saves the whole profile change.
func (s *Service) ConfirmEmailChange(ctx context.Context, portalID milogin.PortalID, sessionToken, flowToken, pin string, m Meta) error {
	const op = "authn.ConfirmEmailChange"
	return confirmPINFlow(s, ctx, op, emailChangeFlow, portalID, sessionToken, flowToken, pin, nil,
		func(tx milogin.Tx, portal milogin.Portal, a *milogin.Account, c *milogin.ProfileChange, now time.Time) error {
			if _, err := s.applyProfile(ctx, tx, portal, a.ID, *c, true, now, m); err != nil {
				if milogin.IsKind(err, milogin.ECONFLICT) {
					return milogin.Invalid(op, []milogin.Violation{{Field: "email", Rule: "unique", Message: MsgEmailTaken}})
				}
				return err
			}
			return nil
		})
}

// ResendEmailChangePIN sends a new PIN to the new address (RESEND PIN).
func (s *Service) ResendEmailChangePIN(ctx context.Context, portalID milogin.PortalID, sessionToken, flowToken string, m Meta) error {
	return resendPINFlow(s, ctx, "authn.ResendEmailChangePIN", emailChangeFlow, portalID, sessionToken, flowToken,
		func(c *milogin.ProfileChange) pinDest { return pinDest{Channel: milogin.ChannelEmail, To: c.Email} })
}

// SecurityAnswers returns the account's security questions and answer hashes.
func (s *Service) SecurityAnswers(ctx context.Context, accountID string) ([]milogin.SecurityAnswer, error) {
	var out []milogin.SecurityAnswer
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		out, err = tx.SecurityAnswers().List(ctx, accountID)
		return err
	})
	return out, milogin.Wrap("authn.SecurityAnswers", err)
}

// SecurityOptionsInput is the Security Options form. With CurrentPassword
// the change is saved at once; without, a PIN confirms it.
type SecurityOptionsInput struct {
	SecuritySetupInput
	CurrentPassword string
}

// UpdateSecurityOptions checks the Security Options form for the person
// signed in with sessionToken. With the right current password the change
// is saved and the returned token is ""; without a password a PIN is sent
// to the account's email (its mobile when it has no email) and the change
// waits in a flow whose token is returned (ConfirmSecurityOptions).
func (s *Service) UpdateSecurityOptions(ctx context.Context, portalID milogin.PortalID, sessionToken string, in SecurityOptionsInput, m Meta) (string, error) {
	const op = "authn.UpdateSecurityOptions"
	portal, a, err := s.signedIn(ctx, portalID, sessionToken)
	if err != nil {
		return "", err
	}
	pol := portal.Policy
	current, err := s.SecurityAnswers(ctx, a.ID)
	if err != nil {
		return "", err
	}
	in.normalize()
	var currentIDs []string
	for _, x := range current {
		currentIDs = append(currentIDs, x.QuestionID)
	}
	keep := len(current) == milogin.SecurityQuestionCount && slices.Equal(currentIDs, in.QuestionIDs)
	vs := checkOptions(pol, a.Mobile, &in.SecuritySetupInput, keep)
	if in.CurrentPassword != "" {
		v, err := s.reauth(ctx, a, in.CurrentPassword, "current_password", MsgCurrentPasswordOptions)
		if err != nil {
			return "", milogin.Wrap(op, err)
		}
		if v != nil {
			vs = append(vs, *v)
		}
	}
	if len(vs) > 0 {
		return "", milogin.Invalid(op, vs)
	}
	c := milogin.SecurityOptionsChange{
		RecoverByEmail: in.RecoverByEmail, RecoverByMobile: in.RecoverByMobile, RecoverByQuestions: in.RecoverByQuestions,
	}
	if a.Mobile == "" && in.RecoverByMobile {
		c.Mobile = in.Mobile
	}
	// Mobile (Text/SMS) on a number not yet proven: the current password
	// proves the person, and the PIN goes to the number to prove it.
	proveMobile := in.RecoverByMobile && (c.Mobile != "" || !a.MobileVerified)
	if in.RecoverByQuestions {
		blank := true
		for _, x := range in.Answers {
			if strings.TrimSpace(x) != "" {
				blank = false
			}
		}
		if keep && blank {
			c.KeepAnswers = true
		} else if c.Answers, err = s.hashAnswers(ctx, in.QuestionIDs, in.Answers); err != nil {
			return "", milogin.Wrap(op, err)
		}
	}
	now := s.now()
	if proveMobile {
		if in.CurrentPassword == "" {
			return "", milogin.Invalid(op, []milogin.Violation{{Field: "current_password", Rule: milogin.RuleRequired, Message: MsgCurrentPasswordForMobile}})
		}
		to := a.Mobile
		if c.Mobile != "" {
			to = c.Mobile
		}
		dest := pinDest{Channel: milogin.ChannelSMS, To: to}
		c.PINChannel, c.PINTo = dest.Channel, dest.To
		token, err := startPINFlow(s, ctx, op, securityOptionsFlow, portalID, portal, a, &c, dest, now)
		if err != nil {
			return "", milogin.Wrap(op, err)
		}
		s.kick()
		return token, nil
	}
	if in.CurrentPassword != "" {
		err := s.Store.Write(ctx, func(tx milogin.Tx) error {
			return s.applySecurityOptions(ctx, tx, portal, a.ID, c, "password", now, m)
		})
		if err != nil {
			return "", milogin.Wrap(op, err)
		}
		s.kick()
		return "", nil
	}
	dest := pinDest{Channel: milogin.ChannelEmail, To: a.Email}
	if a.Email == "" {
		dest = pinDest{Channel: milogin.ChannelSMS, To: a.Mobile}
	}
	if dest.To == "" {
		return "", milogin.Invalid(op, []milogin.Violation{{Field: "current_password", Rule: milogin.RuleRequired, Message: MsgCurrentPasswordOptions}})
	}
	c.PINChannel, c.PINTo = dest.Channel, dest.To
	token, err := startPINFlow(s, ctx, op, securityOptionsFlow, portalID, portal, a, &c, dest, now)
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	s.kick()
	return token, nil
}

// applySecurityOptions saves a change of recovery options inside tx with its
// audit event and the notice email.
func (s *Service) applySecurityOptions(ctx context.Context, tx milogin.Tx, portal milogin.Portal, accountID string, c milogin.SecurityOptionsChange, via string, now time.Time, m Meta) error {
	a, err := tx.Accounts().Update(ctx, accountID, func(a *milogin.Account) error {
		a.RecoverByEmail, a.RecoverByMobile = c.RecoverByEmail, c.RecoverByMobile
		if c.Mobile != "" && a.Mobile == "" {
			a.SetMobile(c.Mobile)
		}
		if c.PINChannel == milogin.ChannelSMS {
			// The PIN confirmed went to this number: its holder proved it.
			a.ProveMobile(c.PINTo)
		}
		a.UpdatedAt = now
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case !c.RecoverByQuestions:
		err = tx.SecurityAnswers().Put(ctx, a.ID, nil)
	case !c.KeepAnswers:
		err = tx.SecurityAnswers().Put(ctx, a.ID, c.Answers)
	}
	if err != nil {
		return err
	}
	var opts []string
	for _, o := range []struct {
		on   bool
		name string
	}{{c.RecoverByEmail, "email"}, {c.RecoverByMobile, "mobile"}, {c.RecoverByQuestions, "questions"}} {
		if o.on {
			opts = append(opts, o.name)
		}
	}
	if err := audit(ctx, tx, now, milogin.EventSecurityOptionsChanged, portal.ID, a.ID, a.ID, m,
		map[string]string{"options": strings.Join(opts, ","), "confirmed_by": via}); err != nil {
		return err
	}
	return mail(ctx, tx, now, a.Email, "security-options-changed", accountMail(portal, a))
}

// ConfirmSecurityOptions runs CONFIRM on the Security Options PIN step.
func (s *Service) ConfirmSecurityOptions(ctx context.Context, portalID milogin.PortalID, sessionToken, flowToken, pin string, m Meta) error {
	const op = "authn.ConfirmSecurityOptions"
	return confirmPINFlow(s, ctx, op, securityOptionsFlow, portalID, sessionToken, flowToken, pin,
		func(tx milogin.Tx, a *milogin.Account, now time.Time) error {
			return audit(ctx, tx, now, milogin.EventSecurityOptionsRejected, portalID, a.ID, a.ID, m, map[string]string{"reason": "too many wrong PINs"})
		},
		func(tx milogin.Tx, portal milogin.Portal, a *milogin.Account, c *milogin.SecurityOptionsChange, now time.Time) error {
			return s.applySecurityOptions(ctx, tx, portal, a.ID, *c, "pin", now, m)
		})
}

// ResendSecurityOptionsPIN sends a new PIN for a pending Security Options change.
func (s *Service) ResendSecurityOptionsPIN(ctx context.Context, portalID milogin.PortalID, sessionToken, flowToken string, m Meta) error {
	return resendPINFlow(s, ctx, "authn.ResendSecurityOptionsPIN", securityOptionsFlow, portalID, sessionToken, flowToken,
		func(c *milogin.SecurityOptionsChange) pinDest { return pinDest{Channel: c.PINChannel, To: c.PINTo} })
}

// pinFlow is what differs between the changes a signed-in person confirms
// with a PIN (a new email address, new Security Options): the flow's kind
// and its state C, the PIN's purpose and subject, the email template.
type pinFlow[C any] struct {
	kind, purpose, scope, template string
	// pinID points at the state's PINCodeID.
	pinID func(c *C) *string
}

var (
	emailChangeFlow = pinFlow[milogin.ProfileChange]{
		kind: milogin.FlowChangeEmail, purpose: milogin.PurposeChangeEmail, scope: "change-email", template: "email-change-pin",
		pinID: func(c *milogin.ProfileChange) *string { return &c.PINCodeID },
	}
	securityOptionsFlow = pinFlow[milogin.SecurityOptionsChange]{
		kind: milogin.FlowSecurityOptions, purpose: milogin.PurposeSecurityOpts, scope: "security-options", template: "security-options-pin",
		pinID: func(c *milogin.SecurityOptionsChange) *string { return &c.PINCodeID },
	}
)

// subject is the subject of the PINs of flow f.
func (p pinFlow[C]) subject(f *milogin.Flow) string { return p.scope + "|" + f.ID }

// pinData is what the PIN email says.
func pinData(a *milogin.Account, portal milogin.Portal) map[string]any {
	d := portalMail(portal)
	d["Name"] = a.DisplayName()
	return d
}

// startPINFlow creates a flow of p holding c for account a and sends its
// first PIN to dest; it returns the flow's token.
func startPINFlow[C any](s *Service, ctx context.Context, op string, p pinFlow[C], portalID milogin.PortalID, portal milogin.Portal, a *milogin.Account, c *C, dest pinDest, now time.Time) (string, error) {
	var token string
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		t, f, err := newFlow(p.kind, portalID, a.ID, c, now, profileLife)
		if err != nil {
			return err
		}
		if err := tx.Flows().Create(ctx, f); err != nil {
			return err
		}
		_, err = s.updateFlow(ctx, tx, op, p.kind, portalID, t, profileLife, c, func(f *milogin.Flow) error {
			id, err := s.sendPIN(ctx, tx, now, "", p.purpose, p.subject(f), dest, p.template, pinData(a, portal), false)
			*p.pinID(c) = id
			return err
		})
		token = t
		return err
	})
	return token, err
}

// confirmPINFlow runs CONFIRM on the PIN step of a flow of p for the person
// signed in with sessionToken: the right PIN applies the change (apply) and
// ends the flow; too many wrong ones end it too, after locked (if any).
func confirmPINFlow[C any](s *Service, ctx context.Context, op string, p pinFlow[C], portalID milogin.PortalID, sessionToken, flowToken, pin string,
	locked func(tx milogin.Tx, a *milogin.Account, now time.Time) error,
	apply func(tx milogin.Tx, portal milogin.Portal, a *milogin.Account, c *C, now time.Time) error) error {
	portal, a, err := s.signedIn(ctx, portalID, sessionToken)
	if err != nil {
		return err
	}
	now := s.now()
	var verr error
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		verr = nil
		var c C
		f, err := s.loadFlow(ctx, tx, op, p.kind, portalID, flowToken, &c)
		if err != nil {
			return err
		}
		if f.Subject != a.ID {
			return errFlowExpired(op)
		}
		out, perr, err := s.checkPIN(ctx, tx, now, *p.pinID(&c), p.purpose, p.subject(f), pin)
		if err != nil {
			return err
		}
		switch out {
		case pinLocked:
			verr = perr
			if locked != nil {
				if err := locked(tx, a, now); err != nil {
					return err
				}
			}
			return tx.Flows().Delete(ctx, f.ID)
		case pinInvalid, pinExpired:
			verr = perr
			return nil
		}
		if err := apply(tx, portal, a, &c, now); err != nil {
			return err
		}
		return tx.Flows().Delete(ctx, f.ID)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	if verr != nil {
		return verr
	}
	s.kick()
	return nil
}

// resendPINFlow sends a new PIN of a flow of p, to dest of its state, for
// the person signed in with sessionToken (RESEND PIN).
func resendPINFlow[C any](s *Service, ctx context.Context, op string, p pinFlow[C], portalID milogin.PortalID, sessionToken, flowToken string, dest func(c *C) pinDest) error {
	portal, a, err := s.signedIn(ctx, portalID, sessionToken)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		var c C
		_, err := s.updateFlow(ctx, tx, op, p.kind, portalID, flowToken, profileLife, &c, func(f *milogin.Flow) error {
			if f.Subject != a.ID {
				return errFlowExpired(op)
			}
			_, err := s.sendPIN(ctx, tx, now, *p.pinID(&c), p.purpose, p.subject(f), dest(&c), p.template, pinData(a, portal), false)
			return err
		})
		return err
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	s.kick()
	return nil
}
