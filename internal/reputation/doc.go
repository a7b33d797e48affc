// Package reputation is the gateway's IP-reputation stage, the first of the
// per-route stages: it judges a client by its address before any work is
// spent on the request.
//
// For each request, in order:
//
//  1. allow lists (inline and files): the client is marked Allowlisted and
//     passes with no further reputation check; later stages skip rate
//     limits and challenges for it, never the WAF (INV-1);
//  2. deny lists, deny feeds, an active ban, a DNSBL listing with action
//     deny: 403 through request.Deny;
//  3. greylist feeds and DNSBL listings with action greylist: the client is
//     marked Greylisted (a signal for the bot challenge) and passes;
//  4. the response is watched: 4xx responses (403 from a later stage
//     included) count towards a ban.
//
// Choices worth knowing:
//
//   - Lists match IPv4 and IPv6 apart: ::/0 is every IPv6 address, not
//     IPv4 as well; IPv4-mapped addresses and prefixes count as IPv4.
//   - Feeds are all-or-nothing: a fetch that fails (status, network, one
//     unparsable line, no entries at all) keeps the last good list.
//   - A DNSBL timeout or error counts as not listed and is cached for at
//     most maxErrorTTL (5s), not negative_ttl. Private, loopback and
//     link-local addresses are never looked up.
//   - Bans count per IPv4 address and per IPv6 /64. The memory store uses
//     an exact sliding window; the Redis store a fixed window from the
//     first counted response (INCR + PEXPIRE), in one script per response.
//     When Redis fails, bans fall back to memory for redisRetryAfter (1s)
//     at a time; bans learnt from Redis are remembered locally.
//
// A Reputation lives as long as the process: feed lists, the DNSBL cache
// and bans survive configuration reloads, which only call Reconfigure.
// Per-route handlers come from Stage.
package reputation
