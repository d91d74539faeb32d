package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"milogin/internal/loadgen"
)

// runBench drives a running deployment with one scenario (internal/loadgen)
// and prints what it measured.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("milogin bench", stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "base URL of the deployment (loopback only, unless --allow-remote); several, comma-separated, spread the users over nodes")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a --target that is not on this machine")
	fs.BoolVar(&cfg.OneSource, "one-source", false, "connect every virtual user from the same address (by default each has a loopback address of its own, 127.1.x.y, against an IPv4 loopback target)")
	fs.StringVar(&cfg.Scenario, "scenario", "flow", "what each virtual user repeats: "+strings.Join(loadgen.Scenarios, ", "))
	fs.StringVar(&cfg.Portal, "portal", "thirdparty", "portal of the accounts and the issuer")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "virtual users, each with its own cookie jar")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of the measured part (at most 10m)")
	fs.IntVar(&cfg.Users, "users", 1000, "seeded accounts to spread over (milogin users seed)")
	fs.IntVar(&cfg.FirstUser, "first-user", 0, "number of the first seeded account to use (two runs at once: give them separate ranges)")
	fs.StringVar(&cfg.Prefix, "prefix", loadgen.DefaultSeedPrefix, "user ID prefix of the seeded accounts")
	fs.StringVar(&cfg.Password, "password", loadgen.DefaultSeedPassword, "password of the seeded accounts")
	fs.StringVar(&cfg.ClientID, "client-id", "", "client of the flow, userinfo and client-credentials scenarios")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "its secret (prefer MILOGIN_CLIENT_SECRET); empty for a public client")
	fs.StringVar(&cfg.RedirectURI, "redirect-uri", "", "its registered redirect URI (the flow stops at the redirect to it)")
	fs.IntVar(&cfg.PID, "pid", 0, "server process on this machine whose CPU time and memory to sample")
	baseline := fs.Duration("hash-baseline", 0, "first measure the bare argon2id rate of this machine for this long, and report ratios to it")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	for t := range strings.SplitSeq(cfg.Target, ",") {
		if _, err := loadgen.CheckTarget(t, cfg.AllowRemote); err != nil {
			return usageError{msg: err.Error()}
		}
	}
	if cfg.Duration > loadgen.MaxDuration {
		return usageError{msg: fmt.Sprintf("--duration is at most %v", loadgen.MaxDuration)}
	}
	var base *loadgen.Baseline
	if *baseline > 0 {
		var err error
		if base, err = loadgen.MeasureHash(ctx, min(*baseline, time.Minute)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bare argon2id: %.1f/s on %d cores (%.1f CPU ms each)\n", base.PerSecond, base.Workers, base.CPUMSPerHash)
	}
	if !*asJSON {
		cfg.Progress = stderr
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	out := struct {
		*loadgen.Result
		Baseline *loadgen.Baseline `json:"hash_baseline,omitempty"`
		// RatioToHash is PerSecond over the bare hash rate.
		RatioToHash float64 `json:"ratio_to_hash,omitempty"`
		// ProtocolCPUMS is the server's CPU per operation besides hashing:
		// read from the hash threads' own CPU time when the server has
		// them (exact), else the server's CPU per operation minus one
		// bare hash (which also counts what hashing inside a busy server
		// costs beyond hashing alone).
		ProtocolCPUMS float64 `json:"protocol_cpu_ms_per_op,omitempty"`
	}{Result: res, Baseline: base}
	if base != nil && base.PerSecond > 0 {
		out.RatioToHash = res.PerSecond / base.PerSecond
	}
	switch {
	case res.ServerOtherCPUPerOpMS > 0:
		out.ProtocolCPUMS = res.ServerOtherCPUPerOpMS
	case base != nil && res.ServerCPUPerOpMS > 0:
		out.ProtocolCPUMS = res.ServerCPUPerOpMS - base.CPUMSPerHash
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	res.Format(stdout)
	if base != nil {
		fmt.Fprintf(stdout, "  %.3f of the bare argon2id rate (%.1f/s)", out.RatioToHash, base.PerSecond)
		if out.ProtocolCPUMS != 0 {
			fmt.Fprintf(stdout, "; server CPU besides hashing: %.2f ms per op", out.ProtocolCPUMS)
		}
		fmt.Fprintln(stdout)
	}
	if res.Errors > 0 {
		return fmt.Errorf("%d errors", res.Errors)
	}
	return nil
}
