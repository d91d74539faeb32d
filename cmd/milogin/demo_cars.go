package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"milogin"
	"milogin/apps/cars"
	"milogin/internal/oidc"
)

// CARS e-Services in `milogin demo`: an open application (no second
// factor, terms on first launch) under Business Services; `cars serve
// --demo` seeds one business account of every type, among them the
// mechanic school and the mechanic of the guides.

const carsTerms = "Use CARS e-Services only for the business accounts you own or are authorized to manage. Every action is recorded with your MILogin user ID."

func registerCARS(ctx context.Context, e *env, rp rpRun) (string, error) {
	return registerApp(ctx, e, &milogin.Application{
		ID: "cars", Name: "CARS e-Services", Category: "Business Services",
		Portals: []milogin.PortalID{milogin.ThirdParty}, LaunchURL: rp.BaseURL + "/mechanic-services",
		Approval: milogin.ApprovalOpen, MFA: milogin.MFANone, TermsText: carsTerms,
		Client: milogin.Client{ID: "cars", RedirectURIs: []string{rp.BaseURL + "/callback"},
			PostLogoutURIs: []string{rp.BaseURL + "/logged-off"}, BackchannelLogoutURI: rp.BaseURL + "/backchannel-logout",
			GrantTypes: oidc.DefaultGrantTypes(false)},
	}, rp.SecretFile)
}

// carsDemoText tells a newcomer what to try in CARS: the two accounts of
// the guides, where the code emails are and how staff print letters.
func carsDemoText(rp rpRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CARS e-Services business accounts (Mechanic Services, then SIGN UP or any demo account):\n")
	fmt.Fprintf(&b, "  Mechanic School  MECHANIC SCHOOL, Mechanic School ID 123, email on record email@email.com\n")
	fmt.Fprintf(&b, "  Mechanic         RIVERSIDE AUTO REPAIR, Mechanic Number M1234567, ZIP Code 48933\n")
	if rp.SMTP == "" {
		fmt.Fprintf(&b, "  Code emails: %s/dev/mailbox\n", rp.BaseURL)
	}
	fmt.Fprintf(&b, "  Mailed codes: cars letters print --data %s --out letters\n", rp.Data)
	return b.String()
}

func runCARS(ctx context.Context, rp rpRun, getenv func(string) string, stdout, stderr io.Writer) error {
	args := []string{"serve", "--addr", rp.Addr, "--base-url", rp.BaseURL, "--data", rp.Data, "--issuer", rp.Issuer,
		"--client-id", "cars", "--client-secret-file", rp.SecretFile, "--demo", "--log-level", rp.LogLevel}
	if rp.ClockOffset != 0 {
		args = append(args, "--clock-offset", rp.ClockOffset.String())
	}
	if rp.SMTP != "" {
		// Without it the code emails stay in CARS's outbox, shown at
		// CARS's own /dev/mailbox.
		args = append(args, "--smtp", rp.SMTP)
	}
	return cars.Run(ctx, args, func(k string) string {
		if strings.HasPrefix(k, "CARS_") && k != "CARS_KEY" {
			return "" // the demo wires CARS itself
		}
		return getenv(k)
	}, stdout, stderr)
}
