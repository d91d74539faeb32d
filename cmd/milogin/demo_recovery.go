package main

import (
	"context"

	"milogin"
)

// The demo account that shows every recovery option of Forgot your
// password?: a PIN by email, a PIN by text (read it on /dev/mailbox) and the
// security questions below. Its answers are printed here on purpose, like
// demoPassword: demo mode is never for real accounts.
const demoRecoveryUserID = "garciam0001"

var demoSecurityAnswers = []struct{ question, answer string }{
	{"first-pet", "Rex"},
	{"birth-city", "Lansing"},
	{"first-car", "Ford Focus"},
	{"first-employer", "Meijer"},
}

// seedDemoAnswers gives the account its security questions.
func seedDemoAnswers(ctx context.Context, e *env, accountID string) error {
	var answers []milogin.SecurityAnswer
	for _, x := range demoSecurityAnswers {
		h, err := e.auth.Hasher.Hash(ctx, milogin.NormalizeAnswer(x.answer))
		if err != nil {
			return err
		}
		answers = append(answers, milogin.SecurityAnswer{QuestionID: x.question, Hash: h})
	}
	return e.store.Write(ctx, func(tx milogin.Tx) error {
		return tx.SecurityAnswers().Put(ctx, accountID, answers)
	})
}
