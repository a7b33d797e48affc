package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

const policySimulateHelp = `
Load Kubernetes manifests (files, or directories walked for *.yaml, *.yml and
*.json) and decide what their NetworkPolicies allow, with exact Kubernetes
semantics.

With --from and --to, answer one question: print "allowed" or "denied" and,
with --explain, which policy and rule decided each side (the source's egress,
the destination's ingress). The exit status is 0 whenever the question was
answered, whatever the answer; use 'bulwark policy test' to assert.

  bulwark policy simulate --from shop/web --to billing/api:8443 manifests/
  bulwark policy simulate --explain --from shop/web --to shop/cache:redis manifests/
  bulwark policy simulate --from shop/web --to 169.254.169.254:80 manifests/

An endpoint is NS/POD or an IP address outside the cluster. PORT is a number
or a named container port of the destination pod; PROTO is TCP (default),
UDP or SCTP, except that a named port takes the protocol it is declared with.

Without --from and --to, print the reachability matrix of every pod pair: one
grid per port, sources as rows, "." allowed and "X" denied; with --json,
every cell with its explanation. The ports are --ports, or else every
distinct container port the pods declare.

Pods come from Pod objects and from workloads: a Deployment, StatefulSet,
DaemonSet, ReplicaSet, ReplicationController, Job or CronJob is one pod named
after the workload, with its pod template's labels and ports (replicas are
identical to NetworkPolicy). Other kinds are ignored.

Problems are printed to stderr with file and line. A NetworkPolicy that
cannot be read, a document that cannot be parsed (it may hold a policy), or a
policy kind the simulator does not evaluate yet (Calico, AdminNetworkPolicy)
makes it refuse to answer, since the answer could be wrong: exit status 1.
Other objects' problems are warnings and the object is left out.
Exit status: 0 answered, 1 refused or failed, 2 usage.`

func runPolicySimulate(env Env, args []string) error {
	fs := flags(env, "policy simulate",
		"bulwark policy simulate [--explain] [--json] [--from NS/POD|IP --to NS/POD:PORT[/PROTO]|IP:PORT[/PROTO]] [--ports LIST] MANIFESTS...",
		policySimulateHelp)
	explain := fs.Bool("explain", false, "with --from/--to, print which policy and rule decided each direction")
	asJSON := fs.Bool("json", false, "print the verdict or the matrix as JSON (with every explanation)")
	from := fs.String("from", "", "source of the question: NS/POD or an IP address")
	to := fs.String("to", "", "destination of the question: NS/POD:PORT[/PROTO] or IP:PORT[/PROTO]; PORT may be a named port")
	portList := fs.String("ports", "", "matrix ports, comma-separated PORT[/PROTO] (default: every container port a pod declares)")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	q, err := parseSimulateArgs(fs, *from, *to, *portList, *explain)
	if err != nil {
		fs.SetOutput(env.Stderr)
		fs.Usage()
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	c, err := loadWith(env, "policy simulate", fs.Args(), load.Tiered)
	if err != nil {
		return err
	}
	if q.asked {
		return answer(env, c, q, *explain, *asJSON)
	}
	return matrix(env, c, q.ports, *asJSON)
}

// question is what simulate was asked, checked but not yet resolved
// against the manifests (a named port needs the destination pod).
type question struct {
	asked    bool
	from, to netpol.Endpoint
	port     portSpec
	ports    []netpol.Port // the matrix's, when not asked
}

// portSpec is a destination port as typed: a number or a name, and a
// protocol if one was given.
type portSpec struct {
	number   int32
	name     string
	protocol corev1.Protocol
}

func parseSimulateArgs(fs *flag.FlagSet, from, to, portList string, explain bool) (question, error) {
	var q question
	if fs.NArg() == 0 {
		return q, errors.New("expected manifest files or directories")
	}
	for _, a := range fs.Args() {
		if strings.HasPrefix(a, "-") {
			return q, fmt.Errorf("flag %s after the manifests: flags come first", a)
		}
	}
	switch {
	case from == "" && to == "":
		if explain {
			return q, errors.New("--explain needs --from and --to (the --json matrix carries every explanation)")
		}
		ports, err := parsePortList(portList)
		q.ports = ports
		return q, err
	case from == "" || to == "":
		return q, errors.New("--from and --to go together")
	case portList != "":
		return q, errors.New("--ports is for the matrix, not with --from and --to")
	}
	q.asked = true
	var err error
	if q.from, err = parseEndpoint(from); err != nil {
		return q, fmt.Errorf("--from: %w", err)
	}
	host, port, ok := cutLast(to, ":")
	if !ok {
		return q, fmt.Errorf("--to %q: want NS/POD:PORT[/PROTO] or IP:PORT[/PROTO]", to)
	}
	if q.to, err = parseEndpoint(host); err != nil {
		return q, fmt.Errorf("--to: %w", err)
	}
	if q.port, err = parsePort(port); err != nil {
		return q, fmt.Errorf("--to: %w", err)
	}
	if q.from.Pod == "" && q.to.Pod == "" {
		return q, errors.New("--from and --to are both addresses: at least one must be a pod")
	}
	if q.port.name != "" && q.to.Pod == "" {
		return q, fmt.Errorf("--to: named port %q needs a pod destination", q.port.name)
	}
	return q, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// parseEndpoint reads NS/POD or an IP address ("[...]" allowed for IPv6).
func parseEndpoint(s string) (netpol.Endpoint, error) {
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return netpol.ExternalEndpoint(ip), nil
	}
	ns, pod, ok := strings.Cut(s, "/")
	if !ok || ns == "" || pod == "" || strings.Contains(pod, "/") {
		return netpol.Endpoint{}, fmt.Errorf("%q: want NS/POD or an IP address", s)
	}
	return netpol.PodEndpoint(ns, pod), nil
}

// parsePort reads PORT[/PROTO], PORT a number or a name.
func parsePort(s string) (portSpec, error) {
	port, proto, _ := strings.Cut(s, "/")
	var ps portSpec
	if proto != "" {
		ps.protocol = corev1.Protocol(strings.ToUpper(proto))
		switch ps.protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			return ps, fmt.Errorf("%q: protocol %q: want TCP, UDP or SCTP", s, proto)
		}
	}
	n, err := strconv.Atoi(port)
	switch {
	case err == nil && n >= 1 && n <= 65535:
		ps.number = int32(n)
	case err == nil:
		return ps, fmt.Errorf("%q: port %d out of range 1-65535", s, n)
	case port == "":
		return ps, fmt.Errorf("%q: missing port", s)
	default:
		ps.name = port
	}
	return ps, nil
}

func parsePortList(list string) ([]netpol.Port, error) {
	if list == "" {
		return nil, nil
	}
	var ports []netpol.Port
	for _, s := range strings.Split(list, ",") {
		ps, err := parsePort(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("--ports: %w", err)
		}
		if ps.name != "" {
			return nil, fmt.Errorf("--ports: %q: the matrix needs port numbers", s)
		}
		ports = append(ports, netpol.Port{Protocol: ps.protocolOr(corev1.ProtocolTCP), Port: ps.number})
	}
	return ports, nil
}

func (ps portSpec) protocolOr(def corev1.Protocol) corev1.Protocol {
	if ps.protocol == "" {
		return def
	}
	return ps.protocol
}

// loadWith loads the manifests with loader (load.Tiered for simulate and
// test), printing every problem to stderr, and refuses (an error) when a
// problem could change the answer: see the help.
func loadWith[C any](env Env, command string, paths []string, loader func([]manifest.Object) (C, []error)) (C, error) {
	var none C
	objs, readErrs := manifest.Load(paths...)
	c, loadErrs := loader(objs)
	refused := len(readErrs) // a document that cannot be read may be a policy
	for _, err := range readErrs {
		fmt.Fprintf(env.Stderr, "error: %v\n", err)
	}
	for _, err := range loadErrs {
		level := "warning"
		if load.IsPolicy(err) {
			level = "error"
			refused++
		}
		fmt.Fprintf(env.Stderr, "%s: %v\n", level, err)
	}
	if refused > 0 {
		return none, fmt.Errorf("%s: refusing to answer: %d manifest problem(s) above could hide or change a policy", command, refused)
	}
	return c, nil
}

// explained is a verdict of either engine: netpol's when the manifests
// hold only Kubernetes NetworkPolicies, the layered one otherwise.
type explained struct {
	Allowed         bool
	Egress, Ingress fmt.Stringer
	JSON            any
}

func evaluate(c *tiered.Cluster, from, to netpol.Endpoint, port netpol.Port) (explained, error) {
	if !c.Layered() {
		v, err := c.Cluster.Evaluate(from, to, port)
		return explained{v.Allowed, v.Egress, v.Ingress, v}, err
	}
	v, err := c.Evaluate(from, to, port)
	return explained{v.Allowed, v.Egress, v.Ingress, v}, err
}

func answer(env Env, c *tiered.Cluster, q question, explain, asJSON bool) error {
	port, err := resolvePort(&c.Cluster, q.to, q.port)
	if err != nil {
		return fmt.Errorf("policy simulate: %w", err)
	}
	v, err := evaluate(c, q.from, q.to, port)
	if err != nil {
		return fmt.Errorf("policy simulate: %w", err)
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v.JSON)
	}
	if v.Allowed {
		fmt.Fprintln(env.Stdout, "allowed")
	} else {
		fmt.Fprintln(env.Stdout, "denied")
	}
	if explain {
		fmt.Fprintf(env.Stdout, "egress:  %s\n", v.Egress)
		fmt.Fprintf(env.Stdout, "ingress: %s\n", v.Ingress)
	}
	return nil
}

// resolvePort turns a named port into the number and protocol the
// destination pod declares for it; a named port without /PROTO takes the
// declared protocol.
func resolvePort(c *netpol.Cluster, dst netpol.Endpoint, ps portSpec) (netpol.Port, error) {
	if ps.name == "" {
		return netpol.Port{Protocol: ps.protocolOr(corev1.ProtocolTCP), Port: ps.number}, nil
	}
	i := slices.IndexFunc(c.Pods, func(p corev1.Pod) bool {
		return p.Namespace == dst.Namespace && p.Name == dst.Pod
	})
	if i < 0 {
		return netpol.Port{}, fmt.Errorf("destination %s: no such pod", dst)
	}
	for _, ctr := range c.Pods[i].Spec.Containers {
		for _, cp := range ctr.Ports {
			declared := containerProtocol(cp)
			if cp.Name == ps.name && ps.protocolOr(declared) == declared {
				return netpol.Port{Protocol: declared, Port: cp.ContainerPort}, nil
			}
		}
	}
	if ps.protocol != "" {
		return netpol.Port{}, fmt.Errorf("destination %s declares no %s port named %q", dst, ps.protocol, ps.name)
	}
	return netpol.Port{}, fmt.Errorf("destination %s declares no port named %q", dst, ps.name)
}

func matrix(env Env, c *tiered.Cluster, ports []netpol.Port, asJSON bool) error {
	if ports == nil {
		ports = declaredPorts(&c.Cluster)
		if len(ports) == 0 {
			return errors.New("policy simulate: no pod declares a container port: give --ports")
		}
	}
	matrixOf := c.Cluster.Matrix
	if c.Layered() {
		matrixOf = c.Matrix
	}
	mx, err := matrixOf(ports)
	if err != nil {
		return fmt.Errorf("policy simulate: %w", err)
	}
	if asJSON {
		return mx.WriteJSON(env.Stdout)
	}
	return mx.WriteText(env.Stdout)
}

// declaredPorts is every distinct container port of the pods, by number
// then protocol.
func declaredPorts(c *netpol.Cluster) []netpol.Port {
	var ports []netpol.Port
	for _, p := range c.Pods {
		for _, ctr := range p.Spec.Containers {
			for _, cp := range ctr.Ports {
				ports = append(ports, netpol.Port{Protocol: containerProtocol(cp), Port: cp.ContainerPort})
			}
		}
	}
	slices.SortFunc(ports, func(a, b netpol.Port) int {
		if a.Port != b.Port {
			return int(a.Port - b.Port)
		}
		return strings.Compare(string(a.Protocol), string(b.Protocol))
	})
	return slices.Compact(ports)
}

// containerProtocol applies the API default: TCP unless declared.
func containerProtocol(cp corev1.ContainerPort) corev1.Protocol {
	if cp.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return cp.Protocol
}
