package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"milogin"
	"milogin/internal/access"
	"milogin/internal/admin"
	"milogin/internal/authn"
)

const adminUsage = `usage:
  milogin admin bootstrap --email E --name N [--base-url URL]
  milogin admin add --email E --name N --role helpdesk|appadmin|security [--app ID] [--base-url URL]
`

// runAdmin is `milogin admin bootstrap|add`: staff accounts for the
// console. Each prints a one-time enrolment link (24 hours) where the staff
// member sets a password and an authenticator app; the link's token is
// stored only as a hash.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 1 || (args[0] != "bootstrap" && args[0] != "add") {
		fmt.Fprint(stderr, adminUsage)
		if len(args) < 1 {
			return usageError{}
		}
		return usageError{msg: fmt.Sprintf("unknown admin command %q", args[0])}
	}
	bootstrap := args[0] == "bootstrap"
	fs := newFlagSet("milogin admin "+args[0], stderr)
	var c common
	c.register(fs)
	email := fs.String("email", "", "the staff member's work email (their console sign-in)")
	name := fs.String("name", "", "the staff member's name")
	baseURL := fs.String("base-url", "http://localhost:8080", "the public URL of MILogin, for the enrolment link")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	role, app := new(string), new(string)
	if !bootstrap {
		role = fs.String("role", "", "helpdesk, appadmin or security")
		app = fs.String("app", "", "the application of an appadmin")
	}
	if err := parse(fs, args[1:], getenv); err != nil {
		return err
	}
	grant := milogin.StaffGrant{Role: milogin.RoleSecurity}
	if !bootstrap {
		r, err := milogin.ParseStaffRole(*role)
		if err != nil {
			return usageError{msg: "--role: " + milogin.ErrorMessage(err)}
		}
		grant = milogin.StaffGrant{Role: r, AppID: *app}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	svc := adminService(e, *baseURL, slog.New(slog.NewTextHandler(io.Discard, nil)))
	actor := admin.Actor{ID: "cli", Meta: authn.Meta{UserAgent: "milogin admin " + args[0]}}
	res, err := svc.AddStaff(ctx, admin.NewStaff{Email: *email, Name: *name, Roles: []milogin.StaffGrant{grant}}, bootstrap, actor)
	if err != nil {
		if vs := milogin.ViolationsOf(err); len(vs) > 0 {
			for _, v := range vs {
				fmt.Fprintln(stderr, v.Message)
			}
			return usageError{msg: "staff account not created"}
		}
		return fmt.Errorf("staff account not created: %s", milogin.ErrorMessage(err))
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"account_id": res.Account.ID, "email": res.Account.Email, "roles": admin.RolesText(res.Roles),
			"created": res.Created, "enrolment_link": res.Link,
		})
	}
	verb := "Added"
	if res.Created {
		verb = "Created"
	}
	fmt.Fprintf(stdout, "%s staff account %s (%s), roles: %s.\n", verb, res.Account.Email, res.Account.DisplayName(), admin.RolesText(res.Roles))
	if res.Link != "" {
		fmt.Fprintf(stdout, "One-time enrolment link (valid %s; set a password and an authenticator app there):\n%s\n", admin.EnrolLife, res.Link)
	}
	return nil
}

// adminService builds the console's service over an opened environment.
func adminService(e *env, baseURL string, logger *slog.Logger) *admin.Service {
	acc, mf, _ := setupAccess(e, baseURL, access.StateTimeZone, logger, nil)
	return admin.NewService(e.store, e.auth, mf, acc, baseURL)
}

// runAudit is `milogin audit export --since T [--until T] [--portal P]
// --format jsonl`: the audit trail as JSON Lines on standard output, oldest
// first, streamed a page at a time (see docs/admin.md for the fields).
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: milogin audit export --since T [--until T] [--portal P] --format jsonl\n"
	if len(args) < 1 || args[0] != "export" {
		fmt.Fprint(stderr, usage)
		if len(args) < 1 {
			return usageError{}
		}
		return usageError{msg: fmt.Sprintf("unknown audit command %q", args[0])}
	}
	fs := newFlagSet("milogin audit export", stderr)
	var c common
	c.register(fs)
	since := fs.String("since", "", "first instant (RFC 3339, or YYYY-MM-DD in UTC)")
	until := fs.String("until", "", "end, exclusive (RFC 3339, or YYYY-MM-DD in UTC)")
	portal := fs.String("portal", "", "only events of this portal (citizen, thirdparty, workforce, staff)")
	format := fs.String("format", "", "output format: jsonl")
	if _, err := parseOnlyCommonEnv(fs, args[1:], getenv); err != nil {
		return err
	}
	if *format != "jsonl" {
		return usageError{msg: "--format jsonl is required (the only format)"}
	}
	var f admin.ExportFilter
	var err error
	if *since == "" {
		return usageError{msg: "--since is required"}
	}
	if f.Since, err = parseTime(*since); err != nil {
		return usageError{msg: "--since: " + err.Error()}
	}
	if *until != "" {
		if f.Until, err = parseTime(*until); err != nil {
			return usageError{msg: "--until: " + err.Error()}
		}
	}
	if *portal != "" {
		if *portal == string(milogin.Staff) {
			f.Portal = milogin.Staff
		} else if f.Portal, err = milogin.ParsePortal(*portal); err != nil {
			return usageError{msg: "--portal: " + milogin.ErrorMessage(err)}
		}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	svc := adminService(e, "http://127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	id := "cli"
	if u := strings.TrimSpace(getenv("USER")); u != "" && len(u) <= 64 {
		id += ":" + u
	}
	if _, err := svc.ExportAudit(ctx, stdout, f, admin.Actor{ID: id, Meta: authn.Meta{UserAgent: "milogin audit export"}}); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-12-01T22:30:00Z) nor a date (2026-12-01)", s)
}
