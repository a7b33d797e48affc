package proxy

import (
	"net/url"
	"testing"
	"time"
)

func TestPoolRoundRobinAndEjection(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	var urls []*url.URL
	for _, h := range []string{"a:1", "b:1", "c:1"} {
		urls = append(urls, &url.URL{Scheme: "http", Host: h})
	}
	p := NewPool(urls, 10*time.Second, clock)
	first := func() string { return p.order()[0].url.Host }

	if got := []string{first(), first(), first(), first()}; got[0] != "a:1" || got[1] != "b:1" || got[2] != "c:1" || got[3] != "a:1" {
		t.Fatalf("round robin order %v", got)
	}
	b := p.backends[1]
	if !p.eject(b) {
		t.Fatal("first ejection not reported as new")
	}
	if p.eject(b) {
		t.Fatal("second ejection of an ejected backend reported as new")
	}
	if p.Healthy() != 2 {
		t.Fatalf("healthy %d, want 2", p.Healthy())
	}
	for range 6 {
		o := p.order()
		if o[0].url.Host == "b:1" || o[len(o)-1].url.Host != "b:1" {
			t.Fatalf("ejected backend not last: %v", hosts(o))
		}
	}
	now = now.Add(10*time.Second + time.Nanosecond)
	if p.Healthy() != 3 {
		t.Fatalf("backend not back after the cooldown: healthy %d", p.Healthy())
	}
	p.eject(b)
	p.restore(b)
	if p.Healthy() != 3 {
		t.Fatal("restore did not bring the backend back")
	}
}

func TestPoolAllEjectedStillTried(t *testing.T) {
	now := time.Unix(1000, 0)
	p := NewPool([]*url.URL{{Host: "a:1"}, {Host: "b:1"}}, time.Minute, func() time.Time { return now })
	for _, b := range p.backends {
		p.eject(b)
	}
	if got := len(p.order()); got != 2 {
		t.Fatalf("with every backend ejected, order has %d entries, want 2", got)
	}
}

func hosts(bs []*backend) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.url.Host)
	}
	return out
}
