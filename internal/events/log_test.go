package events

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

func TestLogSinksAndReopen(t *testing.T) {
	var stdout bytes.Buffer
	l := NewLog(&stdout, prometheus.NewRegistry())
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	if err := l.Configure([]config.Sink{{Type: "stdout"}, {Type: "file", Path: path}}); err != nil {
		t.Fatal(err)
	}
	l.Emit("security", Security{Type: "security", RequestID: "r1", Layer: "waf", Action: "block", Status: 403})

	// Rotation: move the file away, reconfigure, and the next event goes
	// to a new file at the configured path.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Configure([]config.Sink{{Type: "stdout"}, {Type: "file", Path: path}}); err != nil {
		t.Fatal(err)
	}
	l.Emit("access", Access{Type: "access", RequestID: "r2", Status: 200})
	l.Close()

	if n := strings.Count(stdout.String(), "\n"); n != 2 {
		t.Fatalf("stdout has %d lines, want 2: %q", n, stdout.String())
	}
	for file, id := range map[string]string{path + ".1": "r1", path: "r2"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil || m["request_id"] != id {
			t.Errorf("%s: %q (%v), want one event %s", file, data, err, id)
		}
	}
}

func TestLogConfigureFailureKeepsSinks(t *testing.T) {
	var stdout bytes.Buffer
	l := NewLog(&stdout, prometheus.NewRegistry())
	if err := l.Configure([]config.Sink{{Type: "stdout"}}); err != nil {
		t.Fatal(err)
	}
	err := l.Configure([]config.Sink{{Type: "file", Path: filepath.Join(t.TempDir(), "missing", "x.jsonl")}})
	if err == nil || !strings.Contains(err.Error(), "events.sinks[0]") {
		t.Fatalf("error %v, want one naming events.sinks[0]", err)
	}
	l.Emit("access", Access{Type: "access"})
	if stdout.Len() == 0 {
		t.Fatal("the previous sinks were dropped by a failed Configure")
	}
}
