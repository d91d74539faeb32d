package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var updateConfigDoc = flag.Bool("update-config-doc", false, "rewrite docs/configuration.md from the flag sets")

// configCommands are the commands whose flags docs/configuration.md lists.
var configCommands = []struct{ args, title string }{
	{"serve", "milogin serve"},
	{"healthcheck", "milogin healthcheck"},
	{"users add", "milogin users add"},
	{"apps add", "milogin apps add"},
	{"apps update", "milogin apps update"},
	{"apps list", "milogin apps list"},
	{"apps remove", "milogin apps remove"},
	{"keys rotate", "milogin keys rotate"},
	{"access approve", "milogin access approve | deny | grant | revoke"},
	{"access list", "milogin access list"},
}

// flagLine is the first line PrintDefaults writes for a flag: "  -name type".
var flagLine = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
var defaultSuffix = regexp.MustCompile(` \(default (.*)\)$`)

// configDoc renders the configuration reference from the commands' own
// flag sets (their -h output), so it cannot fall behind the code.
func configDoc(t *testing.T) string {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from the flag sets by TestConfigurationDoc in cmd/milogin:
     go test ./cmd/milogin -run TestConfigurationDoc -update-config-doc
     Do not edit by hand. -->

Every flag of every command can also be set with an environment variable: the
flag's name in upper case, dashes as underscores, prefixed with ` + "`MILOGIN_`" + `
(` + "`--mail-from`" + ` is ` + "`MILOGIN_MAIL_FROM`" + `). A flag on the command line wins over
its variable. One variable has no flag: ` + "`MILOGIN_KEK`" + `, the key-encryption key
(base64 of 32 bytes; see [keys.md](keys.md)). Give secrets such as ` + "`--sms-token`" + ` as
variables (` + "`MILOGIN_SMS_TOKEN`" + `), not flags: command lines are visible to other users.
`)
	for _, c := range configCommands {
		var stderr bytes.Buffer
		args := append([]string{"milogin"}, strings.Fields(c.args)...)
		err := run(context.Background(), append(args, "-h"), noEnv, strings.NewReader(""), &bytes.Buffer{}, &stderr)
		if _, ok := err.(usageError); !ok {
			t.Fatalf("%s -h: %v", c.args, err)
		}
		fmt.Fprintf(&b, "\n## %s\n\n| flag | variable | default | meaning |\n|---|---|---|---|\n", c.title)
		lines := strings.Split(stderr.String(), "\n")
		n := 0
		for i := 0; i < len(lines); i++ {
			m := flagLine.FindStringSubmatch(lines[i])
			if m == nil {
				continue
			}
			var usage []string
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    \t") {
				i++
				usage = append(usage, strings.TrimPrefix(lines[i], "    \t"))
			}
			text := strings.Join(usage, " ")
			def := ""
			if d := defaultSuffix.FindStringSubmatch(text); d != nil {
				def, text = strings.Trim(d[1], `"`), strings.TrimSuffix(text, d[0])
			}
			if def != "" {
				def = "`" + def + "`"
			}
			kind := ""
			if m[2] != "" {
				kind = " " + m[2]
			}
			fmt.Fprintf(&b, "| `--%s%s` | `%s` | %s | %s |\n", m[1], kind, envName(m[1]), def, strings.ReplaceAll(text, "|", `\|`))
			n++
		}
		if n == 0 {
			t.Fatalf("%s -h listed no flags:\n%s", c.args, stderr.String())
		}
	}
	return b.String()
}

// TestConfigurationDoc: docs/configuration.md is what the flag sets say.
func TestConfigurationDoc(t *testing.T) {
	const path = "../../docs/configuration.md"
	want := configDoc(t)
	if *updateConfigDoc {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/configuration.md is out of date with the flags: run\n\tgo test ./cmd/milogin -run TestConfigurationDoc -update-config-doc")
	}
}
