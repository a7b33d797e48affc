package redisconn

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/config"
)

func TestPassword(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(abs, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := func(name string) ([]byte, error) {
		if name == "secrets/redis" {
			return []byte("from-config-dir\r\n"), nil
		}
		return nil, fs.ErrNotExist
	}
	for _, c := range []struct {
		name, file, want string
		fail             bool
	}{
		{"none", "", "", false},
		{"absolute", abs, "s3cret", false},
		{"relative to the configuration directory", "secrets/redis", "from-config-dir", false},
		{"missing", "secrets/nope", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Password(config.Redis{PasswordFile: c.file}, files)
			if (err != nil) != c.fail || got != c.want {
				t.Fatalf("Password = %q, %v", got, err)
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v does not wrap the cause", err)
			}
		})
	}
}
