package milogin

import (
	"context"
	"sync"
)

// StoreScope is what a Store may remember from one read to the next within
// one request: a fact it read that the request's later reads may take as
// read again, because nothing in between could have made a difference the
// request could see. (The SQL store keeps the application catalog's
// version here: the signed-in page's session read brings it along, and
// the catalog read that follows need not ask again.) A Write forgets it.
//
// The server gives every request a scope; without one, for instance in
// tests that call a package directly, every read asks the database.
type StoreScope struct {
	mu sync.Mutex
	m  map[any]any
}

type storeScopeKey struct{}

// WithStoreScope returns ctx with a fresh StoreScope.
func WithStoreScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, storeScopeKey{}, &StoreScope{})
}

// StoreScopeOf returns ctx's scope, or nil. A nil scope keeps nothing: its
// methods may be called all the same.
func StoreScopeOf(ctx context.Context) *StoreScope {
	s, _ := ctx.Value(storeScopeKey{}).(*StoreScope)
	return s
}

// Load returns what was kept under key.
func (s *StoreScope) Load(key any) (any, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok
}

// Keep keeps v under key.
func (s *StoreScope) Keep(key, v any) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[any]any{}
	}
	s.m[key] = v
}

// Forget drops everything kept.
func (s *StoreScope) Forget() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}
