// Package redisconn connects to the Redis the platform configured
// (redis: in platform.yaml), the one way for every part that shares state
// through it (rate limits, bans): the same password file semantics and the
// same client behaviour — one attempt per command and per dial, each
// bounded by redis.timeout, because a slow Redis must turn into a fallback
// quickly rather than into slow requests.
package redisconn

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// DefaultTimeout is used when redis.timeout is unset (tests that build a
// config.Redis by hand).
const DefaultTimeout = 50 * time.Millisecond

// Timeout is r's command timeout.
func Timeout(r config.Redis) time.Duration {
	if t := r.Timeout.D(); t > 0 {
		return t
	}
	return DefaultTimeout
}

// Password reads r.PasswordFile, without its trailing newline: an absolute
// path as it is, a relative one through files (the configuration
// directory's reader, config.Config.ReadFile), or from the working
// directory when files is nil. No file means no password.
func Password(r config.Redis, files func(string) ([]byte, error)) (string, error) {
	if r.PasswordFile == "" {
		return "", nil
	}
	var data []byte
	var err error
	if filepath.IsAbs(r.PasswordFile) || files == nil {
		data, err = os.ReadFile(r.PasswordFile)
	} else {
		data, err = files(r.PasswordFile)
	}
	if err != nil {
		return "", fmt.Errorf("redis.password_file: %w", err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// New returns a client for r. It connects lazily and never blocks.
func New(r config.Redis, password string) *redis.Client {
	t := Timeout(r)
	return redis.NewClient(&redis.Options{
		Addr:     r.Address,
		Password: password,
		DB:       r.DB,
		// One attempt per command and per dial: a retry would only make
		// the request wait longer before the fallback.
		MaxRetries:            -1,
		DialerRetries:         1,
		DialTimeout:           t,
		ReadTimeout:           t,
		WriteTimeout:          t,
		PoolTimeout:           t,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true,
	})
}
