package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/bulwark-sec/bulwark/internal/request"
)

// balancer is the RoundTripper of a route: it sends each request to the
// pool's backends in order until one accepts the connection. A request is
// retried on another backend only when the connection could not be made
// and not a byte of its body was read, so a retry can never deliver a
// request twice.
type balancer struct {
	pool    *Pool
	rt      http.RoundTripper
	onEject func(backend string, err error)
}

func (t *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body *onceBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &onceBody{rc: req.Body}
	}
	var lastErr error
	for _, b := range t.pool.order() {
		out := *req
		u := *req.URL
		u.Scheme, u.Host = b.url.Scheme, b.url.Host
		out.URL = &u
		if body != nil {
			out.Body = body
		}
		resp, err := t.rt.RoundTrip(&out)
		if err == nil {
			t.pool.restore(b)
			request.From(req.Context()).Upstream = b.url.Host
			return resp, nil
		}
		lastErr = err
		if !isConnectError(err) || req.Context().Err() != nil {
			break
		}
		if t.pool.eject(b) && t.onEject != nil {
			t.onEject(b.url.Host, err)
		}
		if body != nil && body.read.Load() {
			break
		}
	}
	if body != nil {
		body.rc.Close()
	}
	return nil, lastErr
}

// isConnectError reports whether err happened while connecting, before
// anything was sent.
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// onceBody lets one request body be offered to several backends in turn:
// the transport may close it after a failed attempt, so Close is deferred
// to the balancer, and read records whether any attempt consumed it.
type onceBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *onceBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *onceBody) Close() error { return nil }
