// Command osmis runs OSMIS, the One-Stop Management Information System of
// the Michigan Works Agencies, a relying party of MILogin. See apps/osmis
// and docs/osmis.md.
//
//	osmis [serve] [--addr A] [--db DSN] [--data DIR] [--issuer URL] [--client-id ID] [--client-secret-file F] [--base-url URL]
//	osmis admin bootstrap --login-id ID --email E --mwa NAME --domain D
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"milogin/apps/osmis"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := osmis.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue osmis.UsageError
		if !errors.As(err, &ue) || ue.Msg != "" {
			fmt.Fprintln(os.Stderr, "osmis:", err)
		}
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
