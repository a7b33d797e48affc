package reputation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxFeedBytes bounds a feed's body: a feed larger than this is refused
// rather than read into memory.
const maxFeedBytes = 64 << 20

// errNotModified is a 304: the list in use is still current.
var errNotModified = errors.New("not modified")

// feed is one remote list and what is known about it. It outlives
// reloads: a feed whose URL stays in the configuration keeps its list and
// validators.
type feed struct {
	url   string
	label string // the metric label: the URL's host, with #n when several feeds share it
	list  atomic.Pointer[prefixSet]

	mu       sync.Mutex // one fetch at a time; guards the validators
	etag     string
	modified string

	// The refresher, replaced when the interval changes.
	interval time.Duration
	stop     context.CancelFunc
}

// fetch gets the feed and, when it changed and parses, puts the new list
// in use. It returns errNotModified on a 304. Any other failure keeps
// the last good list.
func (f *feed) fetch(ctx context.Context, client *http.Client) (*prefixSet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", f.label, err)
	}
	req.Header.Set("Accept", "text/plain")
	if f.etag != "" {
		req.Header.Set("If-None-Match", f.etag)
	}
	if f.modified != "" {
		req.Header.Set("If-Modified-Since", f.modified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", f.label, err) // net/http strips credentials from the URL
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil, errNotModified
	default:
		return nil, fmt.Errorf("feed %s: status %d", f.label, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("feed %s: reading body: %w", f.label, err)
	}
	if len(body) > maxFeedBytes {
		return nil, fmt.Errorf("feed %s: body larger than %d bytes", f.label, maxFeedBytes)
	}
	set, err := parseList("feed "+f.label, body, false)
	if err != nil {
		return nil, err
	}
	if set.entries == 0 {
		// A list that was fine yesterday and is empty today is more likely
		// a broken server than a clean Internet; keep the last good one.
		return nil, fmt.Errorf("feed %s: no entries", f.label)
	}
	f.list.Store(set)
	f.etag, f.modified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return set, nil
}

// feedLabel is the metric label of a feed: its URL's host, which is
// bounded by the configuration and carries no credentials or tokens; a
// second feed on the same host gets host#2, and so on.
func feedLabel(raw string, taken func(string) bool) string {
	host := "feed"
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		host = u.Host
	}
	label := host
	for n := 2; taken(label); n++ {
		label = host + "#" + strconv.Itoa(n)
	}
	return label
}

// refresh fetches f once and records the outcome in the log and metrics.
func (r *Reputation) refresh(ctx context.Context, f *feed) error {
	set, err := f.fetch(ctx, r.o.HTTPClient)
	if ctx.Err() != nil && err != nil {
		return err // the feed was removed or the process is stopping: not the feed's failure
	}
	switch {
	case errors.Is(err, errNotModified):
		err = nil
	case err != nil:
		r.m.feedErrors.WithLabelValues(f.label).Inc()
		r.o.Log.Warn("reputation feed fetch failed; keeping the last good list", "feed", f.label, "error", err.Error())
	default:
		r.m.feedEntries.WithLabelValues(f.label).Set(float64(set.entries))
		r.o.Log.Info("reputation feed loaded", "feed", f.label, "entries", set.entries)
	}
	if r.o.fetched != nil {
		r.o.fetched(f.label, err)
	}
	return err
}

// startRefresher runs f's refresher: a fetch now if first, then one per
// interval until the feed is removed or the Reputation closed.
func (r *Reputation) startRefresher(f *feed, interval time.Duration, first bool) {
	ctx, cancel := context.WithCancel(context.Background())
	f.interval, f.stop = interval, cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if first {
			_ = r.refresh(ctx, f)
		}
		ticks, stop := r.o.newTicker(interval)
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticks:
				_ = r.refresh(ctx, f)
			}
		}
	}()
}

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Refresh fetches every feed now, each at most once at a time with its
// refresher, and returns the failures joined. Failed feeds keep their
// last good list, as on a scheduled refresh.
func (r *Reputation) Refresh(ctx context.Context) error {
	r.mu.Lock()
	feeds := make([]*feed, 0, len(r.feeds))
	for _, f := range r.feeds {
		feeds = append(feeds, f)
	}
	r.mu.Unlock()
	var errs []error
	for _, f := range feeds {
		if err := r.refresh(ctx, f); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
