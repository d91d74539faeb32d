package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"milogin"
	"milogin/apps/osmis"
	"milogin/internal/authn"
	"milogin/internal/oidc"
)

// `milogin demo` starts MILogin and every relying party of the demo in one
// process, wired together over HTTP exactly as separate programs would be:
// each relying party is registered in MILogin's catalog (its client secret
// kept in its own data folder), then run by calling its own Run in a
// goroutine. One folder holds everything: MILogin's data in D/milogin,
// each application's in D/<id>, so each program's own commands work on
// them (`milogin users add --data D/milogin`, `osmis admin bootstrap
// --data D/osmis`). Restarting on the same folder keeps everything.

// relyingParty is one application of the demo. Adding one (CARS
// e-Services: cars.Run, default 127.0.0.1:8082, flag --cars-addr) is one
// entry of demoApps.
type relyingParty struct {
	id, name    string
	addrFlag    string // the demo flag of its address
	defaultAddr string
	// register puts the application (and its demo people) into MILogin's
	// catalog for an application running at base, and returns its client
	// secret.
	register func(ctx context.Context, e *env, rp rpRun) (secret string, err error)
	// run runs the application until ctx ends.
	run func(ctx context.Context, rp rpRun, getenv func(string) string, stdout, stderr io.Writer) error
}

// rpRun is where and how one relying party of the demo runs.
type rpRun struct {
	Data, Addr, BaseURL string
	Issuer              string // MILogin's portal issuer
	SecretFile          string // the client secret, in its data folder
	ClockOffset         time.Duration
	LogLevel            string
}

// demoApps are the relying parties `milogin demo` starts.
var demoApps = []relyingParty{
	{id: "osmis", name: "OSMIS", addrFlag: "osmis-addr", defaultAddr: "127.0.0.1:8081", register: registerOSMIS, run: runOSMIS},
	// CARS e-Services plugs in here: {id: "cars", name: "CARS e-Services",
	// addrFlag: "cars-addr", defaultAddr: "127.0.0.1:8082", register: …, run: …}.
}

// demoPeople are MILogin accounts that the demo applications know.
type demoPerson struct{ userID, first, last, email string }

// osmisTerms is the OSMIS Terms & Conditions text of the guide.
const osmisTerms = "Michigan Works Association staff (non-SOM staff), Workforce development Agency (SOM staff) - requires subscription approval model"

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin demo", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "MILogin's address (port 0 picks a free one)")
	data := fs.String("data", "milogin-demo", "one folder for everything: MILogin in DATA/milogin, each application in DATA/<id>")
	smtpURL := fs.String("smtp", "", "also deliver email over SMTP: smtp://host:port (the dev mailbox shows every email anyway)")
	offset := fs.Duration("clock-offset", 0, "development only: move every program's clock, e.g. 24h to try the next calendar day")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error (every program's)")
	metricsAddr := fs.String("metrics-addr", "", "MILogin's operations listener (/metrics, /debug/pprof/); empty: off, so two demos never fight over a port")
	addrs := map[string]*string{}
	for _, rp := range demoApps {
		addrs[rp.id] = fs.String(rp.addrFlag, rp.defaultAddr, rp.name+"'s address (port 0 picks a free one)")
	}
	if err := parse(fs, args, getenv); err != nil {
		return err
	}

	// Every address is fixed before anything starts: the redirect URIs
	// registered in MILogin and the issuer the applications trust name them.
	mAddr, err := resolveAddr(*addr)
	if err != nil {
		return err
	}
	// A loopback MILogin is named localhost, as serve names itself: WebAuthn
	// refuses an IP address, and the demo shows passkeys too.
	base := "http://" + mAddr
	if tcp, err := net.ResolveTCPAddr("tcp", mAddr); err == nil {
		base = defaultBaseURL(tcp)
	}
	issuer := base + "/" + string(milogin.ThirdParty)
	runs := map[string]rpRun{}
	for _, rp := range demoApps {
		a, err := resolveAddr(*addrs[rp.id])
		if err != nil {
			return err
		}
		dir := filepath.Join(*data, rp.id)
		runs[rp.id] = rpRun{Data: dir, Addr: a, BaseURL: "http://" + a, Issuer: issuer,
			SecretFile: filepath.Join(dir, "client-secret"), ClockOffset: *offset, LogLevel: *logLevel}
	}

	// Register every application (and its demo people) in MILogin's catalog.
	c := common{data: filepath.Join(*data, "milogin")}
	e, err := c.open(ctx, getenv)
	if err != nil {
		return err
	}
	for _, rp := range demoApps {
		secret, err := rp.register(ctx, e, runs[rp.id])
		if err != nil {
			e.store.Close()
			return fmt.Errorf("registering %s in MILogin: %w", rp.name, err)
		}
		if err := writeSecret(runs[rp.id].SecretFile, secret); err != nil {
			e.store.Close()
			return err
		}
	}
	e.store.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1+len(demoApps))
	serveArgs := []string{"--addr", mAddr, "--data", c.data, "--base-url", base, "--demo", "--log-level", *logLevel, "--metrics-addr", *metricsAddr}
	if *smtpURL != "" {
		serveArgs = append(serveArgs, "--smtp", *smtpURL)
	}
	if *offset != 0 {
		serveArgs = append(serveArgs, "--clock-offset", offset.String())
	}
	wg.Go(func() {
		if err := runServe(ctx, serveArgs, demoEnv(getenv), stdout, stderr); err != nil {
			errc <- fmt.Errorf("MILogin: %w", err)
		}
		cancel()
	})
	if err := waitHealthy(ctx, base+"/healthz", errc); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	for _, rp := range demoApps {
		wg.Go(func() {
			if err := rp.run(ctx, runs[rp.id], getenv, stdout, stderr); err != nil {
				errc <- fmt.Errorf("%s: %w", rp.name, err)
			}
			cancel()
		})
	}
	for _, rp := range demoApps {
		if err := waitHealthy(ctx, runs[rp.id].BaseURL+"/healthz", errc); err != nil {
			cancel()
			wg.Wait()
			return err
		}
	}
	printDemo(stdout, base, runs)
	<-ctx.Done()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// demoEnv keeps MILOGIN_* variables from changing what the demo wired.
func demoEnv(getenv func(string) string) func(string) string {
	return func(k string) string {
		if k == "MILOGIN_KEK" {
			return getenv(k)
		}
		if strings.HasPrefix(k, "MILOGIN_") {
			return ""
		}
		return getenv(k)
	}
}

func printDemo(w io.Writer, base string, runs map[string]rpRun) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nMILogin demo is ready.\n")
	fmt.Fprintf(&b, "  MILogin for Third Party  %s/thirdparty/login\n", base)
	fmt.Fprintf(&b, "  Dev mailbox              %s/dev/mailbox\n", base)
	for _, rp := range demoApps {
		fmt.Fprintf(&b, "  %-24s %s/\n", rp.name, runs[rp.id].BaseURL)
	}
	fmt.Fprintf(&b, "Demo accounts (password %s):\n", demoPassword)
	for _, p := range osmisPeople {
		role := "OSMIS staff"
		if p.userID == osmis.DemoStaff[0].LoginID {
			role = "OSMIS MWA Administrator"
		}
		fmt.Fprintf(&b, "  %-12s %s %s, %s (%s)\n", p.userID, p.first, p.last, p.email, role)
	}
	fmt.Fprintf(&b, "  %s (MILogin only)\n", strings.Join(demoUserIDs(), ", "))
	fmt.Fprint(w, b.String())
}

// resolveAddr turns a port-0 address into a free port now, so that it can
// be registered before the program listens on it.
func resolveAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", usageError{msg: fmt.Sprintf("address %q: %v", addr, err)}
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(ctx context.Context, url string, errc chan error) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer within 60s", url)
}

// writeSecret keeps a client secret in the application's data folder,
// readable by its owner only.
func writeSecret(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(secret+"\n"), 0o600)
}

// ensureDemoPeople creates the MILogin accounts that do not exist yet.
func ensureDemoPeople(ctx context.Context, e *env, people []demoPerson) error {
	for _, p := range people {
		_, err := e.auth.CreateAccount(ctx, authn.NewAccount{Portal: milogin.ThirdParty, UserID: p.userID, FirstName: p.first,
			LastName: p.last, Email: p.email, WorkPhone: "517-555-0100", Password: demoPassword, RecoverByEmail: true},
			"demo", authn.Meta{UserAgent: "milogin demo"})
		if err != nil && !milogin.IsKind(err, milogin.ECONFLICT) {
			return fmt.Errorf("demo account %s: %w", p.userID, err)
		}
	}
	return nil
}

// registerApp creates or updates the catalog entry want (its client
// checked with loopback http allowed: the demo runs on this machine) and
// returns a client secret: the one in secretFile when it still matches,
// otherwise a new one.
func registerApp(ctx context.Context, e *env, want *milogin.Application, secretFile string) (string, error) {
	if err := oidc.ValidateClientAllowingLoopbackHTTP(&milogin.Client{ID: want.Client.ID, RedirectURIs: want.Client.RedirectURIs,
		PostLogoutURIs: want.Client.PostLogoutURIs, BackchannelLogoutURI: want.Client.BackchannelLogoutURI,
		GrantTypes: want.Client.GrantTypes, SecretHash: "checked below"}); err != nil {
		return "", err
	}
	var existing *milogin.Application
	if err := e.store.Read(ctx, func(tx milogin.Tx) (err error) {
		existing, err = tx.Apps().Get(ctx, want.ID)
		return err
	}); err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
		return "", err
	}
	secret, hash := "", ""
	if existing != nil {
		if b, err := os.ReadFile(secretFile); err == nil {
			s := strings.TrimSpace(string(b))
			if ok, _, err := e.auth.Hasher.Verify(ctx, existing.Client.SecretHash, s); err == nil && ok {
				secret, hash = s, existing.Client.SecretHash
			}
		}
	}
	if secret == "" {
		secret = oidc.NewClientSecret()
		var err error
		if hash, err = e.auth.Hasher.Hash(ctx, secret); err != nil {
			return "", err
		}
	}
	now := e.auth.Now().UTC()
	err := e.store.Write(ctx, func(tx milogin.Tx) error {
		if existing == nil {
			a := *want
			a.Client.SecretHash, a.TermsVersion, a.CreatedAt, a.UpdatedAt = hash, 1, now, now
			if err := tx.Apps().Create(ctx, &a); err != nil {
				return err
			}
			return tx.Audit().Append(ctx, &milogin.AuditEvent{Time: now, Type: eventAppRegistered, ActorID: "demo", UserAgent: "milogin demo",
				Detail: map[string]string{"app_id": a.ID, "portals": joinPortals(a.Portals), "public": "false"}})
		}
		_, err := tx.Apps().Update(ctx, want.ID, func(a *milogin.Application) error {
			a.Name, a.Category, a.Portals, a.LaunchURL = want.Name, want.Category, want.Portals, want.LaunchURL
			a.Approval, a.MFA, a.Contact = want.Approval, want.MFA, want.Contact
			if a.TermsText != want.TermsText {
				a.TermsText = want.TermsText
				a.TermsVersion++
			}
			a.Client.RedirectURIs, a.Client.PostLogoutURIs = want.Client.RedirectURIs, want.Client.PostLogoutURIs
			a.Client.BackchannelLogoutURI, a.Client.SecretHash, a.UpdatedAt = want.Client.BackchannelLogoutURI, hash, now
			return nil
		})
		return err
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// osmisPeople are the MILogin accounts of the OSMIS demo staff.
var osmisPeople = func() []demoPerson {
	var out []demoPerson
	for _, s := range osmis.DemoStaff {
		out = append(out, demoPerson{s.LoginID, s.FirstName, s.LastName, s.Email})
	}
	return out
}()

func registerOSMIS(ctx context.Context, e *env, rp rpRun) (string, error) {
	if err := ensureDemoPeople(ctx, e, osmisPeople); err != nil {
		return "", err
	}
	return registerApp(ctx, e, &milogin.Application{
		ID: "osmis", Name: "One-Stop Management Information System (OSMIS)", Category: "Administration",
		Portals: []milogin.PortalID{milogin.ThirdParty}, LaunchURL: rp.BaseURL + "/login",
		Approval: milogin.ApprovalProvisioned, MFA: milogin.MFADaily, TermsText: osmisTerms, Contact: "your MWA Administrator",
		Client: milogin.Client{ID: "osmis", RedirectURIs: []string{rp.BaseURL + "/callback"},
			PostLogoutURIs: []string{rp.BaseURL + "/signed-out"}, BackchannelLogoutURI: rp.BaseURL + "/backchannel-logout",
			GrantTypes: oidc.DefaultGrantTypes(false)},
	}, rp.SecretFile)
}

func runOSMIS(ctx context.Context, rp rpRun, getenv func(string) string, stdout, stderr io.Writer) error {
	args := []string{"serve", "--addr", rp.Addr, "--base-url", rp.BaseURL, "--data", rp.Data, "--issuer", rp.Issuer,
		"--client-id", "osmis", "--client-secret-file", rp.SecretFile, "--demo", "--log-level", rp.LogLevel}
	if rp.ClockOffset != 0 {
		args = append(args, "--clock-offset", rp.ClockOffset.String())
	}
	return osmis.Run(ctx, args, func(k string) string {
		if strings.HasPrefix(k, "OSMIS_") && k != "OSMIS_SEAL_KEY" {
			return "" // the demo wires OSMIS itself
		}
		return getenv(k)
	}, stdout, stderr)
}
