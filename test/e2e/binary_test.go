package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinary builds the real bulwark binary once and drives it as an
// operator would: the gateway command with signals, config check, help.
func TestBinary(t *testing.T) {
	root := opsModuleRoot(t)
	bin := filepath.Join(t.TempDir(), "bulwark")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bulwark")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("gateway reloads on SIGHUP and drains on SIGTERM", func(t *testing.T) { opsBinaryGateway(t, bin) })
	t.Run("config check", func(t *testing.T) { opsBinaryConfigCheck(t, bin, root) })
	t.Run("help and usage errors", func(t *testing.T) { opsBinaryUsage(t, bin) })
}

// opsModuleRoot is the directory holding the module's go.mod.
func opsModuleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD = %q: not inside the module", gomod)
	}
	return filepath.Dir(gomod)
}

// opsRun runs bin with args in dir and returns its output and exit code.
func opsRun(t *testing.T, bin, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opsGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		code = exit.ExitCode()
	default:
		t.Fatalf("bulwark %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// opsBuffered returns every line written to b so far.
func opsBuffered(b *lockedBuffer) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func opsBinaryGateway(t *testing.T, bin string) {
	a, b := startBackend(t, "a", nil), startBackend(t, "b", nil)
	slow := opsStartHeld(t, "slow")
	https, plain, admin := closedAddr(t), closedAddr(t), closedAddr(t)
	state, fileState := t.TempDir(), t.TempDir()
	dir, src := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "platform.yaml"), fmt.Sprintf(`listeners:
  https: %q
  http: %q
  admin: %q
tls:
  dev_ca: true
state_dir: %q
server:
  drain_timeout: 1m
events:
  access: true
  sinks: [{type: stdout}]
tenants:
  shop:
    hosts: ["shop.test"]
`, https, plain, admin, fileState))
	conf := func(web *backend) string {
		return fmt.Sprintf(`tenant: shop
routes:
  - name: web
    hosts: ["shop.test"]
    backends: [{url: %q}]
  - name: slow
    hosts: ["shop.test"]
    paths: ["/slow"]
    backends: [{url: %q}]
`, web.url(), slow.url())
	}
	// The tenant file is a symlink to a file outside the directory, as in a
	// Kubernetes ConfigMap volume: changing the target is invisible to the
	// directory watch, so the reload below can only come from SIGHUP.
	srcFile := filepath.Join(src, "shop.yaml")
	writeFile(t, srcFile, conf(a))
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(srcFile, filepath.Join(dir, "tenants", "shop.yaml")); err != nil {
		t.Fatal(err)
	}

	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	cmd := exec.Command(bin, "gateway", "--state-dir", state, dir)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", opsBuffered(stderr))
		}
	})
	running := func() {
		t.Helper()
		select {
		case <-exited:
			t.Fatalf("the gateway exited: %v\nstderr:\n%s", waitErr, opsBuffered(stderr))
		default:
		}
	}
	readyz := func() (int, string) {
		running()
		code, body, err := opsHTTP("http://" + admin + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		return code, body
	}
	opsEventually(t, "/readyz answers 200", func() (bool, string) {
		code, body := readyz()
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})

	// --state-dir wins over the file's state_dir.
	pem, err := os.ReadFile(filepath.Join(state, "dev-ca", "ca.crt"))
	if err != nil {
		t.Fatalf("development CA under --state-dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fileState, "dev-ca")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("platform.yaml's state_dir was used despite --state-dir: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca.crt holds no certificate")
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, https)
		},
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	if code, backend, err := opsEcho(c, "https://shop.test/"); err != nil || code != 200 || backend != "a" {
		t.Fatalf("through the gateway: status %d backend %q (%v), want 200 from a", code, backend, err)
	}

	// SIGHUP after a change the watch cannot see.
	opsReplaceFile(t, srcFile, conf(b))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	opsEventually(t, "the reloaded configuration serves", func() (bool, string) {
		running()
		code, backend, err := opsEcho(c, "https://shop.test/")
		return err == nil && code == 200 && backend == "b", fmt.Sprintf("status %d backend %q error %v", code, backend, err)
	})
	var reloaded bool
	for _, e := range opsEventsIn(opsBuffered(stdout), "config") {
		d, _ := e["detail"].(map[string]any)
		if e["message"] == "configuration reloaded" && d["trigger"] == "SIGHUP" && d["generation"] == float64(2) {
			reloaded = true
		}
	}
	if !reloaded {
		t.Errorf("stdout has no \"configuration reloaded\" event with trigger SIGHUP for generation 2:\n%s", opsBuffered(stdout))
	}

	// SIGTERM with a request in flight: the gateway drains, the request
	// completes, the process exits 0.
	results := make(chan opsResult, 1)
	go opsFetch(c, "https://shop.test", "/slow", results)
	opsAwait(t, "the slow request reaching its backend", slow.arrived)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	opsEventually(t, "/readyz reports draining", func() (bool, string) {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"draining"`), fmt.Sprintf("%d %s", code, body)
	})
	opsEventually(t, "the HTTPS listener refuses connections", func() (bool, string) { return opsRefused(https) })
	running()
	slow.release()
	r := opsAwait(t, "the slow request to complete", results)
	if r.err != nil || r.status != http.StatusOK || r.body != opsHeldBody("/slow") {
		t.Errorf("in-flight request across SIGTERM: status %d, %d bytes, error %v", r.status, len(r.body), r.err)
	}
	opsAwait(t, "the gateway to exit", exited)
	if waitErr != nil {
		t.Errorf("gateway exit: %v, want status 0\nstderr:\n%s", waitErr, opsBuffered(stderr))
	}
	out := strings.TrimSpace(opsBuffered(stdout))
	var last map[string]any
	if err := json.Unmarshal([]byte(out[strings.LastIndexByte(out, '\n')+1:]), &last); err != nil ||
		last["type"] != "lifecycle" || last["message"] != "gateway stopped" {
		t.Errorf("stdout does not end with the gateway stopped lifecycle event:\n%s", out)
	}
	slowRecorded := false
	for _, e := range opsEventsIn(out, "access") {
		if e["uri"] == "/slow" && e["status"] == float64(200) {
			slowRecorded = true
		}
	}
	if !slowRecorded {
		t.Errorf("no access record with status 200 for the request drained across SIGTERM")
	}
}

// opsEventsIn returns the JSON events of type typ in out.
func opsEventsIn(out, typ string) []map[string]any {
	var evs []map[string]any
	for _, line := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["type"] == typ {
			evs = append(evs, m)
		}
	}
	return evs
}

func opsBinaryConfigCheck(t *testing.T, bin, root string) {
	t.Run("quickstart is valid", func(t *testing.T) {
		stdout, stderr, code := opsRun(t, bin, root, "config", "check", "examples/quickstart")
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		if !strings.HasSuffix(stdout, "\nexamples/quickstart: configuration is valid\n") {
			t.Errorf("stdout does not end with the verdict:\n%s", stdout)
		}
		if !strings.Contains(stdout, "\nroutes: 4\n") {
			t.Errorf("stdout does not count 4 routes:\n%s", stdout)
		}
		routes := map[string]map[string]string{
			"demo/web (examples/quickstart/tenants/demo.yaml:8)": {
				"tenant": "demo", "hosts": "demo.localhost, www.demo.localhost", "paths": "/",
				"backends": "http://127.0.0.1:9080", "max_body_size": "1MiB", "connect_timeout": "5s", "response_timeout": "15s",
				"waf":       "block (waf.enforce_now), paranoia 1, inbound threshold 5, 0 exception(s)",
				"ratelimit": "10/s, burst 20, concurrent 32", "challenge": "off",
			},
			"demo/api (examples/quickstart/tenants/demo.yaml:24)": {
				"tenant": "demo", "hosts": "demo.localhost", "paths": "/api",
				"backends": "http://127.0.0.1:9080", "max_body_size": "64KiB", "connect_timeout": "5s", "response_timeout": "5s",
				"waf": "block (waf.enforce_now), paranoia 1, inbound threshold 5, 0 exception(s)",
			},
			"demo/protected (examples/quickstart/tenants/demo.yaml:16)": {
				"tenant": "demo", "hosts": "demo.localhost", "paths": "/protected",
				"ratelimit": "10/s, burst 20, concurrent 32", "challenge": "always",
			},
			"demo/detect (examples/quickstart/tenants/demo.yaml:34)": {
				"tenant": "demo", "hosts": "detect.localhost", "paths": "/",
				"waf": "detect, paranoia 1, inbound threshold 5, 0 exception(s)",
			},
		}
		blocks := map[string]string{}
		for _, blk := range strings.Split(stdout, "\nroute ")[1:] {
			head, rest, _ := strings.Cut(blk, "\n")
			blocks[head] = rest
		}
		if len(blocks) != len(routes) {
			t.Errorf("%d route blocks, want %d:\n%s", len(blocks), len(routes), stdout)
		}
		for head, fields := range routes {
			blk, ok := blocks[head]
			if !ok {
				t.Errorf("no block for route %s:\n%s", head, stdout)
				continue
			}
			for f, v := range fields {
				re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f) + `: +` + regexp.QuoteMeta(v) + `$`)
				if !re.MatchString(blk) {
					t.Errorf("route %s: no line %q: %q\n%s", head, f, v, blk)
				}
			}
		}
	})
	t.Run("a broken directory exits 1 with every error located", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "platform.yaml"), `listeners:
  https: "127.0.0.1:8443"
tls:
  dev_ca: true
tenants:
  shop:
    hosts: ["shop.test"]
  blog:
    hosts: ["blog.test"]
`)
		writeFile(t, filepath.Join(dir, "tenants", "shop.yaml"), `tenant: shop
routes:
  - name: web
    hosts: ["blog.test"]
    backends: [{url: "http://127.0.0.1:9"}]
    max_body_size: 1GiB
`)
		stdout, stderr, code := opsRun(t, bin, dir, "config", "check", ".")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if strings.Contains(stdout, "valid") {
			t.Errorf("stdout claims validity:\n%s", stdout)
		}
		want := `bulwark: tenants/shop.yaml:4:13: routes[0].hosts[0]: tenant "shop" does not own host blog.test (the registry in platform.yaml gives it to tenant blog)
tenants/shop.yaml:6:20: routes[0].max_body_size: 1GiB is above the platform bound of 100MiB (routes.bounds.max_body_size in platform.yaml)
`
		if stderr != want {
			t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
		}
	})
}

func opsBinaryUsage(t *testing.T, bin string) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"gateway", "--help"}, {"config", "check", "--help"},
		{"demo", "--help"}, {"version", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code := opsRun(t, bin, dir, args...)
			if code != 0 || !strings.Contains(stdout, "Usage:") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and usage on stdout", code, stdout, stderr)
			}
		})
	}
	t.Run("version", func(t *testing.T) {
		stdout, _, code := opsRun(t, bin, dir, "version")
		if code != 0 || !strings.HasPrefix(stdout, "bulwark ") {
			t.Errorf("version: exit %d, stdout %q", code, stdout)
		}
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{nil, "Usage:"},
		{[]string{"gateway"}, "expected one configuration directory"},
		{[]string{"config", "check"}, "expected one configuration directory"},
		{[]string{"gateway", "--no-such-flag", "."}, "no-such-flag"},
	} {
		t.Run(fmt.Sprintf("%q exits 2", tc.args), func(t *testing.T) {
			stdout, stderr, code := opsRun(t, bin, dir, tc.args...)
			if code != 2 || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, tc.want)
			}
		})
	}
}
