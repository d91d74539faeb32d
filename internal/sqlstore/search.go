package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/pressly/goose/v3"

	"milogin"
)

// MaxSearchLimit bounds one page of a help-desk search.
const MaxSearchLimit = 100

// searchColumn is the indexed column each search field ranges over; every
// one has a (portal, column, id) index (migration 01000).
var searchColumn = map[milogin.SearchField]string{
	milogin.SearchUserID: "user_id_norm",
	milogin.SearchEmail:  "email_norm",
	milogin.SearchName:   "name_norm",
	milogin.SearchPhone:  "mobile_digits",
}

// prefixEnd is the exclusive upper bound of the strings starting with p in
// byte order: p followed by the largest code point.
func prefixEnd(p string) string { return p + "\U0010FFFF" }

// SearchQuery returns the SQL and arguments of a search, for Search and for
// the tests that check each engine's plan uses the index.
func SearchQuery(q milogin.AccountSearch) (string, []any, error) {
	col, ok := searchColumn[q.Field]
	if !ok {
		return "", nil, milogin.Errorf("sqlstore.Accounts.Search", milogin.EINVALID, "unknown search field %q", q.Field)
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxSearchLimit {
		limit = MaxSearchLimit
	}
	args := []any{string(q.Portal), q.Prefix, prefixEnd(q.Prefix)}
	query := `SELECT ` + col + `, ` + accountCols + ` FROM accounts
		WHERE portal = $1 AND ` + col + ` >= $2 AND ` + col + ` < $3`
	// A user ID is unique in its portal: it orders alone, on the unique
	// index. The other columns are not, so the ID breaks ties.
	unique := q.Field == milogin.SearchUserID
	switch {
	case q.AfterKey == "" && q.AfterID == "":
	case unique:
		args = append(args, q.AfterKey)
		query += ` AND ` + col + ` > $4`
	default:
		args = append(args, q.AfterKey, q.AfterID)
		query += ` AND (` + col + ` > $4 OR (` + col + ` = $4 AND id > $5))`
	}
	args = append(args, limit)
	order := col + `, id`
	if unique {
		order = col
	}
	query += ` ORDER BY ` + order + ` LIMIT $` + strconv.Itoa(len(args))
	return query, args, nil
}

func (r accounts) Search(ctx context.Context, q milogin.AccountSearch) ([]milogin.SearchHit, error) {
	const op = "sqlstore.Accounts.Search"
	query, args, err := SearchQuery(q)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r.t.q, op, func(s scanner) (milogin.SearchHit, error) {
		var key string
		a, err := scanAccount(prefixScanner{s, &key})
		return milogin.SearchHit{Account: a, Key: key}, err
	}, query, args...)
}

// prefixScanner reads one leading column into key before the account's.
type prefixScanner struct {
	s   scanner
	key *string
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.s.Scan(append([]any{p.key}, dest...)...)
}

// RefoldNameKeys is the Go migration after the one that made name_norm a
// column MILogin writes: it sets milogin.NameKey wherever the SQL engine's
// lower() filled in something else (names with letters outside ASCII).
// The changed rows are collected first and written after the read: on
// SQLite the transaction's one connection cannot write under an open read.
func RefoldNameKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, last_name, first_name, name_norm FROM accounts`)
	if err != nil {
		return fmt.Errorf("reading the names: %w", err)
	}
	type change struct{ id, key string }
	var changes []change
	for rows.Next() {
		var id, last, first, key string
		if err := rows.Scan(&id, &last, &first, &key); err != nil {
			rows.Close()
			return fmt.Errorf("reading the names: %w", err)
		}
		if k := milogin.NameKey(last, first); k != key {
			changes = append(changes, change{id, k})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the names: %w", err)
	}
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET name_norm = $1 WHERE id = $2`, c.key, c.id); err != nil {
			return fmt.Errorf("refolding the name of %s: %w", c.id, err)
		}
	}
	return nil
}

// NameKeyMigration is RefoldNameKeys as goose migration 01104, for both
// engines' migrators. Going down there is nothing to undo (01103 down
// restores the generated column).
func NameKeyMigration() *goose.Migration {
	return goose.NewGoMigration(1104, &goose.GoFunc{RunTx: RefoldNameKeys}, &goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error { return nil }})
}
