package challenge

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

var (
	errReplay = errors.New("nonce already used")
	errFull   = errors.New("used-nonce set full")
)

// nonceStore remembers the nonces of solved challenges until their
// challenges expire, so each solution works once. It never holds more
// than max nonces: when full it refuses instead of growing, and frees
// room as challenges expire. About 100 bytes per nonce.
type nonceStore struct {
	mu    sync.Mutex
	max   int
	until map[string]time.Time
	order expiries // min-heap by expiry
}

func newNonceStore(max int) *nonceStore {
	return &nonceStore{max: max, until: map[string]time.Time{}}
}

// use marks nonce used until its challenge expires. It fails with
// errReplay if the nonce was used already, errFull if there is no room.
func (s *nonceStore) use(nonce string, until, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if _, ok := s.until[nonce]; ok {
		return errReplay
	}
	if len(s.until) >= s.max {
		return errFull
	}
	s.until[nonce] = until
	heap.Push(&s.order, expiry{at: until, nonce: nonce})
	return nil
}

// full reports whether no nonce can be added now, and if so how long
// until one can.
func (s *nonceStore) full(now time.Time) (bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if len(s.until) < s.max {
		return false, 0
	}
	return true, s.order[0].at.Sub(now)
}

func (s *nonceStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.until)
}

// expire drops the nonces whose challenges have expired: a replay of one
// of them fails on its expiry anyway.
func (s *nonceStore) expire(now time.Time) {
	for len(s.order) > 0 && !now.Before(s.order[0].at) {
		delete(s.until, heap.Pop(&s.order).(expiry).nonce)
	}
}

type expiry struct {
	at    time.Time
	nonce string
}

type expiries []expiry

func (e expiries) Len() int           { return len(e) }
func (e expiries) Less(i, j int) bool { return e[i].at.Before(e[j].at) }
func (e expiries) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *expiries) Push(x any)        { *e = append(*e, x.(expiry)) }
func (e *expiries) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}
