package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/authn"
)

// Access decisions from the command line, until the administration console
// exists. Scripts depend on these forms:
//
//	milogin access approve --portal P --app APP --user-id ID [--reason TEXT]
//	milogin access deny    --portal P --app APP --user-id ID [--reason TEXT]
//	milogin access grant   --portal P --app APP --user-id ID [--reason TEXT]
//	milogin access revoke  --portal P --app APP --user-id ID [--reason TEXT]
//	milogin access list    --app APP [--status pending|granted|denied|revoked] [--json]
//
// approve and deny decide a pending request (exit status 1 when there is
// none); grant and revoke work from any state and change nothing when the
// access already is as asked. Each change is audited with the actor "cli"
// (and $USER) and emails the person, in one transaction; a running server's
// outbox worker delivers the email.

const accessUsage = `usage: milogin access <approve|deny|grant|revoke|list> [flags]
`

func runAccess(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, accessUsage)
		return usageError{}
	}
	switch args[0] {
	case "approve", "deny", "grant", "revoke":
		return runAccessChange(ctx, args[0], args[1:], getenv, stdout, stderr)
	case "list":
		return runAccessList(ctx, args[1:], getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, accessUsage)
	return usageError{msg: fmt.Sprintf("unknown access command %q", args[0])}
}

// cliActor names the operator in the audit trail.
func cliActor(getenv func(string) string, command string) access.Actor {
	id := "cli"
	if u := strings.TrimSpace(getenv("USER")); u != "" && len(u) <= 64 {
		id += ":" + u
	}
	return access.Actor{ID: id, Meta: authn.Meta{UserAgent: "milogin access " + command}}
}

func runAccessChange(ctx context.Context, command string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin access "+command, stderr)
	var c common
	c.register(fs)
	portal := fs.String("portal", "thirdparty", "portal of the account: citizen, thirdparty or workforce")
	appID := fs.String("app", "", "application ID, e.g. osmis")
	userID := fs.String("user-id", "", "the person's MILogin user ID")
	reason := fs.String("reason", "", "why (kept in the audit trail and told to the person on deny and revoke)")
	if _, err := parseOnlyCommonEnv(fs, args, getenv); err != nil {
		return err
	}
	if *appID == "" || *userID == "" {
		return usageError{msg: "--app and --user-id are required"}
	}
	p, err := milogin.ParsePortal(*portal)
	if err != nil {
		return usageError{msg: milogin.ErrorMessage(err)}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	var acct *milogin.Account
	err = e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		acct, err = tx.Accounts().GetByUserID(ctx, p, *userID)
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return fmt.Errorf("no %s account with user ID %q", p, *userID)
	}
	if err != nil {
		return err
	}
	svc := access.New(e.store)
	actor := cliActor(getenv, command)
	var res *access.Result
	switch command {
	case "approve":
		res, err = svc.Approve(ctx, *appID, acct.ID, *reason, actor)
	case "deny":
		res, err = svc.Deny(ctx, *appID, acct.ID, *reason, actor)
	case "grant":
		res, err = svc.Grant(ctx, *appID, acct.ID, *reason, actor)
	case "revoke":
		res, err = svc.Revoke(ctx, *appID, acct.ID, *reason, actor)
	}
	if err != nil {
		if milogin.ErrorKind(err) == milogin.EINTERNAL {
			return err
		}
		return fmt.Errorf("%s: %s", command, milogin.ErrorMessage(err))
	}
	if !res.Changed {
		st := "none"
		if res.Grant != nil {
			st = string(res.Grant.Status)
		}
		fmt.Fprintf(stdout, "no change: %s access to %s is already %s\n", acct.UserID, res.App.ID, st)
		return nil
	}
	fmt.Fprintf(stdout, "%s access to %s: %s", acct.UserID, res.App.ID, res.Grant.Status)
	if acct.Email != "" && (command != "revoke" || res.Grant.Status == milogin.GrantRevoked) {
		fmt.Fprintf(stdout, " (email queued to %s)", acct.Email)
	}
	fmt.Fprintln(stdout)
	return nil
}

// accessRow is one line of access list --json.
type accessRow struct {
	UserID      string    `json:"user_id"`
	AccountID   string    `json:"account_id"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	Status      string    `json:"status"`
	RequestedAt time.Time `json:"requested_at,omitzero"`
	DecidedAt   time.Time `json:"decided_at,omitzero"`
	DecidedBy   string    `json:"decided_by,omitempty"`
	Reason      string    `json:"reason,omitempty"`
}

func runAccessList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin access list", stderr)
	var c common
	c.register(fs)
	appID := fs.String("app", "", "application ID, e.g. osmis")
	status := fs.String("status", "", "only requests or grants in this state: pending, granted, denied or revoked")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseOnlyCommonEnv(fs, args, getenv); err != nil {
		return err
	}
	if *appID == "" {
		return usageError{msg: "--app is required"}
	}
	switch milogin.GrantStatus(*status) {
	case "", milogin.GrantPending, milogin.GrantActive, milogin.GrantDenied, milogin.GrantRevoked:
	default:
		return usageError{msg: fmt.Sprintf("--status %q: want pending, granted, denied or revoked", *status)}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	var rows []accessRow
	err = e.store.Read(ctx, func(tx milogin.Tx) error {
		if _, err := tx.Apps().Get(ctx, *appID); err != nil {
			return err
		}
		grants, err := tx.Grants().ListByApp(ctx, *appID, milogin.GrantStatus(*status))
		if err != nil {
			return err
		}
		for _, g := range grants {
			a, err := tx.Accounts().Get(ctx, g.AccountID)
			if err != nil {
				return err
			}
			rows = append(rows, accessRow{UserID: a.UserID, AccountID: a.ID, Name: a.DisplayName(), Email: a.Email,
				Status: string(g.Status), RequestedAt: g.RequestedAt, DecidedAt: g.DecidedAt, DecidedBy: g.DecidedBy, Reason: g.Reason})
		}
		return nil
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return fmt.Errorf("no application %q", *appID)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if rows == nil {
			rows = []accessRow{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER ID\tNAME\tEMAIL\tSTATUS\tREQUESTED\tDECIDED BY")
	for _, r := range rows {
		req := ""
		if !r.RequestedAt.IsZero() {
			req = r.RequestedAt.In(access.StateLocation()).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.UserID, r.Name, r.Email, r.Status, req, r.DecidedBy)
	}
	return tw.Flush()
}
