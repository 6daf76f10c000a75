package imds

import (
	"crypto/rand"
	"sync"
	"time"
)

// tokenStore holds the IMDSv2 session tokens handed out and when each
// expires. It is bounded: a guest asking for tokens in a loop evicts its
// own oldest, and clients such as the AWS SDKs fetch a new token when
// theirs is refused.
type tokenStore struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	expires map[string]time.Time
}

func newTokenStore(now func() time.Time, max int) *tokenStore {
	return &tokenStore{now: now, max: max, expires: make(map[string]time.Time)}
}

// issue makes a token valid for ttl from now.
func (s *tokenStore) issue(ttl time.Duration) string {
	// 128 random bits: unguessable however many requests a guest makes.
	token := rand.Text()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.expires) >= s.max {
		s.prune(now)
	}
	if len(s.expires) >= s.max {
		s.evictSoonest()
	}
	s.expires[token] = now.Add(ttl)
	return token
}

// valid says whether token was issued and has not expired.
func (s *tokenStore) valid(token string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.expires[token]
	if ok && !now.Before(exp) {
		delete(s.expires, token)
		return false
	}
	return ok
}

// prune drops expired tokens. It runs only when the store is full, since
// until then the expired ones cost nothing but memory already bounded.
func (s *tokenStore) prune(now time.Time) {
	for t, exp := range s.expires {
		if !now.Before(exp) {
			delete(s.expires, t)
		}
	}
}

// evictSoonest drops the live token closest to expiry, the one its holder
// was going to replace first anyway.
func (s *tokenStore) evictSoonest() {
	var soonest string
	var soonestExp time.Time
	for t, exp := range s.expires {
		if soonest == "" || exp.Before(soonestExp) {
			soonest, soonestExp = t, exp
		}
	}
	delete(s.expires, soonest)
}
