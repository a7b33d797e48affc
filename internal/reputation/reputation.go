package reputation

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// Options configure the reputation stage. Only Policy is required.
type Options struct {
	Policy config.ReputationPolicy
	// Files reads allow_files and deny_files (and a relative
	// redis.password_file) from the configuration directory:
	// config.Config.ReadFile.
	Files func(name string) ([]byte, error)
	// Redis is used for bans when Policy.Bans.Store is "redis". It is read
	// once, by New: changing it needs a restart.
	Redis config.Redis
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives feed failures and Redis state changes; nil discards.
	Log *slog.Logger
	// Registerer takes the metrics; nil means a private registry.
	Registerer prometheus.Registerer
	// HTTPClient fetches feeds; nil means a client with a 30s overall
	// timeout and 10s connect, TLS-handshake and response-header timeouts.
	HTTPClient *http.Client

	// Test hooks.
	newTicker func(time.Duration) (<-chan time.Time, func()) // nil: time.NewTicker
	fetched   func(feed string, err error)                   // after every feed fetch
}

// Reputation holds what outlives a reload: feed lists and their
// refreshers, the DNSBL cache, bans. The configuration in force is an
// immutable snapshot swapped atomically by Reconfigure.
type Reputation struct {
	o     Options
	m     *metrics
	dnsbl *dnsbl
	bans  *bans
	snap  atomic.Pointer[snapshot]

	mu     sync.Mutex // Reconfigure, Close, the feeds map
	feeds  map[string]*feed
	closed bool
	wg     sync.WaitGroup // refreshers
}

// snapshot is one configuration, ready for lookups.
type snapshot struct {
	allow, deny lists
	feeds       []feedUse
	dnsbl       *dnsblPolicy // nil: no zones
	bans        banPolicy
}

type feedUse struct {
	f    *feed
	deny bool // greylist otherwise
}

// New builds the stage's shared state, applies o.Policy and starts a
// refresher per feed, each fetching at once and then every interval.
// Close stops them.
func New(o Options) (*Reputation, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultHTTPClient()
	}
	if o.newTicker == nil {
		o.newTicker = realTicker
	}
	mem := newMemoryBans(maxBanClients, o.Now)
	r := &Reputation{o: o, feeds: map[string]*feed{}, bans: &bans{mem: mem}}
	r.m = newMetrics(o.Registerer, mem.active)
	r.dnsbl = newDNSBL(r.m, o.Now, max(o.Policy.DNSBL.MaxEntries, 1))
	rb, err := newRedisBans(o.Redis, o.Files, r.m, o.Log, o.Now)
	if err != nil {
		return nil, fmt.Errorf("reputation: %w", err)
	}
	r.bans.redis = rb
	if err := r.Reconfigure(o.Policy, o.Files); err != nil {
		_ = rb.close()
		return nil, err
	}
	return r, nil
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 10 * time.Second
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Reconfigure applies a new policy: lists are read again through files,
// feeds that appear start (fetching at once), feeds that disappear stop,
// feeds that stay keep their list. On any error (a bad list file names the
// file and line) nothing changes.
func (r *Reputation) Reconfigure(p config.ReputationPolicy, files func(string) ([]byte, error)) error {
	s, err := r.build(p, files)
	if err != nil {
		return fmt.Errorf("reputation: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("reputation: closed")
	}
	want := map[string]config.Feed{}
	for _, f := range p.Feeds {
		want[f.URL] = f
	}
	for url, f := range r.feeds {
		if _, ok := want[url]; !ok {
			f.stop()
			delete(r.feeds, url)
			r.m.feedEntries.DeleteLabelValues(f.label)
			r.m.feedErrors.DeleteLabelValues(f.label)
		}
	}
	for _, fc := range p.Feeds {
		f, ok := r.feeds[fc.URL]
		switch {
		case !ok:
			f = &feed{url: fc.URL, label: feedLabel(fc.URL, r.labelTaken)}
			r.feeds[fc.URL] = f
			r.startRefresher(f, fc.Interval.D(), true)
		case f.interval != fc.Interval.D():
			f.stop()
			r.startRefresher(f, fc.Interval.D(), false)
		}
		s.feeds = append(s.feeds, feedUse{f: f, deny: fc.Action != "greylist"})
	}
	r.dnsbl.mu.Lock()
	r.dnsbl.cache.resize(max(p.DNSBL.MaxEntries, 1))
	r.dnsbl.m.dnsblEntries.Set(float64(r.dnsbl.cache.len()))
	r.dnsbl.mu.Unlock()
	r.snap.Store(s)
	return nil
}

// build reads and checks everything a policy needs, without changing
// anything.
func (r *Reputation) build(p config.ReputationPolicy, files func(string) ([]byte, error)) (*snapshot, error) {
	s := &snapshot{}
	var err error
	if s.allow, err = buildLists("reputation.allow", p.Allow, p.AllowFiles, files); err != nil {
		return nil, err
	}
	if s.deny, err = buildLists("reputation.deny", p.Deny, p.DenyFiles, files); err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i, f := range p.Feeds {
		if j, ok := seen[f.URL]; ok {
			return nil, fmt.Errorf("reputation.feeds[%d]: the same URL as reputation.feeds[%d]", i, j)
		}
		seen[f.URL] = i
		if f.Interval.D() <= 0 {
			return nil, fmt.Errorf("reputation.feeds[%d].interval: must be greater than zero", i)
		}
	}
	if s.dnsbl, err = newDNSBLPolicy(p.DNSBL); err != nil {
		return nil, err
	}
	b := p.Bans
	s.bans = banPolicy{threshold: b.Threshold, window: b.Window.D(), duration: b.Duration.D(), redis: b.Store == "redis"}
	if s.bans.threshold > 0 && (s.bans.window <= 0 || s.bans.duration <= 0) {
		return nil, errors.New("reputation.bans: window and duration must be greater than zero")
	}
	if s.bans.redis && r.bans.redis == nil {
		return nil, errors.New("reputation.bans.store: redis needs redis.address, which is read at start: restart the gateway to add it")
	}
	return s, nil
}

func (r *Reputation) labelTaken(label string) bool {
	for _, f := range r.feeds {
		if f.label == label {
			return true
		}
	}
	return false
}

// Close stops the feed refreshers and closes the Redis client. The stage
// keeps answering with what it has.
func (r *Reputation) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, f := range r.feeds {
		f.stop()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return r.bans.redis.close()
}
