// Command cars runs CARS e-Services, a relying party of MILogin (see
// package milogin/apps/cars and docs/cars.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"milogin/apps/cars"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cars.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var u cars.UsageError
	switch {
	case err == nil:
	case errors.As(err, &u):
		if u.Msg != "" {
			fmt.Fprintln(os.Stderr, "cars:", u.Msg)
		}
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "cars:", err)
		os.Exit(1)
	}
}
