package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"milogin"
	"milogin/internal/authn"
)

func runUsersAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin users add", stderr)
	var c common
	c.register(fs)
	var n authn.NewAccount
	portal := fs.String("portal", "thirdparty", "portal: citizen, thirdparty or workforce")
	fs.StringVar(&n.UserID, "user-id", "", "the MILogin user ID (thirdparty: last name + first initial + 4 digits)")
	fs.StringVar(&n.FirstName, "first", "", "first name")
	fs.StringVar(&n.MiddleInitial, "middle", "", "middle initial")
	fs.StringVar(&n.LastName, "last", "", "last name")
	fs.StringVar(&n.Suffix, "suffix", "", "suffix")
	fs.StringVar(&n.Email, "email", "", "email address")
	fs.StringVar(&n.WorkPhone, "work-phone", "", "work phone number")
	fs.StringVar(&n.Mobile, "mobile", "", "mobile number")
	fs.BoolVar(&n.MobileVerified, "mobile-verified", false, "the mobile number was confirmed with its holder (otherwise it serves no recovery or text passcode until a PIN sent to it is confirmed)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if !*pwStdin {
		return usageError{msg: "--password-stdin is required: passwords are never taken on the command line"}
	}
	p, err := milogin.ParsePortal(*portal)
	if err != nil {
		return usageError{msg: milogin.ErrorMessage(err)}
	}
	n.Portal = p
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading password: %w", err)
	}
	n.Password = strings.TrimRight(line, "\r\n")
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	a, err := e.auth.CreateAccount(ctx, n, "cli", authn.Meta{UserAgent: "milogin users add"})
	if err != nil {
		if vs := milogin.ViolationsOf(err); vs != nil {
			for _, v := range vs {
				fmt.Fprintf(stderr, "%s: %s\n", v.Field, v.Message)
			}
			return fmt.Errorf("account not created: %d rule(s) failed", len(vs))
		}
		return fmt.Errorf("account not created: %s", milogin.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "created %s account %s (%s)\n", a.Portal, a.UserID, a.ID)
	return nil
}
