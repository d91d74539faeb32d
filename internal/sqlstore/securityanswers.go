package sqlstore

import (
	"context"

	"milogin"
)

type securityAnswers struct{ t *tx }

var _ milogin.SecurityAnswerStore = securityAnswers{}

func (t *tx) SecurityAnswers() milogin.SecurityAnswerStore { return securityAnswers{t} }

func (r securityAnswers) List(ctx context.Context, accountID string) ([]milogin.SecurityAnswer, error) {
	const op = "sqlstore.SecurityAnswers.List"
	return queryAll(ctx, r.t.q, op, func(s scanner) (a milogin.SecurityAnswer, err error) {
		err = s.Scan(&a.QuestionID, &a.Hash)
		return a, err
	}, `SELECT question_id, answer_hash FROM security_answers
		WHERE account_id = $1 ORDER BY position`, accountID)
}

// Put deletes the account's answers and inserts the new ones, inside the
// caller's transaction: readers see the old set or the new one, never a mix.
func (r securityAnswers) Put(ctx context.Context, accountID string, answers []milogin.SecurityAnswer) error {
	const op = "sqlstore.SecurityAnswers.Put"
	if err := r.t.writable(op); err != nil {
		return err
	}
	if _, err := r.t.q.ExecContext(ctx, `DELETE FROM security_answers WHERE account_id = $1`, accountID); err != nil {
		return milogin.Wrap(op, err)
	}
	for i, a := range answers {
		_, err := r.t.q.ExecContext(ctx, `INSERT INTO security_answers (account_id, position, question_id, answer_hash)
			VALUES ($1, $2, $3, $4)`, accountID, i, a.QuestionID, a.Hash)
		if err != nil {
			return milogin.Wrap(op, err)
		}
	}
	return nil
}
