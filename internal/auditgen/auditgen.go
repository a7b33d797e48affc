// Package auditgen writes synthetic GitOps repositories for the audit's
// benchmark and for tests that need a repository of realistic shape and
// size: a Bulwark configuration with N tenants, each with its namespace,
// declared services and undeclared workers, an Ingress with a
// cert-manager certificate, and the network policies and RBAC the
// compiler makes of its declarations; the platform's gateway, DNS,
// Prometheus with its monitor and WAF alerts, a log collector and Calico
// flow logs. Every tenant consumes svc1 of the next tenant. The result is
// compliant: `bulwark audit` finds nothing above a note in it.
package auditgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/policy/compile"
)

// repo accumulates files and counts the objects written.
type repo struct {
	dir     string
	objects int
}

func (r *repo) write(name, content string) error {
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

// docs writes objects as one multi-document file.
func (r *repo) docs(name string, objs []string) error {
	r.objects += len(objs)
	return r.write(name, strings.Join(objs, "---\n"))
}

// Options shape the repository.
type Options struct {
	// Tenants is the number of tenants, t000, t001, …
	Tenants int
	// Services are the declared services of each tenant (at least 2):
	// Deployment svcN with its Service, port 8080+N, reached through the
	// gateway; svc1 is granted to the previous tenant.
	Services int
	// Workers are undeclared workloads of each tenant (Deployment and
	// Service workerN, port 8100+N), which nothing may reach.
	Workers int
	// Objects, when larger than what the tenants need, is filled up with
	// ConfigMaps to this many Kubernetes objects.
	Objects int
	// Flavors are the guardrail flavors compiled besides kubernetes and
	// RBAC: calico, adminnetworkpolicy.
	Flavors []string
}

var compilers = map[string]func(*config.Config) (map[string][]byte, error){
	"kubernetes": compile.Kubernetes, "calico": compile.Calico, "adminnetworkpolicy": compile.AdminNetworkPolicy, "rbac": compile.RBAC,
}

// Write writes the repository into dir and returns how many Kubernetes
// objects it holds.
func Write(dir string, o Options) (int, error) {
	if o.Services < 2 {
		return 0, fmt.Errorf("auditgen: %d services per tenant, need at least 2", o.Services)
	}
	r := &repo{dir: dir}
	if err := r.write(config.PlatformFile, platform(o.Tenants)); err != nil {
		return 0, err
	}
	if err := r.docs("cluster/platform.yaml", platformObjects()); err != nil {
		return 0, err
	}
	for t := range o.Tenants {
		if err := r.write(fmt.Sprintf("tenants/t%03d.yaml", t), tenantFile(t, o.Tenants, o.Services)); err != nil {
			return 0, err
		}
		if err := r.docs(fmt.Sprintf("cluster/t%03d.yaml", t), tenantObjects(t, o.Services, o.Workers)); err != nil {
			return 0, err
		}
	}
	cfg, err := config.LoadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("auditgen: generated configuration does not load: %w", err)
	}
	for _, flavor := range append([]string{"kubernetes", "rbac"}, o.Flavors...) {
		compiler, ok := compilers[flavor]
		if !ok {
			return 0, fmt.Errorf("auditgen: unknown flavor %q", flavor)
		}
		files, err := compiler(cfg)
		if err != nil {
			return 0, err
		}
		for name, data := range files {
			r.objects += strings.Count("\n"+string(data), "\nkind: ")
			if err := r.write(filepath.Join("policies", name), string(data)); err != nil {
				return 0, err
			}
		}
	}
	var fill []string
	for i := 0; r.objects+len(fill) < o.Objects; i++ {
		fill = append(fill, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings-%d, namespace: t%03d}\ndata: {LOG_LEVEL: info, FEATURE: \"%d\"}\n", i, i%o.Tenants, i))
	}
	for i := 0; i < len(fill); i += 100 {
		if err := r.docs(fmt.Sprintf("cluster/settings/%04d.yaml", i/100), fill[i:min(i+100, len(fill))]); err != nil {
			return 0, err
		}
	}
	return r.objects, nil
}

func platform(tenants int) string {
	var b strings.Builder
	b.WriteString(`listeners: {admin: ":9901"}
tls: {dev_ca: true}
waf: {default_mode: detect, approvers: [security-team]}
network:
  gateway: {namespace: ingress-system, labels: {app.kubernetes.io/name: bulwark}}
  dns: {namespace: kube-system, labels: {k8s-app: kube-dns}}
  platform_namespaces:
    - {namespace: monitoring, labels: {app: prometheus}, ports: [9090]}
  forbidden: ["169.254.169.254/32"]
  cluster_cidrs: ["10.244.0.0/16", "10.96.0.0/12"]
  egress_bounds: ["0.0.0.0/0"]
tenants:
`)
	for t := range tenants {
		fmt.Fprintf(&b, "  t%03d: {hosts: [t%03d.example.com], namespaces: [t%03d]}\n", t, t, t)
	}
	return b.String()
}

func tenantFile(t, tenants, services int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenant: t%03d\nroutes:\n  - name: web\n    hosts: [t%03d.example.com]\n    backends: [{url: \"http://svc0.t%03d.svc.cluster.local:8080\"}]\nnetwork:\n  services:\n", t, t, t)
	for s := range services {
		fmt.Fprintf(&b, "    - {name: svc%d, labels: {app: svc%d}, ports: [%d]}\n", s, s, 8080+s)
	}
	next := (t + 1) % tenants
	prev := (t + tenants - 1) % tenants
	fmt.Fprintf(&b, "  consumes: [{tenant: t%03d, service: svc1}]\n", next)
	fmt.Fprintf(&b, "  grants: [{service: svc1, tenants: [t%03d]}]\n", prev)
	b.WriteString("  egress: [{cidr: \"0.0.0.0/0\", ports: [443]}]\n")
	return b.String()
}

func tenantObjects(t, services, workers int) []string {
	ns := fmt.Sprintf("t%03d", t)
	objs := []string{fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {bulwark.io/tenant: %s}}\n", ns, ns)}
	for s := range services {
		objs = append(objs, workload(ns, fmt.Sprintf("svc%d", s), 8080+s)...)
	}
	for w := range workers {
		objs = append(objs, workload(ns, fmt.Sprintf("worker%d", w), 8100+w)...)
	}
	objs = append(objs,
		fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: %s}
spec:
  ingressClassName: bulwark
  tls: [{hosts: [%s.example.com], secretName: web-tls}]
  rules: [{host: %s.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc0, port: {number: 8080}}}}]}}]
`, ns, ns, ns),
		fmt.Sprintf("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web, namespace: %s}\nspec:\n  secretName: web-tls\n  dnsNames: [%s.example.com]\n  issuerRef: {name: letsencrypt, kind: ClusterIssuer}\n", ns, ns),
		fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: %s}\n", ns))
	return objs
}

// workload is a Deployment of two replicas and its Service.
func workload(ns, app string, port int) []string {
	return []string{fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  replicas: 2
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
        - name: app
          image: registry.example.com/%[2]s/%[1]s:1.0
          ports: [{name: http, containerPort: %[3]d}, {name: metrics, containerPort: 9090}]
`, app, ns, port),
		fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %[1]s, namespace: %[2]s}\nspec:\n  selector: {app: %[1]s}\n  ports: [{name: http, port: %[3]d}]\n", app, ns, port)}
}

// platformObjects are the platform's namespaces and workloads: the
// gateway, DNS, Prometheus with its monitor and alerts, a log collector
// and Calico flow logs.
func platformObjects() []string {
	return []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: ingress-system}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: monitoring}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: logging}\n",
		deployment("gateway", "ingress-system", "app.kubernetes.io/name: bulwark", "ghcr.io/bulwark-sec/bulwark:1", "[{name: https, containerPort: 8443}, {name: admin, containerPort: 9901}]"),
		deployment("coredns", "kube-system", "k8s-app: kube-dns", "registry.k8s.io/coredns/coredns:v1.11.1", "[{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]"),
		deployment("prometheus", "monitoring", "app: prometheus", "quay.io/prometheus/prometheus:v2.53.0", "[{name: web, containerPort: 9090}]"),
		deployment("fluent-bit", "logging", "app: fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.1", "[]"),
		"apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: bulwark, namespace: monitoring}\nspec:\n  namespaceSelector: {matchNames: [ingress-system]}\n  selector: {matchLabels: {app.kubernetes.io/name: bulwark}}\n  podMetricsEndpoints: [{port: admin}]\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: bulwark-waf, namespace: monitoring}\nspec:\n  groups:\n    - name: waf\n      rules:\n        - {alert: WAFErrors, expr: 'increase(bulwark_waf_errors_total[5m]) > 0'}\n        - {alert: WAFBlocks, expr: 'sum(rate(bulwark_waf_decisions_total{action=\"block\"}[5m])) > 5'}\n",
		"apiVersion: crd.projectcalico.org/v1\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {flowLogsFileEnabled: true}\n",
	}
}

func deployment(name, ns, label, image, ports string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
  selector: {matchLabels: {%s}}
  template:
    metadata: {labels: {%s}}
    spec:
      containers: [{name: %s, image: "%s", ports: %s}]
`, name, ns, label, label, name, image, ports)
}
