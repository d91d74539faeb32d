// Command milogin runs the MILogin identity platform and its administration
// commands. Every subcommand takes the same --data and --db flags, so it
// works while a server runs on the same database.
//
//	milogin demo [--addr A] [--osmis-addr A] [--cars-addr A] [--data DIR] [--smtp URL]
//	milogin serve [--addr A] [--data DIR] [--db DSN] [--base-url URL] [--smtp URL] [--mail-from ADDR] [--demo]
//	milogin users add --portal P --user-id ID --first F --last L --email E [--work-phone N] [--mobile N] --password-stdin
//	milogin users seed --portal P --count N [--prefix seed] [--start 0] [--password-stdin]
//	milogin apps add --portal thirdparty --id ID --name NAME --redirect-uri URI [--redirect-uri URI …] [--post-logout-uri URI] [--backchannel-logout-uri URI] [--public] [--category C] [--approval open|approval|provisioned] [--mfa none|daily|always] [--terms-file FILE] [--json]
//	milogin apps update --id ID [flags of add] [--rotate-secret] [--json]
//	milogin apps list [--portal P] [--json]
//	milogin apps remove --id ID
//	milogin keys rotate [--json]
//	milogin bench --target URL --scenario signin|flow|session|userinfo|client-credentials|jwks [--concurrency N] [--duration D] [--users N] [--pid PID] [--hash-baseline D] [--json]
//	milogin records import FILE.csv [--batch N]
//	milogin records stats
//	milogin admin bootstrap --email E --name N
//	milogin admin add --email E --name N --role helpdesk|appadmin|security [--app ID]
//	milogin audit export --since T [--until T] [--portal P] --format jsonl
//	milogin healthcheck [--addr A] [--url U]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if !errors.As(err, &ue) || ue.msg != "" {
			fmt.Fprintln(os.Stderr, "milogin:", err)
		}
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: milogin <command> [flags]

commands:
  serve        run the MILogin server
  demo         run MILogin and the demo applications (OSMIS) wired together, seeded
  users add    create an account (password read from standard input)
  users seed   create --count accounts for load tests (refused by serve unless --allow-seeded)
  apps add     register an application and its OpenID Connect client
  apps update  change an application (--rotate-secret for a new secret)
  apps list    list the application catalog
  apps remove  remove an application and revoke its tokens
  keys rotate  new signing keys (the old ones stay published until their tokens expire)
  access approve|deny|grant|revoke
               decide or change a person's access to an application (emails them)
  access list  an application's access requests and grants (--status pending)
  bench        drive a running deployment over HTTP (load test on loopback) and print throughput and latency
  records import FILE.csv
               load Secretary of State card records (citizen sign-up verifies against them)
  records stats
               count the card records by status
  admin bootstrap
               the first security administrator of the console (prints an enrolment link)
  admin add    a staff account or role: --role helpdesk|appadmin|security [--app ID]
  audit export the audit trail as JSON Lines (--since T [--until T] [--portal P] --format jsonl)
  healthcheck  exit 0 if the server at --addr is ready (the container's health check)

Run "milogin <command> -h" for the flags of a command. Every flag can also be
set with an environment variable: --mail-from is MILOGIN_MAIL_FROM.
`

// run is the whole program: main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return usageError{}
	}
	switch args[1] {
	case "serve":
		return runServe(ctx, args[2:], getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[2:], getenv, stdout, stderr)
	case "users":
		if len(args) < 3 {
			fmt.Fprint(stderr, "usage: milogin users add|seed [flags]\n")
			return usageError{}
		}
		switch args[2] {
		case "add":
			return runUsersAdd(ctx, args[3:], getenv, stdin, stdout, stderr)
		case "seed":
			return runUsersSeed(ctx, args[3:], getenv, stdin, stdout, stderr)
		}
		return usageError{msg: fmt.Sprintf("unknown users command %q", args[2])}
	case "apps":
		return runApps(ctx, args[2:], getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, args[2:], getenv, stdout, stderr)
	case "access":
		return runAccess(ctx, args[2:], getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args[2:], getenv, stdout, stderr)
	case "records":
		return runRecords(ctx, args[2:], getenv, stdout, stderr)
	case "admin":
		return runAdmin(ctx, args[2:], getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args[2:], getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args[2:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{msg: fmt.Sprintf("unknown command %q", args[1])}
}
