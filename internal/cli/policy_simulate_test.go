package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// app is the two-namespace application of the loader's tests: shop (web,
// cache) and billing (api, debug), each namespace default-deny.
const app = "../policy/load/testdata/app"

func simulate(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	err = Run(Env{Stdout: &out, Stderr: &errw}, append([]string{"policy", "simulate"}, args...))
	return out.String(), errw.String(), err
}

func TestPolicySimulateQuestion(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"allowed", []string{"--from", "shop/web", "--to", "billing/api:8443", app}, "allowed\n"},
		{"denied", []string{"--from", "shop/cache", "--to", "shop/web:8080/tcp", app}, "denied\n"},
		{"named port", []string{"--from", "shop/web", "--to", "shop/cache:redis", app}, "allowed\n"},
		{"named port, wrong source", []string{"--from", "billing/api", "--to", "shop/cache:redis", app}, "denied\n"},
		{"to an address", []string{"--from", "shop/web", "--to", "169.254.169.254:80", app}, "denied\n"},
		{"from an address", []string{"--from", "203.0.113.9", "--to", "billing/debug:22", app}, "denied\n"},
		{"explain allowed", []string{"--explain", "--from", "shop/web", "--to", "shop/cache:6379", app},
			"allowed\negress:  allow: allowed by rule shop/web-egress rule 0\ningress: allow: allowed by rule shop/cache-from-web rule 0\n"},
		{"explain denied", []string{"--explain", "--from", "billing/debug", "--to", "billing/api:https", app},
			"denied\negress:  allow: no policy selects the pod\n" +
				"ingress: deny: isolated and no rule allows (selected by [billing/api-from-shop billing/default-deny-ingress])\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := simulate(t, tc.args...)
			if err != nil || stderr != "" {
				t.Fatalf("err %v, stderr %q", err, stderr)
			}
			if out != tc.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tc.want)
			}
		})
	}
}

func TestPolicySimulateJSON(t *testing.T) {
	out, _, err := simulate(t, "--json", "--from", "billing/debug", "--to", "billing/api:https", app)
	if err != nil {
		t.Fatal(err)
	}
	var v netpol.Verdict
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if v.Allowed || !v.Egress.Allowed || v.Ingress.Reason != netpol.ReasonNoRuleAllows {
		t.Errorf("verdict = %+v", v)
	}

	out, _, err = simulate(t, "--json", "--ports", "8443", app)
	if err != nil {
		t.Fatal(err)
	}
	var mx netpol.Matrix
	if err := json.Unmarshal([]byte(out), &mx); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(mx.Pods) != 4 || len(mx.Ports) != 1 || len(mx.Cells) != 16 {
		t.Errorf("matrix: %d pods, %d ports, %d cells; want 4, 1, 16", len(mx.Pods), len(mx.Ports), len(mx.Cells))
	}
}

func TestPolicySimulateMatrix(t *testing.T) {
	out, _, err := simulate(t, app)
	if err != nil {
		t.Fatal(err)
	}
	// The default ports are the declared ones: 6379, 8080, 8443.
	for _, want := range []string{
		"TCP/6379      billing/api billing/debug shop/cache shop/web\n",
		"TCP/8443      billing/api billing/debug shop/cache shop/web\n" +
			"billing/api   .           X             X          X\n" +
			"billing/debug X           .             X          X\n" +
			"shop/cache    X           X             .          X\n" +
			"shop/web      .           X             X          .\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks:\n%s\ngot:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "TCP/"); n != 3 {
		t.Errorf("%d grids, want 3:\n%s", n, out)
	}
	out, _, err = simulate(t, "--ports", "53/udp,8080", app)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "UDP/53 ") || !strings.Contains(out, "\nTCP/8080 ") {
		t.Errorf("--ports: got\n%s", out)
	}
}

// withApp copies the app's manifests into a directory with one more file.
func withApp(t *testing.T, name, extra string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(app, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPolicySimulateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, file, extra string
		stderr            []string
	}{
		{"calico policy in an undeclared tier", "calico.yaml", `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: platform.deny-metadata}
spec: {tier: platform, selector: all()}
`, []string{"calico.yaml:1: GlobalNetworkPolicy platform.deny-metadata"}},
		{"a policy kind not evaluated yet", "cnp.yaml", `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec: {tier: Admin, priority: 10, subject: {namespaces: {}}}
`, []string{"cnp.yaml:1: ClusterNetworkPolicy guard"}},
		{"bad network policy", "bad.yaml", `# a typo must not drop a rule
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: shop}
spec: {podSelector: {}, ingres: []}
`, []string{`error: `, `bad.yaml:2: NetworkPolicy typo: json: unknown field "ingres"`}},
		{"unparseable document", "broken.yaml", "kind: [\n", []string{"error: ", "broken.yaml:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := simulate(t, "--from", "shop/web", "--to", "shop/cache:6379", withApp(t, tc.file, tc.extra))
			if err == nil || errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "refusing to answer") {
				t.Fatalf("err = %v, want a refusal (exit 1)", err)
			}
			if out != "" {
				t.Errorf("answered anyway: %q", out)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
		})
	}
}

func TestPolicySimulateWarnsAboutOtherKinds(t *testing.T) {
	dir := withApp(t, "worker.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  selector: {}
  template: {spec: {containers: [{name: w, image: w, portz: []}]}}
`)
	out, stderr, err := simulate(t, "--from", "shop/web", "--to", "shop/cache:6379", dir)
	if err != nil {
		t.Fatal(err)
	}
	if out != "allowed\n" {
		t.Errorf("stdout %q", out)
	}
	if want := `warning: ` + filepath.Join(dir, "worker.yaml") + `:1: Deployment worker: json: unknown field "portz"`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
}

func TestPolicySimulateErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no manifests", nil, true, "expected manifest files"},
		{"from without to", []string{"--from", "shop/web", app}, true, "go together"},
		{"to without port", []string{"--from", "shop/web", "--to", "shop/cache", app}, true, "want NS/POD:PORT"},
		{"pod without namespace", []string{"--from", "web", "--to", "shop/cache:80", app}, true, "want NS/POD"},
		{"bad protocol", []string{"--from", "shop/web", "--to", "shop/cache:80/icmp", app}, true, "want TCP, UDP or SCTP"},
		{"port out of range", []string{"--from", "shop/web", "--to", "shop/cache:70000", app}, true, "out of range"},
		{"two addresses", []string{"--from", "10.0.0.1", "--to", "10.0.0.2:80", app}, true, "at least one must be a pod"},
		{"named port to an address", []string{"--from", "shop/web", "--to", "10.0.0.2:http", app}, true, "needs a pod"},
		{"explain without question", []string{"--explain", app}, true, "--explain needs"},
		{"ports with question", []string{"--ports", "80", "--from", "shop/web", "--to", "shop/cache:80", app}, true, "--ports is for the matrix"},
		{"flag after manifests", []string{app, "--json"}, true, "flags come first"},
		{"unknown flag", []string{"--frm", "x", app}, true, "flag provided but not defined"},
		{"unknown pod", []string{"--from", "shop/nope", "--to", "shop/cache:80", app}, false, "shop/nope: no such pod"},
		{"unknown named port", []string{"--from", "shop/web", "--to", "shop/cache:http", app}, false, `declares no port named "http"`},
		{"named port, other protocol", []string{"--from", "shop/web", "--to", "shop/cache:redis/udp", app}, false, `declares no UDP port named "redis"`},
		{"missing manifest", []string{"--from", "shop/web", "--to", "shop/cache:80", "nonexistent"}, false, "refusing to answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := simulate(t, tc.args...)
			if err == nil || errors.Is(err, ErrUsage) != tc.usage || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want usage=%v and %q", err, tc.usage, tc.want)
			}
		})
	}
}

func TestPolicyHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "--help"}, "simulate  answer whether"},
		{[]string{"policy", "simulate", "--help"}, "Usage: bulwark policy simulate"},
		{[]string{"--help"}, "policy    compile, simulate and test"},
	} {
		var out, errw bytes.Buffer
		if err := Run(Env{Stdout: &out, Stderr: &errw}, tc.args); err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: stdout lacks %q:\n%s", tc.args, tc.want, out.String())
		}
	}
	for _, args := range [][]string{{"policy"}, {"policy", "frobnicate"}} {
		var out, errw bytes.Buffer
		if err := Run(Env{Stdout: &out, Stderr: &errw}, args); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// TestPolicyCompileThenSimulate compiles the compiler's test repository
// and asks the simulator about the written manifests with workloads.
func TestPolicyCompileThenSimulate(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	env := Env{Stdout: &stdout, Stderr: &stderr}
	if err := Run(env, []string{"policy", "compile", "--flavor", "kubernetes", "--out", out, "../policy/compile/testdata/repo"}); err != nil {
		t.Fatalf("compile: %v\n%s", err, stderr.String())
	}
	if got := strings.Count(stdout.String(), "\n"); got != 3 {
		t.Fatalf("compile wrote %d files, want 3:\n%s", got, stdout.String())
	}
	workloads := filepath.Join(t.TempDir(), "workloads.yaml")
	if err := os.WriteFile(workloads, []byte(`apiVersion: v1
kind: Pod
metadata: {name: gateway, namespace: ingress-system, labels: {app.kubernetes.io/name: bulwark}}
spec: {containers: [{name: g, image: g}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: w, image: w, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: billing, labels: {app: api}}
spec: {containers: [{name: a, image: a, ports: [{containerPort: 9000}]}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ from, to, want string }{
		{"ingress-system/gateway", "shop/web:8080", "allowed"},
		{"billing/api", "shop/web:8080", "denied"},
		{"shop/web", "billing/api:9000", "allowed"},
	} {
		stdout.Reset()
		stderr.Reset()
		if err := Run(env, []string{"policy", "simulate", "--from", q.from, "--to", q.to, out, workloads}); err != nil {
			t.Fatalf("%s -> %s: %v\n%s", q.from, q.to, err, stderr.String())
		}
		if got := strings.TrimSpace(stdout.String()); got != q.want {
			t.Errorf("%s -> %s: %q, want %q", q.from, q.to, got, q.want)
		}
	}
}
