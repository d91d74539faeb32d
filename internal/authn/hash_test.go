package authn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"milogin"
)

// fastParams keep the tests quick; the format and the code paths are the
// same as with DefaultParams.
var fastParams = Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashFormatDefault(t *testing.T) {
	h := NewHasher(DefaultParams, 0)
	enc, err := h.Hash(t.Context(), "Mitten!State26")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(enc, prefix) {
		t.Fatalf("hash %q does not start with %q", enc, prefix)
	}
	f := strings.Split(enc, "$")
	if len(f[4]) != 22 || len(f[5]) != 43 { // 16 and 32 bytes, raw base64
		t.Errorf("salt/key encodings %q %q: want 22 and 43 characters", f[4], f[5])
	}
	if strings.ContainsAny(f[4]+f[5], "=-_") {
		t.Errorf("hash %q: want standard base64 without padding", enc)
	}
	ok, rehash, err := h.Verify(t.Context(), enc, "Mitten!State26")
	if err != nil || !ok || rehash {
		t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fastParams, 0)
	ctx := t.Context()
	long := strings.Repeat("aB3$", 25) // 100 characters
	tests := []struct {
		name      string
		password  string
		tries     []string // must all fail
		wantMatch bool
	}{
		{"simple", "Spartan!Green42", []string{"Spartan!Green43", "", "Spartan!Green42 "}, true},
		{"case sensitive", "Lake#Huron1987", []string{"lake#huron1987", "LAKE#HURON1987", "Lake#huron1987"}, true},
		{"100 characters", long, []string{long[:99], long[:72], long + "x", strings.ToLower(long)}, true},
		{"multi-byte", "Ünïcödé-Pässwörd-密码-🔑", []string{"Unicode-Passwort-密码-🔑", "Ünïcödé-Pässwörd-密码-"}, true},
		{"spaces kept", "  two spaces  ", []string{"two spaces", "  two spaces", "two spaces  "}, true},
		{"empty", "", []string{" ", "\x00"}, true},
		// NFC é vs NFD e + combining acute are different passwords: the
		// bytes typed are the bytes checked.
		{"no normalisation", "caf\u00e9", []string{"cafe\u0301"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := h.Verify(ctx, enc, tt.password)
			if err != nil || !ok || rehash {
				t.Fatalf("Verify(right password) = %v, %v, %v", ok, rehash, err)
			}
			for _, wrong := range tt.tries {
				ok, rehash, err := h.Verify(ctx, enc, wrong)
				if err != nil || ok || rehash {
					t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
				}
			}
		})
	}
}

func TestHashSalted(t *testing.T) {
	h := NewHasher(fastParams, 0)
	a, _ := h.Hash(t.Context(), "same password")
	b, _ := h.Hash(t.Context(), "same password")
	if a == b {
		t.Fatalf("two hashes of one password are equal: %s", a)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(fastParams, 0)
	good, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	salt, key := f[4], f[5]
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"plain text", "Password1!"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"no leading $", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"too few fields", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"too many fields", good + "$x"},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key + "$"},
		{"version not a number", "$argon2id$v=x$m=64,t=1,p=1$" + salt + "$" + key},
		{"params reordered", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"param missing", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"extra param", "$argon2id$v=19$m=64,t=1,p=1,k=1$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key},
		{"t zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"p zero", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"p over 255", "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key},
		{"m below 8p", "$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key},
		{"m huge", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key},
		{"m overflow", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"t huge", "$argon2id$v=19$m=64,t=100000,p=1$" + salt + "$" + key},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$AAAA$" + key},
		{"key empty", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$"},
		{"key too short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAAAAAA"},
		{"key url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("_", 43)},
		{"trailing newline", good + "\n"},
		{"leading space", " " + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tt.enc, "pw")
			if !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q) error = %v; want ErrMalformedHash", tt.enc, err)
			}
			if ok || rehash {
				t.Errorf("Verify(%q) = %v, %v; want false, false", tt.enc, ok, rehash)
			}
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	ctx := t.Context()
	old := NewHasher(fastParams, 0)
	enc, err := old.Hash(ctx, "Spartan!Green42")
	if err != nil {
		t.Fatal(err)
	}
	raised := []Params{
		{Time: 2, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Time: 1, MemoryKiB: 128, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Time: 1, MemoryKiB: 64, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 32, KeyLen: 32},
		{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 64},
	}
	for _, p := range raised {
		h := NewHasher(p, 0)
		ok, rehash, err := h.Verify(ctx, enc, "Spartan!Green42")
		if err != nil || !ok || !rehash {
			t.Errorf("%+v: Verify = %v, %v, %v; want true, true, nil", p, ok, rehash, err)
		}
		// A wrong password never asks for a rehash.
		ok, rehash, err = h.Verify(ctx, enc, "spartan!green42")
		if err != nil || ok || rehash {
			t.Errorf("%+v: Verify(wrong) = %v, %v, %v; want false, false, nil", p, ok, rehash, err)
		}
		// After rehashing with the new hasher, no further rehash.
		enc2, err := h.Hash(ctx, "Spartan!Green42")
		if err != nil {
			t.Fatal(err)
		}
		if ok, rehash, err := h.Verify(ctx, enc2, "Spartan!Green42"); err != nil || !ok || rehash {
			t.Errorf("%+v: Verify(rehashed) = %v, %v, %v; want true, false, nil", p, ok, rehash, err)
		}
	}
	ok, rehash, err := NewHasher(fastParams, 0).Verify(ctx, enc, "Spartan!Green42")
	if err != nil || !ok || rehash {
		t.Errorf("same params: Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestVerifyDummy(t *testing.T) {
	h := NewHasher(fastParams, 0)
	if err := h.VerifyDummy(t.Context(), "anything"); err != nil {
		t.Fatal(err)
	}
	// The dummy hash carries the hasher's own parameters, so the work done
	// is the same as for a real hash.
	p, _, _, err := decodeHash(h.dummy)
	if err != nil {
		t.Fatal(err)
	}
	if p != h.Params() {
		t.Errorf("dummy params %+v, hasher params %+v", p, h.Params())
	}
	// No password matches it, including the empty one.
	for _, pw := range []string{"", "anything", "\x00"} {
		if ok, _, _ := h.Verify(t.Context(), h.dummy, pw); ok {
			t.Errorf("dummy hash matched %q", pw)
		}
	}
	var n atomic.Int32
	h.hook = func(ev string) {
		if ev == "start" {
			n.Add(1)
		}
	}
	if err := h.VerifyDummy(t.Context(), "x"); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Errorf("VerifyDummy ran argon2 %d times; want 1", n.Load())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.VerifyDummy(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyDummy(cancelled) = %v; want context.Canceled", err)
	}
}

func TestNewHasherDefaults(t *testing.T) {
	h := NewHasher(Params{}, 0)
	if h.Params() != DefaultParams {
		t.Errorf("zero params became %+v; want %+v", h.Params(), DefaultParams)
	}
	if cap(h.sem) < 1 {
		t.Errorf("semaphore capacity %d", cap(h.sem))
	}
	if h := NewHasher(fastParams, 3); cap(h.sem) != 3 {
		t.Errorf("semaphore capacity %d; want 3", cap(h.sem))
	}
}

// TestHashConcurrencyCap checks with an instrumented hook, not with timing,
// that no more than maxConcurrent argon2 computations overlap.
func TestHashConcurrencyCap(t *testing.T) {
	for _, limit := range []int{1, 3} {
		h := NewHasher(fastParams, limit)
		var active, peak atomic.Int32
		h.hook = func(ev string) {
			switch ev {
			case "start":
				n := active.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				// Hold the slot until the cap is reached, so the test also
				// shows that limit hashes really do run side by side;
				// without the cap, more would pile in meanwhile.
				deadline := time.Now().Add(5 * time.Second)
				for peak.Load() < int32(limit) && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
			case "end":
				active.Add(-1)
			}
		}
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				if i%2 == 0 {
					if _, err := h.Hash(t.Context(), "pw"); err != nil {
						t.Error(err)
					}
				} else if err := h.VerifyDummy(t.Context(), "pw"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := peak.Load(); got != int32(limit) {
			t.Errorf("limit %d: peak concurrent hashes = %d", limit, got)
		}
	}
}

// TestHashWaitHonoursContext fills the only slot and checks that a waiting
// caller gives up when its context ends, and that the slot is released after.
func TestHashWaitHonoursContext(t *testing.T) {
	h := NewHasher(fastParams, 1)
	started := make(chan struct{})
	release := make(chan struct{})
	var first atomic.Bool
	h.hook = func(ev string) {
		if ev == "start" && first.CompareAndSwap(false, true) {
			close(started)
			<-release
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "holder")
		done <- err
	}()
	<-started

	ctx, cancel := context.WithCancel(t.Context())
	waitErr := make(chan error, 1)
	go func() {
		_, _, err := h.Verify(ctx, h.dummy, "waiter")
		waitErr <- err
	}()
	// The waiter is blocked on the semaphore; cancelling must free it.
	select {
	case err := <-waitErr:
		t.Fatalf("waiter returned while the slot was held: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-waitErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("waiter error = %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not give up after cancel")
	}

	// A deadline works the same way.
	dctx, dcancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer dcancel()
	if _, err := h.Hash(dctx, "late"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with deadline = %v; want context.DeadlineExceeded", err)
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The slot is free again.
	if _, err := h.Hash(t.Context(), "after"); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeHash(f *testing.F) {
	h := NewHasher(fastParams, 0)
	good, _ := h.Hash(context.Background(), "seed")
	f.Add(good)
	f.Add(h.dummy)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$$$$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodeHash(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		// Whatever parses is within bounds and is canonical: it encodes back
		// to exactly the input.
		if p.Time < 1 || p.Time > maxTime || p.MemoryKiB > maxMemoryKiB || p.Threads < 1 ||
			len(salt) < minSaltLen || len(salt) > maxSaltLen || len(key) < minKeyLen || len(key) > maxKeyLen {
			t.Fatalf("accepted out-of-bounds %+v salt %d key %d", p, len(salt), len(key))
		}
		if got := encodeHash(p, salt, key); got != s {
			t.Fatalf("decode/encode not canonical:\n in %q\nout %q", s, got)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams, 0)
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Hash(ctx, "Mitten!State26"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := h.Hash(ctx, "Mitten!State26"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams, 0)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "Mitten!State26")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, enc, "Mitten!State26"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// TestHashQueueBounded: with every slot taken and the queue full, a new hash
// is refused at once with EBUSY; a queued one runs when a slot frees.
func TestHashQueueBounded(t *testing.T) {
	h := NewHasher(fastParams, 1)
	if got := h.maxWaiting.Load(); got != DefaultWaitingPerSlot {
		t.Errorf("default queue %d; want %d", got, DefaultWaitingPerSlot)
	}
	h.SetMaxWaiting(2)
	release, err := h.Reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan error, 2)
	for range 2 {
		go func() { _, err := h.Hash(t.Context(), "pw"); queued <- err }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.waiting.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, _, err := h.Verify(t.Context(), h.dummy, "pw"); !milogin.IsKind(err, milogin.EBUSY) || milogin.ErrorMessage(err) != MsgBusy {
		t.Errorf("Verify with a full queue = %v; want EBUSY %q", err, MsgBusy)
	}
	if err := h.VerifyDummy(t.Context(), "pw"); !milogin.IsKind(err, milogin.EBUSY) {
		t.Errorf("VerifyDummy with a full queue = %v; want EBUSY", err)
	}
	release()
	for range 2 {
		if err := <-queued; err != nil {
			t.Errorf("queued hash: %v", err)
		}
	}
	if n := h.waiting.Load(); n != 0 {
		t.Errorf("%d still counted as waiting", n)
	}
	// An unlimited queue never refuses.
	h.SetMaxWaiting(-1)
	release, _ = h.Reserve(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unlimited queue: %v; want to wait until the deadline", err)
	}
	release()
}
