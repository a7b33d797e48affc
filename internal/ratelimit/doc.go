// Package ratelimit is the gateway's rate-limit stage (RFC §3.2.1, L3): a
// GCRA limit per route and client IP, a limit on each client's requests in
// flight, and two stores, one per process or one shared through Redis.
//
// # Algorithm
//
// GCRA (the Generic Cell Rate Algorithm, see gcra.go) keeps one number per
// client, its theoretical arrival time. A client that has been quiet may
// send the route's burst at once; after that it is admitted at the route's
// rate, one request every 1/rate, exactly: the decision takes the time as
// an argument, and the Limiter's clock is injectable (Options.Now).
// Rates are kept in microseconds, the emission interval rounded up, so
// the enforced rate is never above the configured one.
//
// # Responses
//
// A refused request gets 429 from request.Deny (HTML or JSON by Accept)
// with Retry-After, in whole seconds rounded up, and the RateLimit fields
// of draft-ietf-httpapi-ratelimit-headers-11 (structured-field lists);
// admitted requests carry the same fields:
//
//	RateLimit-Policy: "default";q=<burst>;w=<window>[, "concurrency";q=<n>;qu="concurrent-requests"]
//	RateLimit: "default";r=<remaining>;t=<seconds>[, "concurrency";r=0]
//
// The draft does not prescribe an algorithm; this is how GCRA maps onto
// it. The quota q is the burst and the window w is the time an exhausted
// budget takes to fill up again (burst/rate, rounded up to a whole second
// and at least 1), so q/w is the sustained rate, never above it. r is how
// many requests would be admitted right now. t is the time until the whole
// burst is available again; when r is 0 it is instead the time until the
// next request is admitted, equal to Retry-After on a 429, so that
// Retry-After never points before the end of the effective window (draft
// §6). Both are conservative: within t the client can always use at least
// r. The concurrency policy uses the draft's concurrent-requests unit; its
// RateLimit item appears only on the 429 it causes. No partition key is
// sent: the key would be the client's address.
//
// State.RateUsage is set on every decision, from 0 to 1: the share of the
// burst in use (1 when refused), for the bot challenge's suspicion score.
// Allowlisted clients (State.Allowlisted) skip the stage entirely: no
// decision, no fields, no budget used.
//
// # Concurrency limit
//
// RouteLimit.Concurrent > 0 limits a client's requests in flight on the
// route; the next one gets 429 with Retry-After: 1, and a slot is freed
// when the request returns. The counters are local to the process, so
// with N replicas a client may have up to N × concurrent requests in
// flight. A request refused by the concurrency limit has already used one
// unit of its rate budget.
//
// # Memory store
//
// Per process, and the fallback of the Redis store. 64 shards, each a map
// from (route, IP) to a slot and a CLOCK ring, with room for an even share
// of ratelimit.max_memory_keys (at least one key per shard). A full shard
// evicts a client whose budget is whole again (it holds no information)
// or the first one the CLOCK hand finds unused since its last pass; new
// clients enter unmarked, so a flood of one-time addresses evicts itself
// before it evicts a client that keeps coming back. An evicted client
// starts again with a full burst.
//
// Memory ceiling: 88 bytes per key, measured by bench's
// BenchmarkRateLimitMemory at 1M keys, and steady under eviction churn
// (the map and the slot array never grow past the bound). The default
// max_memory_keys of 1,000,000 therefore costs about 90 MB per process;
// budget 100 bytes per key. The concurrency counters add an entry per
// client with requests in flight, bounded by the connections.
//
// # Redis store
//
// One budget for every replica: each decision is one run of a Lua script
// (EVALSHA, EVAL when Redis does not know it, as after a restart), atomic
// in Redis, on the key redis.key_prefix + "rl:" + route ID + ":" + IP,
// which expires when the client's budget is whole again. Without an
// injected clock the script uses Redis's TIME, so the replicas' clock skew
// does not move the budget. Each command gets redis.timeout, no retries.
//
// Every Redis answer is copied into the memory store. When a command
// fails or times out, that decision and all that follow are made by the
// memory store, which starts from the shared budget this process last saw
// (a client that had spent it stays refused) — never unlimited. During an
// outage a client's budget is per replica: up to N × burst across N
// replicas. The switch counts bulwark_ratelimit_redis_errors_total, sets
// bulwark_ratelimit_fallback to 1 and calls Options.OnFallback once; one
// goroutine then pings Redis (after 100ms, doubling up to 10s; an outage
// within a minute of the last recovery continues that backoff, so a
// flapping server does not produce an event every 100ms) and, when Redis
// answers, switches back and calls OnFallback again. A Redis restarted
// without persistence has forgotten every budget.
//
// # Lifetime
//
// The Limiter lives as long as the process: metrics are registered once,
// counters survive configuration reloads. Reconfigure applies a reloaded
// policy; Stage builds the stage of a route for each generation, sharing
// counters by route ID.
package ratelimit
