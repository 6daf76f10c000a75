package imds

import (
	"testing"
	"time"
)

func TestTokenStoreNeverHoldsMoreThanItsBound(t *testing.T) {
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	s := newTokenStore(func() time.Time { return now }, 3)
	for range 10 {
		s.issue(time.Minute)
	}
	if n := len(s.expires); n != 3 {
		t.Fatalf("store holds %d tokens, want its bound 3", n)
	}
}

func TestFullTokenStoreDropsExpiredTokensBeforeLiveOnes(t *testing.T) {
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	s := newTokenStore(func() time.Time { return now }, 3)
	s.issue(time.Second)
	s.issue(time.Second)
	long := s.issue(time.Hour)
	now = now.Add(2 * time.Second)
	fresh := s.issue(time.Minute)

	if n := len(s.expires); n != 2 {
		t.Fatalf("store holds %d tokens, want the 2 live ones", n)
	}
	if !s.valid(long) || !s.valid(fresh) {
		t.Fatal("a live token was dropped while expired ones could go")
	}
}

func TestFullTokenStoreEvictsTheLiveTokenClosestToExpiry(t *testing.T) {
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	s := newTokenStore(func() time.Time { return now }, 2)
	soon := s.issue(time.Minute)
	late := s.issue(time.Hour)
	newest := s.issue(time.Second)

	if s.valid(soon) {
		t.Fatal("the token closest to expiry survived a full store")
	}
	if !s.valid(late) || !s.valid(newest) {
		t.Fatal("a later-expiring or the new token was evicted")
	}
}
