package audit

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/events"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// eventLogCheck is INV-9: every blocked request leaves a record that says
// who was blocked, where, by what and when. Bulwark writes one security
// event per block by construction; what a repository can get wrong is
// where the events go — nowhere, or to a stdout nobody collects.
type eventLogCheck struct{}

func (eventLogCheck) ID() string    { return "INV-9" }
func (eventLogCheck) Title() string { return "blocked requests are logged with the required fields" }
func (eventLogCheck) Rule() string {
	return "INV-9: All blocked requests MUST be logged (RFC-TENANT-SECURITY-0001 §2.4)."
}

// requiredEventFields are the fields a security event must carry for a
// block to be investigated (RFC §2.3.3: source, target, rule, timestamp).
var requiredEventFields = []string{"time", "request_id", "src_ip", "host", "method", "uri", "route", "tenant", "layer", "action", "rules", "status"}

// logCollectors are image names of the usual cluster log collectors: a
// stdout sink is only a log if something ships it off the node.
var logCollectors = regexp.MustCompile(`(^|/)(fluent-bit|fluentbit|fluentd|vector|promtail|alloy|grafana-agent|filebeat|opentelemetry-collector[a-z-]*|otel-collector|logstash|datadog-agent|splunk-otel-collector)(:|@|$)`)

func (c eventLogCheck) Run(r *Repo) Outcome {
	if r.Config == nil {
		return Outcome{Findings: []Finding{{Check: c.ID(), Severity: Warning, File: ".",
			Message:     "no Bulwark configuration (platform.yaml): the audit cannot show where blocked requests are logged",
			Remediation: "audit the repository that holds Bulwark's platform.yaml"}}}
	}
	var out []Finding
	if missing := missingEventFields(); len(missing) > 0 {
		out = append(out, Finding{Check: c.ID(), Severity: Error, File: config.PlatformFile,
			Message:     "this Bulwark build's security events lack field(s) " + strings.Join(missing, ", "),
			Remediation: "use a Bulwark release whose security events carry every required field"})
	}
	sinks := r.Config.Platform.Events.Sinks
	line := r.Config.Line(config.PlatformFile, "events.sinks")
	var names []string
	stdout := false
	for _, s := range sinks {
		switch s.Type {
		case "stdout":
			stdout = true
			names = append(names, "stdout")
		default:
			names = append(names, s.Type+" "+s.Path)
		}
	}
	// An empty list is a configuration error (a LOAD finding), so there is
	// always at least one sink here.
	out = append(out, Finding{Check: c.ID(), Severity: Note, File: config.PlatformFile, Line: line,
		Message: fmt.Sprintf("evidence: every block is a security event with %s, written to %s", strings.Join(requiredEventFields, ", "), strings.Join(names, ", "))})
	collectors := r.logCollectors()
	if stdout && len(collectors) == 0 {
		out = append(out, Finding{Check: c.ID(), Severity: Warning, File: config.PlatformFile, Line: line,
			Message:     "events go to stdout, but the repository deploys no log collector (Fluent Bit, Vector, Promtail, Alloy, OpenTelemetry Collector…): a block's record is lost with its pod",
			Remediation: "deploy the cluster's log collector from this repository, or add a file sink on persistent storage"})
	}
	return Outcome{Findings: out, Evidence: append(r.ConfigFiles(), collectors...)}
}

// missingEventFields lists the required fields events.Security does not
// serialize, read from its JSON tags.
func missingEventFields() []string {
	have := map[string]bool{}
	t := reflect.TypeFor[events.Security]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		have[name] = true
	}
	var missing []string
	for _, f := range requiredEventFields {
		if !have[f] {
			missing = append(missing, f)
		}
	}
	return missing
}

// logCollectors lists the files of workloads running a log collector.
func (r *Repo) logCollectors() []string {
	var files []string
	for _, o := range r.Objects {
		pod := podSpec(o)
		for _, ctr := range list(pod, "containers") {
			if logCollectors.MatchString(imageName(str(ctr, "image"))) {
				files = append(files, o.File)
			}
		}
	}
	return files
}

// imageName strips the registry host from an image reference.
func imageName(image string) string {
	if i := strings.Index(image, "/"); i > 0 && strings.ContainsAny(image[:i], ".:") {
		return image[i+1:]
	}
	return image
}

// flowLogCheck is INV-10: network flows are recorded, so an allowed or
// denied connection can be traced after the fact.
type flowLogCheck struct{}

func (flowLogCheck) ID() string    { return "INV-10" }
func (flowLogCheck) Title() string { return "network flows are logged" }
func (flowLogCheck) Rule() string {
	return "INV-10: Network flows MUST be observable (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c flowLogCheck) Run(r *Repo) Outcome {
	var out, evidence []Finding
	for _, o := range r.Objects {
		switch {
		case o.Kind == "FelixConfiguration" && strings.Contains(o.APIVersion, "projectcalico.org"):
			if v, set := field(o.Fields, "spec", "flowLogsFileEnabled").(bool); set && v {
				evidence = append(evidence, o.finding(c.ID(), Note, "evidence: Calico writes flow logs (spec.flowLogsFileEnabled: true)", ""))
			} else if o.Object.Name == "default" {
				out = append(out, o.finding(c.ID(), Error, "Calico's default FelixConfiguration does not enable flow logs",
					"set spec.flowLogsFileEnabled: true (or deploy Calico's Goldmane flow-log service)").at("spec.flowLogsFileEnabled"))
			}
		case o.Kind == "Goldmane" && strings.HasPrefix(o.APIVersion, "operator.tigera.io/"):
			evidence = append(evidence, o.finding(c.ID(), Note, "evidence: Calico's Goldmane collects flow logs", ""))
		case o.Kind == "ConfigMap" && o.Object.Name == "cilium-config":
			if str(o.Fields, "data", "enable-hubble") == "true" {
				evidence = append(evidence, o.finding(c.ID(), Note, "evidence: Cilium's Hubble observes flows (enable-hubble: \"true\")", ""))
			} else {
				out = append(out, o.finding(c.ID(), Error, "cilium-config does not enable Hubble: flows are not observable",
					"set data.enable-hubble: \"true\"").at("data[enable-hubble]"))
			}
		}
	}
	if len(evidence) == 0 && len(out) == 0 {
		out = append(out, Finding{Check: c.ID(), Severity: Error, File: ".",
			Message:     "no flow logging is declared: no Calico FelixConfiguration with flowLogsFileEnabled, no Goldmane, no Cilium Hubble",
			Remediation: "commit the CNI's flow-log configuration, e.g. a FelixConfiguration named default with spec.flowLogsFileEnabled: true"})
	}
	all := append(out, evidence...)
	return Outcome{Findings: all, Evidence: findingFiles(all)}
}

func findingFiles(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.File != "." {
			out = append(out, f.File)
		}
	}
	return out
}

// monitoringCheck is INV-11: Prometheus scrapes the gateway's WAF metrics
// and alerts on them, so a WAF failing closed or a burst of blocks pages
// someone rather than waiting in a dashboard.
type monitoringCheck struct{}

func (monitoringCheck) ID() string    { return "INV-11" }
func (monitoringCheck) Title() string { return "WAF metrics are scraped and alerted on" }
func (monitoringCheck) Rule() string {
	return "INV-11: WAF events MUST integrate with monitoring (RFC-TENANT-SECURITY-0001 §2.4)."
}

// requiredAlerts are the WAF metrics a PrometheusRule must alert on: the
// WAF's own failures (each one a blocked request, fail closed) and its
// decisions (an attack, or a rule set blocking real users).
var requiredAlerts = []string{"bulwark_waf_errors_total", "bulwark_waf_decisions_total"}

func (c monitoringCheck) Run(r *Repo) Outcome {
	gw := gatewayOf(r)
	var out []Finding
	adminPort, adminOK := adminListener(r, c.ID(), &out)
	gwPods := r.gatewayWorkloads(gw)
	var scrapes []Object
	var evidence []string
	for _, o := range r.Objects {
		if !strings.HasPrefix(o.APIVersion, "monitoring.coreos.com/") {
			continue
		}
		switch o.Kind {
		case "ServiceMonitor", "PodMonitor":
			evidence = append(evidence, o.File)
			if r.scrapesGateway(o, gw, gwPods, adminPort) {
				scrapes = append(scrapes, o)
			}
		case "PrometheusRule":
			evidence = append(evidence, o.File)
		}
	}
	if len(scrapes) == 0 {
		out = append(out, Finding{Check: c.ID(), Severity: Error, File: ".",
			Message: fmt.Sprintf("no ServiceMonitor or PodMonitor scrapes the gateway's admin port %d (pods labelled %s in namespace %s)",
				adminPort, labels.Set(gw.Labels), gw.Namespace),
			Remediation: "add a PodMonitor selecting the gateway's pods on the container port of listeners.admin (path /metrics)"})
	}
	for _, metric := range requiredAlerts {
		if !r.alertsOn(metric) {
			out = append(out, Finding{Check: c.ID(), Severity: Error, File: ".",
				Message:     "no PrometheusRule alert uses " + metric,
				Remediation: "add an alerting rule on " + metric + " (see examples/gitops/cluster/monitoring.yaml)"})
		}
	}
	if len(out) == 0 && adminOK {
		out = append(out, scrapes[0].finding(c.ID(), Note,
			fmt.Sprintf("evidence: %s scrapes the gateway's metrics; PrometheusRule alerts on %s", scrapes[0].Ref(), strings.Join(requiredAlerts, ", ")), ""))
	}
	return Outcome{Findings: out, Evidence: append(append(evidence, r.ConfigFiles()...), workloadFiles(gwPods)...)}
}

// gatewayOf is the gateway's namespace and pod labels from the
// configuration, or Bulwark's defaults.
func gatewayOf(r *Repo) config.Workload {
	if r.Config != nil {
		return r.Config.Platform.Network.Gateway
	}
	return config.DefaultPlatform().Network.Gateway
}

// adminListener returns the port of listeners.admin and whether a pod
// other than the gateway's can reach it; a loopback address is a finding.
//
// Without a configuration the listener is unknown: Bulwark's default port
// is assumed and its address is not judged.
func adminListener(r *Repo, check string, out *[]Finding) (int, bool) {
	if r.Config == nil {
		_, port, _ := net.SplitHostPort(config.DefaultPlatform().Listeners.Admin)
		n, _ := strconv.Atoi(port)
		return n, true
	}
	addr := r.Config.Platform.Listeners.Admin
	host, port, err := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	if err != nil || n == 0 {
		*out = append(*out, Finding{Check: check, Severity: Error, File: config.PlatformFile,
			Message: fmt.Sprintf("listeners.admin %q has no port: the metrics cannot be scraped", addr)})
		return 0, false
	}
	ip, _ := netip.ParseAddr(host)
	if host == "localhost" || ip.IsLoopback() {
		*out = append(*out, Finding{Check: check, Severity: Error, File: config.PlatformFile, Line: r.Config.Line(config.PlatformFile, "listeners.admin"),
			Message:     fmt.Sprintf("listeners.admin is %s, on loopback: Prometheus cannot scrape the gateway's metrics from its own pod", addr),
			Remediation: fmt.Sprintf("set listeners.admin: \":%d\" and allow only the monitoring namespace to reach it", n)})
		return n, false
	}
	return n, true
}

// gatewayWorkloads are the workloads in the gateway's namespace whose pods
// carry the gateway's labels.
func (r *Repo) gatewayWorkloads(gw config.Workload) []Object {
	sel := labels.SelectorFromSet(gw.Labels)
	var out []Object
	for _, o := range r.Objects {
		if podSpec(o) != nil && namespaceOf(o) == gw.Namespace && sel.Matches(labels.Set(podLabels(o))) {
			out = append(out, o)
		}
	}
	return out
}

func workloadFiles(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.File)
	}
	return out
}

// selector converts a loosely decoded LabelSelector; a malformed one
// selects nothing.
func selector(v any) labels.Selector {
	var ls metav1.LabelSelector
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &ls)
	}
	if err != nil {
		return labels.Nothing()
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return labels.Nothing()
	}
	return sel
}

// watchesNamespace applies a Prometheus Operator namespaceSelector: any,
// matchNames, or (absent) the monitor's own namespace.
func watchesNamespace(o Object, ns string) bool {
	if b, _ := field(o.Fields, "spec", "namespaceSelector", "any").(bool); b {
		return true
	}
	names := list(o.Fields, "spec", "namespaceSelector", "matchNames")
	if len(names) == 0 {
		return namespaceOf(o) == ns
	}
	for _, n := range names {
		if n == ns {
			return true
		}
	}
	return false
}

// scrapesGateway reports whether monitor m scrapes a gateway pod on the
// admin port: a PodMonitor by pod labels and container port, a
// ServiceMonitor through a Service selecting the gateway's pods.
func (r *Repo) scrapesGateway(m Object, gw config.Workload, pods []Object, adminPort int) bool {
	if !watchesNamespace(m, gw.Namespace) {
		return false
	}
	sel := selector(field(m.Fields, "spec", "selector"))
	switch m.Kind {
	case "PodMonitor":
		for _, p := range pods {
			if sel.Matches(labels.Set(podLabels(p))) && endpointsReach(list(m.Fields, "spec", "podMetricsEndpoints"), p, nil, adminPort) {
				return true
			}
		}
	case "ServiceMonitor":
		for _, svc := range r.Kind("Service") {
			if namespaceOf(svc) != gw.Namespace || !sel.Matches(labels.Set(stringMap(mapping(svc.Fields, "metadata", "labels")))) {
				continue
			}
			podSel := labels.SelectorFromSet(stringMap(mapping(svc.Fields, "spec", "selector")))
			for _, p := range pods {
				if !podSel.Empty() && podSel.Matches(labels.Set(podLabels(p))) && endpointsReach(list(m.Fields, "spec", "endpoints"), p, &svc, adminPort) {
					return true
				}
			}
		}
	}
	return false
}

// endpointsReach reports whether one of a monitor's endpoints resolves to
// the admin port of pod p, through Service svc for a ServiceMonitor.
func endpointsReach(endpoints []any, p Object, svc *Object, adminPort int) bool {
	for _, ep := range endpoints {
		if path := str(ep, "path"); path != "" && path != "/metrics" {
			continue
		}
		target := field(ep, "targetPort")
		if name := str(ep, "port"); name != "" {
			if svc == nil {
				target = name
			} else {
				target = servicePortTarget(*svc, name)
			}
		}
		if n, ok := field(ep, "portNumber").(float64); ok {
			target = n
		}
		if containerPort(p, target) == adminPort {
			return true
		}
	}
	return false
}

// servicePortTarget is the targetPort of svc's port called name (its port
// number when targetPort is absent).
func servicePortTarget(svc Object, name string) any {
	for _, sp := range list(svc.Fields, "spec", "ports") {
		if str(sp, "name") == name {
			if t := field(sp, "targetPort"); t != nil {
				return t
			}
			return field(sp, "port")
		}
	}
	return nil
}

// containerPort resolves a port number or container port name in pod p.
func containerPort(p Object, target any) int {
	switch t := target.(type) {
	case float64:
		return int(t)
	case string:
		if n, err := strconv.Atoi(t); err == nil {
			return n
		}
		for _, ctr := range list(podSpec(p), "containers") {
			for _, cp := range list(ctr, "ports") {
				if str(cp, "name") == t {
					n, _ := field(cp, "containerPort").(float64)
					return int(n)
				}
			}
		}
	}
	return 0
}

func stringMap(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

// alertsOn reports whether an alerting rule's expression uses metric.
func (r *Repo) alertsOn(metric string) bool {
	word := regexp.MustCompile(`(^|[^A-Za-z0-9_:])` + regexp.QuoteMeta(metric) + `($|[^A-Za-z0-9_:])`)
	for _, o := range r.Kind("PrometheusRule") {
		for _, g := range list(o.Fields, "spec", "groups") {
			for _, rule := range list(g, "rules") {
				if str(rule, "alert") != "" && word.MatchString(str(rule, "expr")) {
					return true
				}
			}
		}
	}
	return false
}
