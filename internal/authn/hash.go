// Package authn holds the authentication primitives of MILogin: password
// hashing, the common-password blocklist, session tokens and one-time codes.
// It knows nothing about HTTP or SQL.
package authn

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"milogin"
	"milogin/internal/argon2"
)

// Params are the argon2id cost parameters. They are written into every hash,
// so they can be raised later: Verify reports needsRehash for hashes made with
// other parameters and the caller stores a new hash after a good sign-in.
type Params struct {
	Time      uint32 // passes over memory (t)
	MemoryKiB uint32 // memory in KiB (m)
	Threads   uint8  // lanes (p)
	SaltLen   uint32 // bytes of random salt
	KeyLen    uint32 // bytes of derived key
}

// DefaultParams follow OWASP ASVS appendix C / the OWASP password storage
// cheat sheet: argon2id, t=2, m=19 MiB, p=1.
var DefaultParams = Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds a stored hash must respect. They keep a corrupt or hostile row from
// making Verify allocate gigabytes or spin for minutes.
const (
	maxTime      = 64
	maxMemoryKiB = 1 << 20 // 1 GiB
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// ErrMalformedHash is returned (wrapped) by Verify when the stored string is
// not an argon2id PHC string this package can check.
var ErrMalformedHash = errors.New("authn: malformed password hash")

// MsgBusy is what a person is told when the node has more password checks
// waiting than it can do in a few seconds.
const MsgBusy = "MILogin is very busy. Please try again in a minute."

// Hasher hashes and verifies passwords. Every hash costs MemoryKiB of memory
// and a core for tens of milliseconds, so a semaphore caps how many run at
// once on this node. Callers queue for a slot, but the queue is short: past
// MaxWaiting callers a new one is refused at once with EBUSY (the server
// answers 503), because a sign-in that waits half a minute for its hash is
// worse than one told to come back, and a queue that grows without bound
// only makes every waiter late. A Hasher is safe for concurrent use.
type Hasher struct {
	params  Params
	sem     chan struct{}
	dummy   string // encoded hash with this hasher's params that matches nothing
	waiting atomic.Int64
	// maxWaiting bounds the callers waiting for a slot (SetMaxWaiting).
	maxWaiting atomic.Int64

	// hook, when set by tests, is called with "start" and "end" around each
	// argon2 computation while the semaphore slot is held, on the
	// goroutine that computes.
	hook func(event string)

	// jobs feeds the low-priority hash workers (RunInBackground); nil
	// while hashes run on the caller's goroutine. stop ends the workers
	// (Close); a hash asked for after it runs on the caller's goroutine.
	jobs     chan hashJob
	stop     chan struct{}
	stopOnce sync.Once
}

// hashJob is one derivation handed to a background worker.
type hashJob struct {
	p        Params
	salt     []byte
	password string
	out      chan []byte
}

// RunInBackground moves the hashing onto one worker per slot, each on an
// operating-system thread of its own whose scheduling priority is lowered
// by nice (1 to 19). A password hash is the one long computation of the
// server: run at the normal priority it takes whole cores for 30 ms at a
// time, and under a sign-in flood the pages of people already signed in,
// token refreshes and userinfo calls wait behind it. At a lower priority
// the kernel gives a core to that short work first and to hashing the
// rest. For the Go scheduler to have somewhere to run that short work
// while every worker hashes, the caller raises GOMAXPROCS by Slots (serve
// does). It returns false where thread priorities cannot be set (not
// Linux), and then changes nothing. Call it once, before any hash.
func (h *Hasher) RunInBackground(nice int) bool {
	if !canLowerThreadPriority || h.jobs != nil {
		return false
	}
	h.jobs, h.stop = make(chan hashJob), make(chan struct{})
	for range cap(h.sem) {
		go h.worker(nice)
	}
	return true
}

// Close ends the background workers of RunInBackground and their threads.
// Hashes asked for afterwards run on the caller's goroutine. It is safe to
// call more than once, and on a Hasher without workers.
func (h *Hasher) Close() {
	if h.stop != nil {
		h.stopOnce.Do(func() { close(h.stop) })
	}
}

func (h *Hasher) worker(nice int) {
	// The thread stays locked, and so lowered, until the worker ends:
	// unlocking would hand a low-priority thread back to the scheduler
	// for any goroutine. A goroutine that ends locked takes its thread
	// with it.
	runtime.LockOSThread()
	lowerThreadPriority(nice)
	for {
		select {
		case j := <-h.jobs:
			j.out <- h.compute(j.p, j.salt, j.password)
		case <-h.stop:
			return
		}
	}
}

// compute is one argon2id derivation.
func (h *Hasher) compute(p Params, salt []byte, password string) []byte {
	if h.hook != nil {
		h.hook("start")
		defer h.hook("end")
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

// NewHasher returns a Hasher producing hashes with p that runs at most
// maxConcurrent hashes at a time (runtime.GOMAXPROCS(0) when maxConcurrent <= 0).
// Zero fields of p take the value from DefaultParams.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	d := DefaultParams
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.MemoryKiB == 0 {
		p.MemoryKiB = d.MemoryKiB
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	// The working memory of each concurrent hash is kept between hashes.
	argon2.KeepAtLeast(maxConcurrent)
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
	h.maxWaiting.Store(int64(DefaultWaitingPerSlot * maxConcurrent))
	// The dummy's salt is fixed and its key is all zeros: no password
	// produces it, but checking a password against it costs exactly what
	// checking a real hash with these parameters costs.
	salt := make([]byte, p.SaltLen)
	for i := range salt {
		salt[i] = byte(i)
	}
	h.dummy = encodeHash(p, salt, make([]byte, p.KeyLen))
	return h
}

// DefaultWaitingPerSlot sizes the queue: 64 waiters per concurrent hash is
// about two seconds of work at production parameters (30 ms a hash).
const DefaultWaitingPerSlot = 64

// SetMaxWaiting sets how many callers may wait for a slot before new ones
// are refused with EBUSY; n < 0 means no limit.
func (h *Hasher) SetMaxWaiting(n int) { h.maxWaiting.Store(int64(n)) }

// Slots returns how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.sem) }

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of password with a fresh random salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// salt and key in standard base64 without padding. The password is used
// exactly as given: no trimming, case folding or truncation.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("authn: reading salt: %w", err)
	}
	key, err := h.derive(ctx, h.params, salt, password)
	if err != nil {
		return "", err
	}
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches the stored hash encoded. The
// parameters are read from encoded, so hashes made with older parameters
// still verify; needsRehash is true when ok and those parameters differ from
// the hasher's, and the caller should then store a fresh Hash. A malformed
// encoded yields an error wrapping ErrMalformedHash; an ended context while
// waiting for a slot yields the context's error.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, p, salt, password)
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy does the work of Verify against a hash that matches nothing, so
// that answering for an unknown user takes as long as for a known one
// (ASVS 6.3.8). It returns only context errors.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

// errBusy is returned when the queue for a slot is full.
var errBusy = &milogin.Error{Op: "authn.Hasher", Kind: milogin.EBUSY, Msg: MsgBusy}

// Reserve takes a hash slot under the same rules as a hash (queueing, EBUSY
// when the queue is full) and returns the function that gives it back. It
// lets tests hold the node at capacity without timing.
func (h *Hasher) Reserve(ctx context.Context) (release func(), err error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	return func() { <-h.sem }, nil
}

// acquire takes a slot, waiting in the bounded queue when none is free.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("authn: waiting to hash: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	// No free slot: join the queue if it has room.
	n := h.waiting.Add(1)
	defer h.waiting.Add(-1)
	if limit := h.maxWaiting.Load(); limit >= 0 && n > limit {
		return errBusy
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("authn: waiting to hash: %w", ctx.Err())
	}
}

// derive runs argon2id once a semaphore slot is free.
func (h *Hasher) derive(ctx context.Context, p Params, salt []byte, password string) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-h.sem }()
	if h.jobs == nil {
		return h.compute(p, salt, password), nil
	}
	// The slot held guarantees a free worker: there are as many. The
	// channel is unbuffered, so a job is either taken by a worker, which
	// then answers, or not sent at all once the workers have stopped.
	out := make(chan []byte, 1)
	select {
	case h.jobs <- hashJob{p: p, salt: salt, password: password, out: out}:
		return <-out, nil
	case <-h.stop:
		return h.compute(p, salt, password), nil
	}
}

var b64 = base64.RawStdEncoding.Strict()

func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string strictly: the canonical form
// encodeHash writes and nothing else, so that parse and encode round-trip.
func decodeHash(s string) (p Params, salt, key []byte, err error) {
	bad := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	// encoding/base64 skips CR and LF; a stored hash has neither.
	if strings.ContainsAny(s, "\r\n") {
		return bad("contains a line break")
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return bad("want 5 $-separated fields")
	}
	if f[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	v, ok := strings.CutPrefix(f[2], "v=")
	if !ok {
		return bad("missing version")
	}
	if n, err := parseUint(v, 32); err != nil || n != argon2.Version {
		return bad("unsupported version")
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return bad("want parameters m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		x, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return bad("want parameters m, t and p in that order")
		}
		bits := 32
		if name == "p=" {
			bits = 8
		}
		n, err := parseUint(x, bits)
		if err != nil {
			return bad("parameter " + name[:1] + " is not a number in range")
		}
		vals[i] = n
	}
	p.MemoryKiB, p.Time, p.Threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return bad("t out of range")
	case p.Threads < 1:
		return bad("p out of range")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return bad("m out of range")
	}
	if salt, err = b64.DecodeString(f[4]); err != nil {
		return bad("salt is not base64")
	}
	if key, err = b64.DecodeString(f[5]); err != nil {
		return bad("key is not base64")
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return bad("salt length out of range")
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return bad("key length out of range")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// parseUint accepts only canonical decimal: no sign, no leading zeros.
func parseUint(s string, bits int) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseUint(s, 10, bits)
}
