package reputation

import (
	"container/list"
	"time"
)

// lru is a bounded map whose entries expire; when full, the least recently
// used entry goes. Not safe for concurrent use: callers hold their lock.
type lru[K comparable, V any] struct {
	max   int
	order *list.List // front: most recently used
	byKey map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), byKey: map[K]*list.Element{}}
}

// get returns the value of k if it is there and has not expired at now.
func (c *lru[K, V]) get(k K, now time.Time) (V, bool) {
	var zero V
	e, ok := c.byKey[k]
	if !ok {
		return zero, false
	}
	ent := e.Value.(*lruEntry[K, V])
	if !now.Before(ent.expires) {
		c.order.Remove(e)
		delete(c.byKey, k)
		return zero, false
	}
	c.order.MoveToFront(e)
	return ent.val, true
}

// put stores v under k until expires, evicting the least recently used
// entries beyond max.
func (c *lru[K, V]) put(k K, v V, expires time.Time) {
	if e, ok := c.byKey[k]; ok {
		ent := e.Value.(*lruEntry[K, V])
		ent.val, ent.expires = v, expires
		c.order.MoveToFront(e)
		return
	}
	c.byKey[k] = c.order.PushFront(&lruEntry[K, V]{key: k, val: v, expires: expires})
	c.trim()
}

// resize changes the bound, evicting at once if it shrank.
func (c *lru[K, V]) resize(max int) {
	c.max = max
	c.trim()
}

func (c *lru[K, V]) trim() {
	for c.max > 0 && c.order.Len() > c.max {
		e := c.order.Back()
		c.order.Remove(e)
		delete(c.byKey, e.Value.(*lruEntry[K, V]).key)
	}
}

// remove drops k.
func (c *lru[K, V]) remove(k K) {
	if e, ok := c.byKey[k]; ok {
		c.order.Remove(e)
		delete(c.byKey, k)
	}
}

func (c *lru[K, V]) len() int { return c.order.Len() }
