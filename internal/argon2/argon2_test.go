package argon2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// TestAgainstUpstream: every derivation equals x/crypto's, for Argon2id and
// Argon2i, over a spread of parameters, run repeatedly so that most of them
// start from a pooled buffer still full of another derivation's blocks.
func TestAgainstUpstream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		pw := make([]byte, r.IntN(40))
		salt := make([]byte, 8+r.IntN(24))
		for j := range pw {
			pw[j] = byte(r.Uint32())
		}
		for j := range salt {
			salt[j] = byte(r.Uint32())
		}
		time := uint32(1 + r.IntN(3))
		threads := uint8(1 + r.IntN(4))
		memory := uint32([]int{8, 16, 64, 256, 1024, 19 * 1024}[r.IntN(6)])
		if memory == 19*1024 && i%10 != 0 {
			memory = 512 // the production size, but not every time: it is slow
		}
		keyLen := uint32(16 + r.IntN(48))
		name := fmt.Sprintf("t=%d m=%d p=%d", time, memory, threads)
		if got, want := IDKey(pw, salt, time, memory, threads, keyLen), upstream.IDKey(pw, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("IDKey %s: %x, upstream %x", name, got, want)
		}
		if got, want := Key(pw, salt, time, memory, threads, keyLen), upstream.Key(pw, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("Key %s: %x, upstream %x", name, got, want)
		}
	}
}

// The RFC 9106 test vector for Argon2id (section 5.3), which has a secret
// and associated data: through deriveKey.
func TestRFC9106Argon2id(t *testing.T) {
	pw := bytes.Repeat([]byte{1}, 32)
	salt := bytes.Repeat([]byte{2}, 16)
	secret := bytes.Repeat([]byte{3}, 8)
	data := bytes.Repeat([]byte{4}, 12)
	want := "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
	for range 3 { // the second and third from a pooled buffer
		got := fmt.Sprintf("%x", deriveKey(argon2id, pw, salt, secret, data, 3, 32, 4, 32))
		if got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

// TestFreeListIsBounded: however many derivations run at once, at most keep
// working memories stay behind for reuse, and they are reused.
func TestFreeListIsBounded(t *testing.T) {
	free.Lock()
	saved := free.keep
	free.keep = 2
	clear(free.bufs)
	free.bufs = free.bufs[:0]
	free.Unlock()
	t.Cleanup(func() { free.Lock(); free.keep = saved; free.Unlock() })

	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() { IDKey([]byte{byte(i)}, []byte("saltsaltsalt"), 1, 64, 1, 32) })
	}
	wg.Wait()
	free.Lock()
	n := len(free.bufs)
	free.Unlock()
	if n == 0 || n > 2 {
		t.Fatalf("after 6 concurrent derivations with keep 2, %d buffers are kept", n)
	}
	first := getBlocks(64)
	putBlocks(first)
	if again := getBlocks(64); &again[0] != &first[0] {
		t.Fatal("a kept buffer was not reused")
	}
}
