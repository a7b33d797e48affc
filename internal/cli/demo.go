package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bulwark-sec/bulwark/examples/quickstart"
	"github.com/bulwark-sec/bulwark/internal/demo"
	"github.com/bulwark-sec/bulwark/internal/gateway"
)

const demoHelp = `
Run the quickstart: the gateway on the configuration in examples/quickstart
(embedded in the binary), with a built-in demo backend on 127.0.0.1:9080.
It listens on :8443 (HTTPS), :8080 (HTTP, redirects) and 127.0.0.1:9901
(admin), issues certificates from a local development CA kept in the state
directory, and prints the CA's path so that

  curl --cacert CA_PATH https://demo.localhost:8443/

reaches the demo site. Security events and access records are JSON lines on
stdout. Stop it with Ctrl-C.`

// demoBackendAddr is where examples/quickstart/tenants/demo.yaml sends
// traffic.
const demoBackendAddr = "127.0.0.1:9080"

func runDemo(env Env, args []string) error {
	fs := flags(env, "demo", "bulwark demo [flags]", demoHelp)
	stateDir := fs.String("state-dir", defaultDemoState(), "directory for the demo's state (the development CA)")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	log, _ := newLogger(env, "info")
	ln, err := net.Listen("tcp", demoBackendAddr)
	if err != nil {
		return fmt.Errorf("demo backend: %w", err)
	}
	backend := &http.Server{Handler: demo.Backend(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := backend.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo backend stopped", "error", err)
		}
	}()
	defer backend.Close()

	g, err := gateway.New(gateway.Options{FS: quickstart.FS, Label: "examples/quickstart", StateDir: *stateDir, Stdout: env.Stdout, Log: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "\nBulwark demo\n  development CA: %s\n  try:            curl --cacert %s https://demo.localhost:8443/\n  metrics:        curl http://127.0.0.1:9901/metrics\n\n",
		g.DevCAFile(), g.DevCAFile())
	return serve(g)
}

// defaultDemoState is $XDG_STATE_HOME/bulwark-demo, else
// ~/.local/state/bulwark-demo, else a directory under the system temp dir.
func defaultDemoState() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "bulwark-demo")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "bulwark-demo")
	}
	return filepath.Join(os.TempDir(), "bulwark-demo")
}
