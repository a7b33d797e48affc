package audit

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// bypassCheck is INV-1: the gateway is the only way in. Traffic that
// reaches a tenant through another ingress controller, a LoadBalancer or
// NodePort Service, or a host port never meets the WAF.
type bypassCheck struct{ class string }

func (bypassCheck) ID() string    { return "INV-1" }
func (bypassCheck) Title() string { return "all external traffic passes through the gateway's WAF" }
func (bypassCheck) Rule() string {
	return "INV-1: All external HTTP/HTTPS traffic MUST pass through WAF (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c bypassCheck) Run(r *Repo) Outcome {
	var out []Finding
	for _, o := range r.Kind("Ingress") {
		class, at := str(o.Fields, "spec", "ingressClassName"), "spec.ingressClassName"
		if class == "" {
			class, at = str(o.Fields, "metadata", "annotations", "kubernetes.io/ingress.class"), "metadata.annotations[kubernetes.io/ingress.class]"
		}
		if class != c.class {
			got := "no ingress class"
			if class != "" {
				got = fmt.Sprintf("ingress class %q", class)
			}
			out = append(out, o.finding(c.ID(), Error,
				fmt.Sprintf("Ingress uses %s, not Bulwark's %q: its traffic bypasses the WAF", got, c.class),
				fmt.Sprintf("set spec.ingressClassName: %s", c.class)).at(at))
		}
	}
	out = append(out, c.gatewayAPIBypasses(r)...)
	tenant := r.tenantNamespaces()
	for _, o := range r.Objects {
		if !tenant(namespaceOf(o)) {
			continue
		}
		if o.Kind == "Service" {
			if t := str(o.Fields, "spec", "type"); t == "LoadBalancer" || t == "NodePort" {
				out = append(out, o.finding(c.ID(), Error,
					fmt.Sprintf("tenant Service of type %s is reachable without the gateway", t),
					"use type ClusterIP and route external traffic through a Bulwark route").at("spec.type"))
			}
			continue
		}
		pod := podSpec(o)
		if pod == nil {
			continue
		}
		if b, _ := pod["hostNetwork"].(bool); b {
			out = append(out, o.finding(c.ID(), Error, "tenant workload uses hostNetwork: it listens on the node, beside the gateway",
				"remove hostNetwork and expose the workload through a Bulwark route").at(podSpecPath(o)+".hostNetwork"))
		}
		if ports, at := hostPorts(pod); len(ports) > 0 {
			out = append(out, o.finding(c.ID(), Error,
				fmt.Sprintf("tenant workload binds host port %s: it is reachable on the node, beside the gateway", strings.Join(ports, ", ")),
				"remove hostPort and expose the workload through a Bulwark route").at(podSpecPath(o)+at))
		}
	}
	return Outcome{Findings: out, Evidence: r.evidence(workloadKinds...)}
}

// namespaceOf is the object's namespace, "default" when the manifest does
// not say (kubectl apply puts it there).
func namespaceOf(o Object) string {
	if o.Namespace == "" {
		return "default"
	}
	return o.Namespace
}

// tenantNamespaces decides which namespaces belong to tenants: those of
// the Bulwark registry when the repository has a configuration, otherwise
// every namespace but kube-* and the gateway's.
func (r *Repo) tenantNamespaces() func(string) bool {
	if r.Config != nil {
		set := map[string]bool{}
		for _, t := range r.Config.Platform.Tenants {
			for _, ns := range t.Namespaces {
				set[ns] = true
			}
		}
		return func(ns string) bool { return set[ns] }
	}
	gw := config.DefaultPlatform().Network.Gateway.Namespace
	return func(ns string) bool { return !strings.HasPrefix(ns, "kube-") && ns != gw }
}

// podTemplates are where each kind keeps its pods' metadata and spec:
// the object itself for a Pod, the pod template for a workload.
var podTemplates = map[string][]string{
	"Pod":                   {},
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// podField is the path of field (spec, metadata) of o's pods, false when
// o has no pods.
func podField(o Object, field string) ([]string, bool) {
	path, ok := podTemplates[o.Kind]
	return append(slices.Clone(path), field), ok
}

// podSpec returns the pod spec of a Pod or a workload's template.
func podSpec(o Object) map[string]any {
	if path, ok := podField(o, "spec"); ok {
		return mapping(o.Fields, path...)
	}
	return nil
}

// podSpecPath is the field path of podSpec(o).
func podSpecPath(o Object) string {
	path, _ := podField(o, "spec")
	return strings.Join(path, ".")
}

// podLabels are the labels of a Pod or of a workload's pod template.
func podLabels(o Object) map[string]string {
	path, ok := podField(o, "metadata")
	if !ok {
		return nil
	}
	return stringMap(mapping(o.Fields, append(path, "labels")...))
}

// hostPorts lists container/hostPort for every container binding one,
// and the pod-spec-relative field of the first.
func hostPorts(pod map[string]any) (ports []string, first string) {
	for _, key := range []string{"initContainers", "containers"} {
		for i, c := range list(pod, key) {
			for j, p := range list(c, "ports") {
				if hp, ok := field(p, "hostPort").(float64); ok && hp > 0 {
					ports = append(ports, fmt.Sprintf("%d (container %s)", int(hp), str(c, "name")))
					if first == "" {
						first = fmt.Sprintf(".%s[%d].ports[%d].hostPort", key, i, j)
					}
				}
			}
		}
	}
	sort.Strings(ports)
	return ports, first
}
