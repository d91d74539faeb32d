package main

import (
	"context"
	"time"

	"milogin"
	"milogin/internal/authn"
)

// demoPassword is the password of every demo account. It is printed at start:
// demo mode is for trying MILogin out, never for real accounts.
const demoPassword = "Mitten!State26"

type demoAccount struct {
	n authn.NewAccount
	// passwordAge sets when the password was last changed, to show the
	// expiry notice and the forced change.
	passwordAge time.Duration
}

func demoAccounts() []demoAccount {
	acct := func(userID, first, last, email string) authn.NewAccount {
		return authn.NewAccount{Portal: milogin.ThirdParty, UserID: userID, FirstName: first, LastName: last,
			Email: email, WorkPhone: "517-555-0100", Password: demoPassword, RecoverByEmail: true}
	}
	day := 24 * time.Hour
	return []demoAccount{
		{n: acct("smithj0001", "John", "Smith", "john.smith@example.org")},
		// 350 days: "Your password will expire in 10 days" (a day begun counts).
		{n: acct("brownb0001", "Bob", "Brown", "bob.brown@example.org"), passwordAge: 350 * day},
		// Past the 360-day limit: the password must be changed at sign-in.
		{n: acct("doej0001", "Jane", "Doe", "jane.doe@example.org"), passwordAge: 361 * day},
		// Every recovery option: email, text and security questions (demo_recovery.go).
		{n: recovery(acct(demoRecoveryUserID, "Maria", "Garcia", "maria.garcia@example.org"))},
	}
}

// recovery adds a mobile number, taken as proven, and the Mobile
// (Text/SMS) option.
func recovery(n authn.NewAccount) authn.NewAccount {
	n.Mobile, n.MobileVerified, n.RecoverByMobile = "517-555-0123", true, true
	return n
}

func demoUserIDs() []string {
	var ids []string
	for _, d := range demoAccounts() {
		ids = append(ids, d.n.UserID)
	}
	return ids
}

// seedDemo creates the demo accounts that do not exist yet.
func seedDemo(ctx context.Context, e *env) error {
	for _, d := range demoAccounts() {
		a, err := e.auth.CreateAccount(ctx, d.n, "demo", authn.Meta{UserAgent: "milogin demo"})
		if milogin.IsKind(err, milogin.ECONFLICT) {
			continue
		}
		if err != nil {
			return err
		}
		if a.UserID == demoRecoveryUserID {
			if err := seedDemoAnswers(ctx, e, a.ID); err != nil {
				return err
			}
		}
		if d.passwordAge > 0 {
			changed := e.auth.Now().UTC().Add(-d.passwordAge)
			err := e.store.Write(ctx, func(tx milogin.Tx) error {
				_, err := tx.Accounts().Update(ctx, a.ID, func(a *milogin.Account) error {
					a.PasswordChangedAt = changed
					return nil
				})
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
