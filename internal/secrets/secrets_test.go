package secrets_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"milogin/internal/secrets"
)

func TestLoadCreatesOnceAndReloads(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	keys := make([]*secrets.KEK, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := secrets.Load(dir, "")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	first := keys[0].Derive("x")
	for _, k := range keys[1:] {
		if !bytes.Equal(k.Derive("x"), first) {
			t.Fatal("concurrent first starts produced different keys")
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "kek"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	again, err := secrets.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Derive("x"), first) {
		t.Error("reloaded key differs")
	}
}

func TestLoadFromEnv(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	k, err := secrets.Load(t.TempDir(), base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := secrets.New(raw)
	if !bytes.Equal(k.Derive("a"), want.Derive("a")) {
		t.Error("env key not used")
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := secrets.Load(t.TempDir(), bad); err == nil {
			t.Errorf("Load(%q) succeeded", bad)
		}
	}
}

func TestDeriveSeparatesPurposes(t *testing.T) {
	k, _ := secrets.New(bytes.Repeat([]byte{1}, 32))
	if bytes.Equal(k.Derive("outbox"), k.Derive("codes")) {
		t.Error("purposes share a key")
	}
}

func TestSealOpen(t *testing.T) {
	k, _ := secrets.New(bytes.Repeat([]byte{2}, 32))
	a := k.AEAD("outbox")
	s := secrets.Seal(a, []byte("PIN 123456"), nil)
	if bytes.Contains(s, []byte("123456")) {
		t.Fatal("plaintext visible in sealed value")
	}
	p, err := secrets.Open(a, s, nil)
	if err != nil || string(p) != "PIN 123456" {
		t.Fatalf("Open = %q, %v", p, err)
	}
	s[len(s)-1] ^= 1
	if _, err := secrets.Open(a, s, nil); err == nil {
		t.Error("tampered value opened")
	}
	if _, err := secrets.Open(k.AEAD("codes"), secrets.Seal(a, []byte("x"), nil), nil); err == nil {
		t.Error("value opened under another purpose's key")
	}
}
