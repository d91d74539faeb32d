package milogin_test

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

func parseDockerfile(t *testing.T) [][]instruction {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s before FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		flush()
	}
	flush()
	return stages
}

func jsonArgs(t *testing.T, s string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%q: want the exec (JSON) form: %v", s, err)
	}
	return v
}

// TestDockerfile checks what can be checked without a Docker daemon: the
// image is FROM scratch with CA certificates and time zones, a static
// binary built with CGO_ENABLED=0, a non-root user, the data folder as a
// volume, a health check that is the binary itself, and every path it
// copies from the repository exists.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and the image", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if final[0].args != "scratch" {
		t.Errorf("final stage FROM %q, want scratch", final[0].args)
	}
	// The build: the static binary, from paths that exist here.
	var out string
	for _, in := range build {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			for _, src := range f[:len(f)-1] {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
			}
		case "RUN":
			if m := regexp.MustCompile(`CGO_ENABLED=0 go build .*-o (\S+) (\S+)`).FindStringSubmatch(in.args); m != nil {
				out = m[1]
				if _, err := os.Stat(m[2]); err != nil {
					t.Errorf("builds %s: %v", m[2], err)
				}
			}
		}
	}
	if out == "" {
		t.Fatal("no RUN CGO_ENABLED=0 go build -o … in the build stage")
	}
	var copied []string
	var user, volume, health, entry string
	env := map[string]string{}
	for _, in := range final[1:] {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			if !slices.ContainsFunc(f, func(s string) bool { return strings.HasPrefix(s, "--from=") }) {
				t.Errorf("COPY %s: the image takes everything from the build stage", in.args)
			}
			copied = append(copied, f[len(f)-2]+" "+f[len(f)-1])
		case "USER":
			user = in.args
		case "VOLUME":
			volume = in.args
		case "HEALTHCHECK":
			_, health, _ = strings.Cut(in.args, "CMD ")
		case "ENTRYPOINT":
			entry = in.args
		case "ENV":
			for _, kv := range regexp.MustCompile(`(\w+)=(\S+)`).FindAllStringSubmatch(in.args, -1) {
				env[kv[1]] = kv[2]
			}
		}
	}
	for _, want := range []string{out + " /milogin", "/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo /usr/share/zoneinfo"} {
		if !slices.Contains(copied, want) {
			t.Errorf("the image does not COPY %s (has %q)", want, copied)
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if env["MILOGIN_DATA"] == "" || !slices.Contains(jsonArgs(t, volume), env["MILOGIN_DATA"]) {
		t.Errorf("VOLUME %s does not hold MILOGIN_DATA=%s", volume, env["MILOGIN_DATA"])
	}
	if e := jsonArgs(t, entry); len(e) != 1 || e[0] != "/milogin" {
		t.Errorf("ENTRYPOINT %s", entry)
	}
	hc := jsonArgs(t, health)
	if len(hc) < 2 || hc[0] != "/milogin" || hc[1] != "healthcheck" {
		t.Fatalf("HEALTHCHECK CMD %s: want the binary itself (scratch has no shell)", health)
	}

	// Build the binary as the Dockerfile does and check it is static and
	// knows the health check. (Without cgo every package that uses it is
	// compiled again: a minute the first time, cached afterwards.)
	if testing.Short() {
		t.Skip("-short: the static build is not checked")
	}
	bin := filepath.Join(t.TempDir(), "milogin")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/milogin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, b)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v: not static", libs)
	}
	// The check as the image runs it, pointed at a port where nothing
	// listens (the image's default, 8080, may be in use on this machine).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	err = exec.Command(bin, append(hc[1:], "--addr", free)...).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		// 1: the check ran and found no server; 2 would be an unknown command.
		t.Errorf("%v with no server: %v, want exit status 1", hc, err)
	}
}
