package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"milogin"
	"milogin/internal/oidc"
)

// The application catalog from the command line. Scripts depend on
// these forms:
//
//	milogin apps add --portal thirdparty --id ID --name NAME --redirect-uri URI [--redirect-uri URI …]
//	    [--post-logout-uri URI] [--backchannel-logout-uri URI] [--public] [--category C]
//	    [--approval open|approval|provisioned] [--mfa none|daily|always] [--terms-file FILE]
//	    [--launch-url URL] [--initiate-login-uri URI] [--contact TEXT] [--allow-insecure-redirect] [--json]
//	milogin apps update --id ID [any flag of add but --public] [--rotate-secret] [--json]
//	milogin apps list [--portal P] [--json]
//	milogin apps remove --id ID
//
// add prints the client secret once ({"client_id": …, "client_secret": …}
// with --json; no secret for a public client); only its argon2id hash is
// stored. Like every subcommand they take --data/--db and work while a
// server runs on the same database.

const appsUsage = `usage: milogin apps <add|update|list|remove> [flags]
`

// Audit event types of the catalog commands.
const (
	eventAppRegistered = "app.registered"
	eventAppUpdated    = "app.updated"
	eventAppRemoved    = "app.removed"
)

func runApps(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, appsUsage)
		return usageError{}
	}
	switch args[0] {
	case "add":
		return runAppsAdd(ctx, args[1:], getenv, stdout, stderr)
	case "update":
		return runAppsUpdate(ctx, args[1:], getenv, stdout, stderr)
	case "list":
		return runAppsList(ctx, args[1:], getenv, stdout, stderr)
	case "remove":
		return runAppsRemove(ctx, args[1:], getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, appsUsage)
	return usageError{msg: fmt.Sprintf("unknown apps command %q", args[0])}
}

// stringList is a flag that may be repeated (and takes commas).
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// parseOnlyCommonEnv parses like parse, but only --data and --db come from
// the environment: an application's fields must never be picked up from a
// stray MILOGIN_NAME.
func parseOnlyCommonEnv(fs *flag.FlagSet, args []string, getenv func(string) string) (map[string]bool, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, usageError{}
		}
		return nil, usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, name := range []string{"data", "db"} {
		if f := fs.Lookup(name); f != nil && !given[name] {
			if v := getenv(envName(name)); v != "" {
				if err := f.Value.Set(v); err != nil {
					return nil, usageError{msg: envName(name) + ": " + err.Error()}
				}
			}
		}
	}
	return given, nil
}

// appFlags are the fields add and update share.
type appFlags struct {
	id, name, category, approval, mfa string
	portals, redirects, postLogout    stringList
	backchannel, termsFile, alg       string
	launchURL, contact, initiateLogin string
	public, asJSON                    bool
	// allowInsecure accepts http loopback redirect URIs for a
	// confidential client (development only).
	allowInsecure bool
}

func (f *appFlags) register(fs *flag.FlagSet, add bool) {
	fs.StringVar(&f.id, "id", "", "application ID, also its client_id: lower-case letters, digits, '.', '-', '_' (required)")
	fs.StringVar(&f.name, "name", "", "name shown to people")
	fs.StringVar(&f.category, "category", "", "heading the home-page link appears under")
	fs.Var(&f.portals, "portal", "portal offering the application: citizen, thirdparty, workforce (repeat for several)")
	fs.Var(&f.redirects, "redirect-uri", "OpenID Connect redirect URI, exact (repeat for several)")
	fs.Var(&f.postLogout, "post-logout-uri", "URI the browser may return to after logout (repeat for several)")
	fs.StringVar(&f.backchannel, "backchannel-logout-uri", "", "URI that receives back-channel logout tokens")
	fs.StringVar(&f.approval, "approval", "open", "how people get access: open, approval or provisioned")
	fs.StringVar(&f.mfa, "mfa", "none", "second factor: none, daily or always")
	fs.StringVar(&f.termsFile, "terms-file", "", "file with the terms & conditions text (a changed text is a new version)")
	fs.StringVar(&f.launchURL, "launch-url", "", "where the home-page link goes (the application's sign-in start)")
	fs.StringVar(&f.initiateLogin, "initiate-login-uri", "", "the client's OpenID Connect initiate_login_uri: without --launch-url the home-page link goes there with iss and login_hint (third-party initiated login)")
	fs.StringVar(&f.contact, "contact", "", "whom the Access Denied page names, e.g. \"your MWA Administrator\"")
	fs.StringVar(&f.alg, "id-token-alg", "RS256", "algorithm of the client's ID tokens: RS256 or ES256")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&f.allowInsecure, "allow-insecure-redirect", false, "development only: accept http redirect URIs on 127.0.0.1, [::1] or localhost for a confidential client (apps list flags it)")
	if add {
		fs.BoolVar(&f.public, "public", false, "a public client (native or browser app): no secret, PKCE only")
	}
}

func parseApproval(s string) (milogin.ApprovalModel, error) {
	switch a := milogin.ApprovalModel(s); a {
	case milogin.ApprovalOpen, milogin.ApprovalRequired, milogin.ApprovalProvisioned:
		return a, nil
	}
	return "", usageError{msg: fmt.Sprintf("--approval %q: want open, approval or provisioned", s)}
}

func parseMFA(s string) (milogin.MFAPolicy, error) {
	switch m := milogin.MFAPolicy(s); m {
	case milogin.MFANone, milogin.MFADaily, milogin.MFAAlways:
		return m, nil
	}
	return "", usageError{msg: fmt.Sprintf("--mfa %q: want none, daily or always", s)}
}

func parsePortals(l []string) ([]milogin.PortalID, error) {
	var out []milogin.PortalID
	for _, s := range l {
		p, err := milogin.ParsePortal(s)
		if err != nil {
			return nil, usageError{msg: "--portal: " + milogin.ErrorMessage(err)}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func readTerms(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading --terms-file: %w", err)
	}
	if len(b) > 256<<10 || !utf8.Valid(b) {
		return "", usageError{msg: "--terms-file must be UTF-8 text of at most 256 KiB"}
	}
	return strings.TrimSpace(string(b)), nil
}

// apply copies the given flags onto a.
func (f *appFlags) apply(a *milogin.Application, given map[string]bool) error {
	var err error
	if given["name"] {
		a.Name = strings.TrimSpace(f.name)
	}
	if given["category"] {
		a.Category = strings.TrimSpace(f.category)
	}
	if given["portal"] {
		if a.Portals, err = parsePortals(f.portals); err != nil {
			return err
		}
	}
	if given["approval"] {
		if a.Approval, err = parseApproval(f.approval); err != nil {
			return err
		}
	}
	if given["mfa"] {
		if a.MFA, err = parseMFA(f.mfa); err != nil {
			return err
		}
	}
	if given["redirect-uri"] {
		a.Client.RedirectURIs = f.redirects
	}
	if given["post-logout-uri"] {
		a.Client.PostLogoutURIs = f.postLogout
	}
	if given["backchannel-logout-uri"] {
		a.Client.BackchannelLogoutURI = f.backchannel
	}
	if given["id-token-alg"] {
		a.Client.IDTokenAlg = strings.ToUpper(f.alg)
		if a.Client.IDTokenAlg == "RS256" {
			a.Client.IDTokenAlg = ""
		}
	}
	if given["launch-url"] {
		a.LaunchURL = f.launchURL
	}
	if given["initiate-login-uri"] {
		a.Client.InitiateLoginURI = f.initiateLogin
	}
	if given["contact"] {
		a.Contact = f.contact
	}
	if given["terms-file"] {
		text, err := readTerms(f.termsFile)
		if err != nil {
			return err
		}
		if text != a.TermsText {
			a.TermsText = text
			a.TermsVersion++ // a new version asks everyone again
		}
	}
	return nil
}

func checkApp(a *milogin.Application, allowInsecure bool) error {
	if a.Name == "" {
		return usageError{msg: "--name is required"}
	}
	if len(a.Portals) == 0 {
		return usageError{msg: "--portal is required"}
	}
	validate := oidc.ValidateClient
	if allowInsecure {
		validate = oidc.ValidateClientAllowingLoopbackHTTP
	}
	if err := validate(&a.Client); err != nil {
		msg := milogin.ErrorMessage(err)
		if !a.Client.Public && strings.Contains(msg, "loopback") {
			msg += " (for a relying party on this machine in development, add --allow-insecure-redirect)"
		}
		return usageError{msg: msg}
	}
	return nil
}

// noHomeEntry is what add and update say of an application that has
// neither a launch URL nor an initiate_login_uri.
const noHomeEntry = "No home-page entry: the application has neither --launch-url nor --initiate-login-uri, so the home page does not list it " +
	"(people reach it from the application itself). Give one of them with milogin apps update to add the link."

// launchOf says how the home page launches a: "launch URL", "initiate login"
// or "none".
func launchOf(a *milogin.Application) string {
	switch {
	case a.LaunchURL != "":
		return "launch URL"
	case a.Client.InitiateLoginURI != "":
		return "initiate login"
	}
	return "none"
}

// clientResult is what add and update --rotate-secret print.
type clientResult struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
}

func printClient(stdout io.Writer, asJSON bool, verb string, a *milogin.Application, secret string) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(clientResult{ClientID: a.Client.ID, ClientSecret: secret})
	}
	fmt.Fprintf(stdout, "%s application %s (%s) in %s\n", verb, a.ID, a.Name, joinPortals(a.Portals))
	switch launchOf(a) {
	case "launch URL":
		fmt.Fprintf(stdout, "home page:     %s\n", a.LaunchURL)
	case "initiate login":
		fmt.Fprintf(stdout, "home page:     %s (iss, login_hint)\n", a.Client.InitiateLoginURI)
	default:
		fmt.Fprintln(stdout, noHomeEntry)
	}
	fmt.Fprintf(stdout, "client_id:     %s\n", a.Client.ID)
	if secret != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n", secret)
		fmt.Fprintln(stdout, "The secret is shown only now: store it in the application's configuration.")
	} else if a.Client.Public {
		fmt.Fprintln(stdout, "Public client: no secret; PKCE (S256) protects its codes.")
	}
	return nil
}

func joinPortals(ps []milogin.PortalID) string {
	var s []string
	for _, p := range ps {
		s = append(s, string(p))
	}
	return strings.Join(s, ",")
}

func runAppsAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin apps add", stderr)
	var c common
	c.register(fs)
	var f appFlags
	f.register(fs, true)
	given, err := parseOnlyCommonEnv(fs, args, getenv)
	if err != nil {
		return err
	}
	if !oidc.ValidClientID(f.id) {
		return usageError{msg: fmt.Sprintf("--id %q: use 1 to 64 lower-case letters, digits, '.', '-' or '_'", f.id)}
	}
	a := &milogin.Application{
		ID: f.id, Approval: milogin.ApprovalOpen, MFA: milogin.MFANone,
		Client: milogin.Client{ID: f.id, Public: f.public, GrantTypes: oidc.DefaultGrantTypes(f.public)},
	}
	given["approval"], given["mfa"] = true, true // defaults apply on add
	if err := f.apply(a, given); err != nil {
		return err
	}
	var secret string
	if !f.public {
		secret = oidc.NewClientSecret()
		a.Client.SecretHash = "pending" // hashed below, once the rest is valid
	}
	if err := checkApp(a, f.allowInsecure); err != nil {
		return err
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	if secret != "" {
		if a.Client.SecretHash, err = e.auth.Hasher.Hash(ctx, secret); err != nil {
			return err
		}
	}
	now := e.auth.Now().UTC()
	a.CreatedAt, a.UpdatedAt = now, now
	err = e.store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.Apps().Create(ctx, a); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, &milogin.AuditEvent{Time: now, Type: eventAppRegistered, ActorID: "cli", UserAgent: "milogin apps add",
			Detail: map[string]string{"app_id": a.ID, "portals": joinPortals(a.Portals), "public": fmt.Sprint(a.Client.Public),
				"insecure_redirect": fmt.Sprint(oidc.HasInsecureRedirect(&a.Client))}})
	})
	if err != nil {
		return fmt.Errorf("application not registered: %s", milogin.ErrorMessage(err))
	}
	return printClient(stdout, f.asJSON, "Registered", a, secret)
}

func runAppsUpdate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin apps update", stderr)
	var c common
	c.register(fs)
	var f appFlags
	f.register(fs, false)
	rotate := fs.Bool("rotate-secret", false, "issue a new client secret (printed once); the old one stops working")
	given, err := parseOnlyCommonEnv(fs, args, getenv)
	if err != nil {
		return err
	}
	if f.id == "" {
		return usageError{msg: "--id is required"}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	var secret, hash string
	if *rotate {
		secret = oidc.NewClientSecret()
		if hash, err = e.auth.Hasher.Hash(ctx, secret); err != nil {
			return err
		}
	}
	now := e.auth.Now().UTC()
	var a *milogin.Application
	err = e.store.Write(ctx, func(tx milogin.Tx) error {
		var err error
		a, err = tx.Apps().Update(ctx, f.id, func(a *milogin.Application) error {
			if err := f.apply(a, given); err != nil {
				return err
			}
			if *rotate {
				if a.Client.Public {
					return usageError{msg: "--rotate-secret: a public client has no secret"}
				}
				a.Client.SecretHash = hash
			}
			a.UpdatedAt = now
			// A client registered with an insecure redirect keeps it
			// through updates that do not touch its URIs.
			return checkApp(a, f.allowInsecure || (!given["redirect-uri"] && !given["post-logout-uri"] && oidc.HasInsecureRedirect(&a.Client)))
		})
		if err != nil {
			return err
		}
		var changed []string
		for k := range given {
			if k != "data" && k != "db" && k != "json" && k != "id" {
				changed = append(changed, k)
			}
		}
		slices.Sort(changed)
		return tx.Audit().Append(ctx, &milogin.AuditEvent{Time: now, Type: eventAppUpdated, ActorID: "cli", UserAgent: "milogin apps update",
			Detail: map[string]string{"app_id": f.id, "changed": strings.Join(changed, ",")}})
	})
	var ue usageError
	if errors.As(err, &ue) {
		return ue
	}
	if err != nil {
		return fmt.Errorf("application not updated: %s", milogin.ErrorMessage(err))
	}
	return printClient(stdout, f.asJSON, "Updated", a, secret)
}

// appSummary is one line of apps list --json: never the secret's hash.
type appSummary struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	Category             string   `json:"category,omitempty"`
	Portals              []string `json:"portals"`
	Approval             string   `json:"approval"`
	MFA                  string   `json:"mfa"`
	TermsVersion         int      `json:"terms_version"`
	LaunchURL            string   `json:"launch_url,omitempty"`
	InitiateLoginURI     string   `json:"initiate_login_uri,omitempty"`
	HomePage             bool     `json:"home_page"`
	ClientID             string   `json:"client_id"`
	Public               bool     `json:"public"`
	RedirectURIs         []string `json:"redirect_uris"`
	PostLogoutURIs       []string `json:"post_logout_uris,omitempty"`
	BackchannelLogoutURI string   `json:"backchannel_logout_uri,omitempty"`
	GrantTypes           []string `json:"grant_types"`
	IDTokenAlg           string   `json:"id_token_alg"`
	// InsecureRedirect: a confidential client with an http loopback
	// redirect (registered with --allow-insecure-redirect; development only).
	InsecureRedirect bool `json:"insecure_redirect,omitempty"`
}

func runAppsList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin apps list", stderr)
	var c common
	c.register(fs)
	portal := fs.String("portal", "", "only the applications of this portal")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseOnlyCommonEnv(fs, args, getenv); err != nil {
		return err
	}
	var p milogin.PortalID
	if *portal != "" {
		var err error
		if p, err = milogin.ParsePortal(*portal); err != nil {
			return usageError{msg: "--portal: " + milogin.ErrorMessage(err)}
		}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	var list []*milogin.Application
	if err := e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		list, err = tx.Apps().List(ctx, p)
		return err
	}); err != nil {
		return err
	}
	if *asJSON {
		out := []appSummary{}
		for _, a := range list {
			var ps []string
			for _, p := range a.Portals {
				ps = append(ps, string(p))
			}
			out = append(out, appSummary{ID: a.ID, Name: a.Name, Category: a.Category, Portals: ps, Approval: string(a.Approval),
				MFA: string(a.MFA), TermsVersion: a.TermsVersion, LaunchURL: a.LaunchURL, InitiateLoginURI: a.Client.InitiateLoginURI, HomePage: a.HasHomeEntry(), ClientID: a.Client.ID, Public: a.Client.Public,
				RedirectURIs: a.Client.RedirectURIs, PostLogoutURIs: a.Client.PostLogoutURIs,
				BackchannelLogoutURI: a.Client.BackchannelLogoutURI, GrantTypes: a.Client.GrantTypes,
				IDTokenAlg: cmp.Or(a.Client.IDTokenAlg, "RS256"), InsecureRedirect: oidc.HasInsecureRedirect(&a.Client)})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPORTALS\tCLIENT\tAPPROVAL\tMFA\tTERMS\tHOME PAGE")
	for _, a := range list {
		kind := "confidential"
		if a.Client.Public {
			kind = "public"
		}
		if oidc.HasInsecureRedirect(&a.Client) {
			kind += " INSECURE-REDIRECT(dev only)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\tv%d\t%s\n", a.ID, a.Name, joinPortals(a.Portals), kind, a.Approval, a.MFA, a.TermsVersion, launchOf(a))
	}
	return tw.Flush()
}

func runAppsRemove(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin apps remove", stderr)
	var c common
	c.register(fs)
	id := fs.String("id", "", "application ID (required)")
	if _, err := parseOnlyCommonEnv(fs, args, getenv); err != nil {
		return err
	}
	if *id == "" {
		return usageError{msg: "--id is required"}
	}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	defer e.store.Close()
	now := e.auth.Now().UTC()
	err = e.store.Write(ctx, func(tx milogin.Tx) error {
		a, err := tx.Apps().Get(ctx, *id)
		if err != nil {
			return err
		}
		if err := tx.Apps().Delete(ctx, *id); err != nil {
			return err
		}
		// Its tokens die with it: no refresh, no userinfo, no introspection.
		if _, err := tx.OAuthTokens().RevokeByClient(ctx, a.Client.ID, now); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, &milogin.AuditEvent{Time: now, Type: eventAppRemoved, ActorID: "cli", UserAgent: "milogin apps remove",
			Detail: map[string]string{"app_id": *id}})
	})
	if err != nil {
		return fmt.Errorf("application not removed: %s", milogin.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "Removed application %s\n", *id)
	return nil
}
