package cars

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"time"

	"milogin/apps/cars/pdf"
)

// Label of sealed letter codes.
const sealLetter = "cars letter code"

// Letter is a mailed authorization code waiting to be printed (or printed).
type Letter struct {
	ID, Confirmation, AccountNumber string
	Name, Street, City, State, ZIP  string
	Created, Expires, Mailed        time.Time
	codeSealed                      string
}

// Letters lists the letter queue, oldest first; with pending only those not
// yet mailed.
func (db *DB) Letters(ctx context.Context, pending bool) ([]Letter, error) {
	q := `SELECT id, confirmation, account_number, name, street, city, state, zip, code_sealed, created_at, expires_at, mailed_at FROM cars_letters`
	if pending {
		q += ` WHERE mailed_at = 0`
	}
	return queryAll(ctx, db.sql, func(s scanner) (Letter, error) {
		var l Letter
		var c, e, m int64
		err := s.Scan(&l.ID, &l.Confirmation, &l.AccountNumber, &l.Name, &l.Street, &l.City, &l.State, &l.ZIP, &l.codeSealed, &c, &e, &m)
		l.Created, l.Expires, l.Mailed = fromMS(c), fromMS(e), fromMS(m)
		return l, err
	}, q+` ORDER BY created_at, id`)
}

// LettersOf lists the letters of one user's submissions (Correspondence).
func (db *DB) LettersOf(ctx context.Context, sub string) ([]Letter, error) {
	return queryAll(ctx, db.sql, func(s scanner) (Letter, error) {
		var l Letter
		var c, e, m int64
		err := s.Scan(&l.ID, &l.Confirmation, &l.AccountNumber, &l.Name, &l.Street, &l.City, &l.State, &l.ZIP, &c, &e, &m)
		l.Created, l.Expires, l.Mailed = fromMS(c), fromMS(e), fromMS(m)
		return l, err
	}, `SELECT l.id, l.confirmation, l.account_number, l.name, l.street, l.city, l.state, l.zip, l.created_at, l.expires_at, l.mailed_at
		FROM cars_letters l JOIN cars_requests r ON r.confirmation = l.confirmation WHERE r.sub = $1 ORDER BY l.created_at, l.id`, sub)
}

var letterHTML = template.Must(template.New("letter").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Account Authorization Code {{.Confirmation}}</title>
<style>body{font:12pt/1.5 Georgia,serif;max-width:6.5in;margin:1in auto;color:#000}
.code{font:bold 18pt/1.4 monospace;letter-spacing:.1em;border:1px solid #000;padding:.2in;text-align:center}
address{font-style:normal;margin:.5in 0}</style></head>
<body>
<header><p><strong>Michigan Department of State</strong><br>CARS e-Services</p></header>
<p>{{.Date}}</p>
<address>{{.Name}}<br>{{.Street}}<br>{{.City}}, {{.State}} {{.ZIP}}</address>
<h1>Your Account Authorization Code</h1>
<p>An account authorization code was requested for account {{.AccountNumber}} (confirmation number {{.Confirmation}}).</p>
<p class="code" id="authorization-code">{{.Code}}</p>
<p>The code can be used once, until {{.ExpiresText}}. To gain online access to the account, go to CARS e-Services at {{.BaseURL}}/mechanic-services, sign in with MILogin for Third Party, select "Add Account Access" and enter the code.</p>
<p>The code works only for the MILogin user who requested it. If you did not request it, you may discard this letter.</p>
</body></html>
`))

type letterView struct {
	Letter
	Code, Date, ExpiresText, BaseURL string
}

// PrintResult is what one print run wrote.
type PrintResult struct {
	Letter    Letter
	HTML, PDF string
}

// PrintLetters writes every pending letter to outDir as LETTER.html and
// LETTER.pdf and marks it mailed, erasing the sealed code: after printing,
// the paper is the only place the code exists.
func PrintLetters(ctx context.Context, db *DB, k *keys, outDir, baseURL string, now time.Time) ([]PrintResult, error) {
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return nil, err
	}
	pending, err := db.Letters(ctx, true)
	if err != nil {
		return nil, err
	}
	var out []PrintResult
	for _, l := range pending {
		code, err := k.openString(sealLetter, l.codeSealed)
		if err != nil {
			return out, fmt.Errorf("letter %s: %w", l.Confirmation, err)
		}
		v := letterView{Letter: l, Code: FormatCode(code), Date: now.Format("January 2, 2006"),
			ExpiresText: l.Expires.Format("January 2, 2006"), BaseURL: baseURL}
		base := filepath.Join(outDir, "letter-"+l.Confirmation)
		var h bytes.Buffer
		if err := letterHTML.Execute(&h, v); err != nil {
			return out, err
		}
		var p bytes.Buffer
		lines := []pdf.Line{
			{Text: "Michigan Department of State", Bold: true}, {Text: "CARS e-Services"}, {Text: ""},
			{Text: v.Date}, {Text: ""},
			{Text: l.Name}, {Text: l.Street}, {Text: l.City + ", " + l.State + " " + l.ZIP}, {Text: ""},
			{Text: "Your Account Authorization Code", Size: 16, Bold: true}, {Text: ""},
			{Text: "An account authorization code was requested for account " + l.AccountNumber},
			{Text: "(confirmation number " + l.Confirmation + ")."}, {Text: ""},
			{Text: v.Code, Size: 20, Bold: true}, {Text: ""},
			{Text: "The code can be used once, until " + v.ExpiresText + ". To gain online access to the"},
			{Text: "account, go to CARS e-Services at " + baseURL + "/mechanic-services,"},
			{Text: "sign in with MILogin for Third Party, select \"Add Account Access\" and enter the code."}, {Text: ""},
			{Text: "The code works only for the MILogin user who requested it."},
			{Text: "If you did not request it, you may discard this letter."},
		}
		if err := pdf.Write(&p, "Account Authorization Code "+l.Confirmation, lines); err != nil {
			return out, err
		}
		if err := os.WriteFile(base+".html", h.Bytes(), 0o600); err != nil {
			return out, err
		}
		if err := os.WriteFile(base+".pdf", p.Bytes(), 0o600); err != nil {
			return out, err
		}
		res, err := db.sql.ExecContext(ctx, `UPDATE cars_letters SET mailed_at = $2, code_sealed = '' WHERE id = $1 AND mailed_at = 0`, l.ID, ms(now))
		if err != nil {
			return out, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			// Another print run took it first: its files are the letter.
			os.Remove(base + ".html")
			os.Remove(base + ".pdf")
			continue
		}
		_ = db.Audit(ctx, now, "", "letter.printed", "confirmation="+l.Confirmation+" account="+l.AccountNumber)
		l.Mailed = now
		out = append(out, PrintResult{Letter: l, HTML: base + ".html", PDF: base + ".pdf"})
	}
	return out, nil
}
