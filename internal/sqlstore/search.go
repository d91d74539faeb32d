package sqlstore

import (
	"context"
	"strconv"

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
