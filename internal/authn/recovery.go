package authn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"milogin"
)

// Forgot your User ID? and Forgot your password?
//
// Neither tells whether an account exists. Forgot User ID always answers
// "sent". Forgot Password runs a flow for an unknown user ID too: its
// options are made up from a keyed hash of the user ID (the same ones every
// time), a PIN "sent" for it matches nothing and its security answers are
// checked against the dummy hash, so the pages, the work and the timing are
// those of a real account. The one exception is the guide's own error
// "profile is incomplete", which only a real account can earn.

// Messages of the recovery pages.
const (
	MsgUserIDSent        = "Your user ID has been sent to the email address you provided."
	MsgProfileIncomplete = "Password cannot be changed since your profile is incomplete. Please use Help Page link to contact the helpdesk for further assistance."
	MsgTooManyResets     = "Too many password reset requests were made for this User ID. Please try again later."
	MsgSelectMethod      = "Please select one of the options."
	MsgAnswersWrong      = "One or more of your answers is incorrect. Please try again."
	MsgAnswersLocked     = "You have answered the security questions incorrectly too many times. Please start again."
	MsgResetNotVerified  = "Please verify your identity first."
	MsgPasswordResetDone = "Your password has been successfully updated."
)

const (
	maxResetsPerUserID     = 10 // reset flows per user ID per hour
	maxUserIDEmailsPerHour = 5  // user ID reminders per address per hour
	maxAnswerFailures      = 5  // wrong sets of security answers per flow
)

// ForgotUserID emails the user ID of the account with email, if there is
// one, after the verification question. The answer is the same whether or
// not the address is known: nil, or violations of the form itself.
func (s *Service) ForgotUserID(ctx context.Context, portalID milogin.PortalID, email, questionID, answer string, m Meta) error {
	const op = "authn.ForgotUserID"
	portal, err := s.Portal(portalID)
	if err != nil {
		return err
	}
	email = strings.TrimSpace(email)
	var vs []milogin.Violation
	switch {
	case email == "":
		vs = append(vs, milogin.Violation{Field: "email", Rule: milogin.RuleRequired, Message: "Email Address is required."})
	case !ValidEmail(email):
		vs = append(vs, milogin.Violation{Field: "email", Rule: "email", Message: "Enter a valid email address, such as name@example.org."})
	}
	now := s.now()
	sent := false
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		sent = false
		if ok, err := s.checkForm(ctx, tx, now, portalID, FormForgotUserID, questionID, answer, &vs); !ok {
			return err
		}
		_, allowed, err := tx.Limits().Reserve(ctx, "forgot-uid:"+string(portalID)+":"+milogin.NormalizeLogin(email), time.Hour, maxUserIDEmailsPerHour, now)
		if err != nil {
			return err
		}
		a, err := tx.Accounts().GetByEmail(ctx, portalID, email)
		if err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
			return err
		}
		detail := map[string]string{"found": "no"}
		subject := ""
		// An unknown (or limited) address gets the same message composed
		// and queued as a decoy: the same work, so the same time.
		data := portalMail(portal)
		data["Name"], data["UserID"] = "", "unknown00000"
		to := ""
		if a != nil {
			detail["found"], subject = "yes", a.ID
			data["UserID"] = a.UserID
			if allowed {
				to = a.Email
			} else {
				detail["limited"] = "yes"
			}
		}
		// Name stays empty: the guide's email opens with "Hello,".
		if to != "" {
			err = mail(ctx, tx, now, to, "forgot-user-id", data)
		} else {
			err = mailDecoy(ctx, tx, now, milogin.ChannelEmail, "forgot-user-id", data)
		}
		if err != nil {
			return err
		}
		sent = true
		return audit(ctx, tx, now, milogin.EventUserIDReminder, portalID, subject, subject, m, detail)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	if len(vs) > 0 {
		return milogin.Invalid(op, vs)
	}
	if sent {
		s.kick()
	}
	return nil
}

// checkForm checks the verification question of a recovery form whose
// fields have the violations *vs (the question is used up only when they
// have none) and adds its own; it reports whether the form may go on.
func (s *Service) checkForm(ctx context.Context, tx milogin.Tx, now time.Time, portalID milogin.PortalID, form, questionID, answer string, vs *[]milogin.Violation) (bool, error) {
	v, err := s.checkQuestion(ctx, tx, now, portalID, form, questionID, answer, len(*vs) == 0)
	if err != nil {
		return false, err
	}
	if v != nil {
		*vs = append(*vs, *v)
	}
	return len(*vs) == 0, nil
}

// accountOptions lists the recovery methods an account can use.
func accountOptions(pol milogin.Policy, a *milogin.Account, answers []milogin.SecurityAnswer) []milogin.RecoveryMethod {
	var out []milogin.RecoveryMethod
	if a.RecoverByEmail && a.Email != "" {
		out = append(out, milogin.RecoverEmail)
	}
	if a.RecoverByMobile && a.ProvenMobile() != "" {
		out = append(out, milogin.RecoverText)
	}
	if pol.SecurityQuestions && len(answers) == milogin.SecurityQuestionCount {
		out = append(out, milogin.RecoverQuestions)
	}
	return out
}

// decoyOptions makes up the options of an unknown user ID: always Email,
// sometimes Text Message and Security Questions, the same for the same user
// ID every time, and unguessable without the code key.
func (s *Service) decoyOptions(pol milogin.Policy, portal milogin.PortalID, userID string) ([]milogin.RecoveryMethod, []string) {
	seed := s.Codes.Hash("decoy-recovery", string(portal)+"|"+milogin.NormalizeLogin(userID))
	out := []milogin.RecoveryMethod{milogin.RecoverEmail}
	if seed[0]&3 == 0 {
		out = append(out, milogin.RecoverText)
	}
	var qs []string
	if pol.SecurityQuestions && seed[1]&1 == 0 {
		out = append(out, milogin.RecoverQuestions)
		var key [32]byte
		copy(key[:], seed)
		r := rand.New(rand.NewChaCha8(key))
		for _, i := range r.Perm(len(milogin.SecurityQuestions))[:milogin.SecurityQuestionCount] {
			qs = append(qs, milogin.SecurityQuestions[i].ID)
		}
	}
	return out, qs
}

// StartReset runs 1 Enter User ID: the verification question, then a flow
// for the user ID (real or not) offering its options. It returns the flow's
// token; EFORBIDDEN with MsgProfileIncomplete when the account's email or
// mobile is shared with another account or it has no usable option;
// ERATELIMIT after too many resets of the user ID in an hour.
func (s *Service) StartReset(ctx context.Context, portalID milogin.PortalID, userID, questionID, answer string, m Meta) (string, error) {
	const op = "authn.StartReset"
	portal, err := s.Portal(portalID)
	if err != nil {
		return "", err
	}
	pol := portal.Policy
	userID = strings.TrimSpace(userID)
	var vs []milogin.Violation
	switch {
	case userID == "":
		vs = append(vs, milogin.Violation{Field: "user_id", Rule: milogin.RuleRequired, Message: "User ID is required."})
	case len(userID) > 64:
		vs = append(vs, milogin.Violation{Field: "user_id", Rule: milogin.RuleUserIDForm, Message: "User ID must be 3 to 64 characters long."})
	}
	now := s.now()
	var token string
	var refused error
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		token, refused = "", nil
		if ok, err := s.checkForm(ctx, tx, now, portalID, FormForgotPassword, questionID, answer, &vs); !ok {
			return err
		}
		_, allowed, err := tx.Limits().Reserve(ctx, "reset:"+string(portalID)+":"+milogin.NormalizeLogin(userID), time.Hour, maxResetsPerUserID, now)
		if err != nil {
			return err
		}
		if !allowed {
			refused = milogin.Errorf(op, milogin.ERATELIMIT, MsgTooManyResets)
			return nil
		}
		a, err := tx.Accounts().GetByUserID(ctx, portalID, userID)
		if err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
			return err
		}
		// The same queries for an unknown user ID as for a real one.
		accountID, mobile := "", "0000000000"
		// Only a proven number can be shared: an unproven one (typed in by
		// anyone, perhaps to switch off the real holder's recovery) is
		// neither counted here nor counts against anyone else.
		if a != nil {
			accountID = a.ID
			if a.MobileVerified && a.Mobile != "" {
				mobile = a.Mobile
			}
		}
		answers, err := tx.SecurityAnswers().List(ctx, accountID)
		if err != nil {
			return err
		}
		sharedMobile, err := tx.Accounts().CountByMobile(ctx, portalID, mobile)
		if err != nil {
			return err
		}
		r := milogin.PasswordReset{UserID: userID}
		detail := map[string]string{"user_id": userID}
		if a != nil {
			r.Options = accountOptions(pol, a, answers)
			if len(r.Options) > 0 && slicesContains(r.Options, milogin.RecoverQuestions) {
				for _, x := range answers {
					r.QuestionIDs = append(r.QuestionIDs, x.QuestionID)
				}
			}
			if sharedMobile > 1 || len(r.Options) == 0 || s.emailShared(ctx, tx, a) {
				refused = milogin.Errorf(op, milogin.EFORBIDDEN, MsgProfileIncomplete)
				detail["refused"] = "profile incomplete"
				return audit(ctx, tx, now, milogin.EventResetFailed, portalID, "", a.ID, m, detail)
			}
		} else {
			r.Options, r.QuestionIDs = s.decoyOptions(pol, portalID, userID)
			detail["found"] = "no"
			s.emailShared(ctx, tx, &milogin.Account{Portal: portalID, Email: "nobody@invalid.example"}) // the same query
		}
		t, f, err := newFlow(milogin.FlowResetPassword, portalID, accountID, &r, now, resetLife)
		if err != nil {
			return err
		}
		if err := tx.Flows().Create(ctx, f); err != nil {
			return err
		}
		token = t
		return audit(ctx, tx, now, milogin.EventResetStarted, portalID, "", accountID, m, detail)
	})
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	if len(vs) > 0 {
		return "", milogin.Invalid(op, vs)
	}
	if refused != nil {
		return "", refused
	}
	return token, nil
}

// emailShared reports whether another account of the portal has a's email
// and has proven it. The unique index makes that impossible for accounts
// written by this system; it guards against imported data. As for mobile
// numbers, an unproven address counts against no one.
func (s *Service) emailShared(ctx context.Context, tx milogin.Tx, a *milogin.Account) bool {
	if a.Email == "" {
		return false
	}
	other, err := tx.Accounts().GetByEmail(ctx, a.Portal, a.Email)
	return err == nil && other.ID != a.ID && other.EmailVerified
}

func slicesContains(ms []milogin.RecoveryMethod, m milogin.RecoveryMethod) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func resetSubject(f *milogin.Flow) string { return "reset|" + f.ID }

// ChooseResetOption runs 2 Select Options. For Email or Text Message it
// sends a PIN (nothing leaves for an unknown user ID); Security Questions
// sends nothing.
func (s *Service) ChooseResetOption(ctx context.Context, portalID milogin.PortalID, token string, method milogin.RecoveryMethod, m Meta) error {
	const op = "authn.ChooseResetOption"
	portal, err := s.Portal(portalID)
	if err != nil {
		return err
	}
	now := s.now()
	sent := false
	var r milogin.PasswordReset
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		sent = false
		_, err := s.updateFlow(ctx, tx, op, milogin.FlowResetPassword, portalID, token, resetLife, &r, func(f *milogin.Flow) error {
			if r.Verified {
				return nil // already verified: go on to 4 New Password
			}
			if method == "" || !r.Has(method) {
				return milogin.Invalid(op, []milogin.Violation{{Field: "method", Rule: milogin.RuleRequired, Message: MsgSelectMethod}})
			}
			r.Method = method
			if method == milogin.RecoverQuestions {
				return nil
			}
			var dest pinDest
			decoy := f.Subject == ""
			// The same read for an unknown user ID (it finds nothing).
			a, err := tx.Accounts().Get(ctx, f.Subject)
			if err != nil && !(decoy && milogin.IsKind(err, milogin.ENOTFOUND)) {
				return err
			}
			if !decoy {
				dest = pinDest{Channel: milogin.ChannelEmail, To: a.Email}
				if method == milogin.RecoverText {
					dest = pinDest{Channel: milogin.ChannelSMS, To: a.ProvenMobile()}
				}
			} else if method == milogin.RecoverText {
				dest.Channel = milogin.ChannelSMS
			}
			id, err := s.sendPIN(ctx, tx, now, r.PINCodeID, milogin.PurposeResetPassword, resetSubject(f), dest, "reset-pin",
				portalMail(portal), decoy)
			if err != nil {
				return err
			}
			r.PINCodeID, sent = id, true
			return nil
		})
		return err
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	if sent {
		s.kick()
	}
	return nil
}

// ResendResetPIN sends a new PIN over the chosen method (RESEND PIN).
func (s *Service) ResendResetPIN(ctx context.Context, portalID milogin.PortalID, token string, m Meta) error {
	const op = "authn.ResendResetPIN"
	var r milogin.PasswordReset
	if _, err := s.FlowState(ctx, milogin.FlowResetPassword, portalID, token, &r); err != nil {
		return err
	}
	if r.Method != milogin.RecoverEmail && r.Method != milogin.RecoverText {
		return errFlowExpired(op)
	}
	return s.ChooseResetOption(ctx, portalID, token, r.Method, m)
}

// VerifyResetPIN runs 3 Verify with a PIN. A wrong PIN counts a try (EINVALID);
// the fifth ends the flow (ELOCKED).
func (s *Service) VerifyResetPIN(ctx context.Context, portalID milogin.PortalID, token, pin string, m Meta) error {
	const op = "authn.VerifyResetPIN"
	now := s.now()
	var verr error
	err := s.Store.Write(ctx, func(tx milogin.Tx) error {
		verr = nil
		var r milogin.PasswordReset
		f, err := s.loadFlow(ctx, tx, op, milogin.FlowResetPassword, portalID, token, &r)
		if err != nil {
			return err
		}
		if r.Verified {
			// A second CONFIRM of the right PIN (a double-submit, a reload)
			// finds the reset verified: it goes on to 4 New Password, and
			// the used PIN must not count as a wrong one and end it.
			return nil
		}
		if r.Method != milogin.RecoverEmail && r.Method != milogin.RecoverText {
			return errFlowExpired(op)
		}
		out, perr, err := s.checkPIN(ctx, tx, now, r.PINCodeID, milogin.PurposeResetPassword, resetSubject(f), pin)
		if err != nil {
			return err
		}
		detail := map[string]string{"method": string(r.Method)}
		switch out {
		case pinOK:
			_, err := s.updateFlow(ctx, tx, op, milogin.FlowResetPassword, portalID, token, resetLife, &r, func(*milogin.Flow) error {
				r.Verified = true
				return nil
			})
			if err != nil {
				return err
			}
			return audit(ctx, tx, now, milogin.EventResetVerified, portalID, f.Subject, f.Subject, m, detail)
		case pinLocked:
			// Where the limits allow, the flow is kept at 2 Select
			// Options for a new PIN; otherwise it ends.
			again, err := pinRoundAllowed(ctx, tx, now, r.PINRounds,
				"reset:"+string(portalID)+":"+milogin.NormalizeLogin(r.UserID), maxResetsPerUserID)
			if err != nil {
				return err
			}
			if again {
				detail["new_pin"] = "offered"
				if _, err := s.updateFlow(ctx, tx, op, milogin.FlowResetPassword, portalID, token, resetLife, &r, func(*milogin.Flow) error {
					r.Method, r.PINCodeID, r.PINRounds = "", "", r.PINRounds+1
					return nil
				}); err != nil {
					return err
				}
				perr = milogin.Errorf(op, milogin.ELOCKED, MsgPINLockedReset)
			} else {
				detail["ended"] = "yes"
				if err := tx.Flows().Delete(ctx, f.ID); err != nil {
					return err
				}
			}
		}
		verr = perr
		if out == pinExpired || strings.TrimSpace(pin) == "" {
			return nil // not a guess
		}
		return audit(ctx, tx, now, milogin.EventResetFailed, portalID, "", f.Subject, m, detail)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return verr
}

// VerifyResetAnswers runs 3 Verify with the security questions: all four
// answers are checked (argon2id each, the dummy hash for an unknown user ID)
// and a wrong set counts one failure; the fifth ends the flow (ELOCKED).
func (s *Service) VerifyResetAnswers(ctx context.Context, portalID milogin.PortalID, token string, answers []string, m Meta) error {
	const op = "authn.VerifyResetAnswers"
	var r milogin.PasswordReset
	f, err := s.FlowState(ctx, milogin.FlowResetPassword, portalID, token, &r)
	if err != nil {
		return err
	}
	if r.Verified {
		return nil // answered already (a double-submit): go on
	}
	if r.Method != milogin.RecoverQuestions || len(r.QuestionIDs) != milogin.SecurityQuestionCount {
		return errFlowExpired(op)
	}
	var vs []milogin.Violation
	for i := range milogin.SecurityQuestionCount {
		if i >= len(answers) || milogin.NormalizeAnswer(answers[i]) == "" {
			vs = append(vs, milogin.Violation{Field: fmt.Sprintf("answer%d", i+1), Rule: milogin.RuleRequired, Message: fmt.Sprintf("Enter Security Answer #%d.", i+1)})
		}
	}
	if len(vs) > 0 {
		return milogin.Invalid(op, vs)
	}
	var stored []milogin.SecurityAnswer
	if f.Subject != "" {
		err := s.Store.Read(ctx, func(tx milogin.Tx) error {
			var err error
			stored, err = tx.SecurityAnswers().List(ctx, f.Subject)
			return err
		})
		if err != nil {
			return milogin.Wrap(op, err)
		}
	}
	// Every answer is hashed, right or wrong, real or not: the time taken
	// says nothing.
	ok := f.Subject != "" && len(stored) == len(r.QuestionIDs)
	for i, q := range r.QuestionIDs {
		a := milogin.NormalizeAnswer(answers[i])
		if i < len(stored) && stored[i].QuestionID == q && f.Subject != "" {
			good, _, err := s.Hasher.Verify(ctx, stored[i].Hash, a)
			if err != nil {
				return milogin.Wrap(op, err)
			}
			ok = ok && good
			continue
		}
		if err := s.Hasher.VerifyDummy(ctx, a); err != nil {
			return milogin.Wrap(op, err)
		}
		ok = false
	}
	now := s.now()
	var verr error
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		verr = nil
		ended := false
		f, err := s.updateFlow(ctx, tx, op, milogin.FlowResetPassword, portalID, token, resetLife, &r, func(*milogin.Flow) error {
			if ok {
				r.Verified = true
				return nil
			}
			r.Failures++
			ended = r.Failures >= maxAnswerFailures
			return nil
		})
		if err != nil {
			return err
		}
		detail := map[string]string{"method": string(milogin.RecoverQuestions)}
		if ok {
			return audit(ctx, tx, now, milogin.EventResetVerified, portalID, f.Subject, f.Subject, m, detail)
		}
		verr = milogin.Errorf(op, milogin.EUNAUTHORIZED, MsgAnswersWrong)
		if ended {
			verr = milogin.Errorf(op, milogin.ELOCKED, MsgAnswersLocked)
			detail["ended"] = "yes"
			if err := tx.Flows().Delete(ctx, f.ID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, now, milogin.EventResetFailed, portalID, "", f.Subject, m, detail)
	})
	if err != nil {
		return milogin.Wrap(op, err)
	}
	return verr
}

// CompleteReset runs 4 New Password on a verified flow: every password rule
// (history included), then in one transaction the new password, the lock
// cleared, every session of the account ended, the audit event and the
// notice email. The flow ends.
func (s *Service) CompleteReset(ctx context.Context, portalID milogin.PortalID, token, password, confirm string, m Meta) (*milogin.Account, error) {
	const op = "authn.CompleteReset"
	portal, err := s.Portal(portalID)
	if err != nil {
		return nil, err
	}
	pol := portal.Policy
	var r milogin.PasswordReset
	f, err := s.FlowState(ctx, milogin.FlowResetPassword, portalID, token, &r)
	if err != nil {
		return nil, err
	}
	if !r.Verified || f.Subject == "" {
		return nil, milogin.Errorf(op, milogin.EFORBIDDEN, MsgResetNotVerified)
	}
	var acct *milogin.Account
	err = s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		acct, err = tx.Accounts().Get(ctx, f.Subject)
		return err
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	var vs []milogin.Violation
	if password == "" {
		vs = append(vs, milogin.Violation{Field: "new_password", Rule: milogin.RuleRequired, Message: "Enter New Password is required."})
	} else {
		pvs, err := s.CheckNewPassword(ctx, pol, acct, password)
		if err != nil {
			return nil, milogin.Wrap(op, err)
		}
		for i := range pvs {
			pvs[i].Field = "new_password"
		}
		vs = append(vs, pvs...)
	}
	if confirm != password {
		vs = append(vs, milogin.Violation{Field: "confirm_password", Rule: milogin.RuleConfirm, Message: "Confirm New Password must match the new password."})
	}
	if len(vs) > 0 {
		return nil, milogin.Invalid(op, vs)
	}
	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	now := s.now()
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		var cur milogin.PasswordReset
		if _, err := s.loadFlow(ctx, tx, op, milogin.FlowResetPassword, portalID, token, &cur); err != nil {
			return err
		}
		if !cur.Verified {
			return milogin.Errorf(op, milogin.EFORBIDDEN, MsgResetNotVerified)
		}
		if err := tx.Flows().Delete(ctx, f.ID); err != nil {
			return err
		}
		a, err := tx.Accounts().Update(ctx, f.Subject, func(a *milogin.Account) error {
			if a.PasswordHash != acct.PasswordHash {
				return milogin.Errorf(op, milogin.ECONFLICT, "Your password was changed at the same time. Please start again.")
			}
			a.SetPassword(hash, pol, now)
			a.Unlock()
			a.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		ids, err := tx.Sessions().DeleteByAccount(ctx, a.ID, "")
		if err != nil {
			return err
		}
		if err := s.endedBecause(ctx, tx, pol, a.ID, ids, milogin.EndPasswordChanged, now); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, milogin.EventPasswordReset, portalID, a.ID, a.ID, m,
			map[string]string{"method": string(cur.Method), "sessions_ended": fmt.Sprint(len(ids))}); err != nil {
			return err
		}
		acct = a
		return mail(ctx, tx, now, a.Email, "password-reset", accountMail(portal, a))
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	s.kick()
	return acct, nil
}
