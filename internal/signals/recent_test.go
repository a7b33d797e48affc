package signals

import (
	"net/netip"
	"testing"
	"time"
)

func TestRecent(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRecent(2, time.Minute, func() time.Time { return now })
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::1")
	r.NoteWAFScore(a, 0)
	if r.WAFScore(a) != 0 {
		t.Fatal("a zero score was recorded")
	}
	r.NoteWAFScore(a, 5)
	r.NoteWAFScore(b, 3)
	if r.WAFScore(a) != 5 || r.WAFScore(b) != 3 {
		t.Fatalf("scores %d %d", r.WAFScore(a), r.WAFScore(b))
	}
	r.NoteWAFScore(c, 8) // evicts a, the oldest
	if r.WAFScore(a) != 0 || r.WAFScore(c) != 8 {
		t.Fatalf("after eviction: a=%d c=%d", r.WAFScore(a), r.WAFScore(c))
	}
	now = now.Add(time.Minute + time.Second)
	if r.WAFScore(b) != 0 {
		t.Fatal("score outlived its TTL")
	}
}
