package expect

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// Result is the outcome of one expectation.
type Result struct {
	Expectation Expectation
	// Pairs is how many connections were checked.
	Pairs int
	// Failures are the connections whose verdict differs from the
	// expectation, in source, destination, port order.
	Failures []Failure
	// Err is set when the expectation could not be checked (an unknown
	// tenant, a set with no pods); it counts as a failure.
	Err error
}

// Passed reports whether the expectation holds.
func (r Result) Passed() bool { return r.Err == nil && len(r.Failures) == 0 }

// Failure is one connection that contradicts its expectation.
type Failure struct {
	From, To netpol.Endpoint
	Port     netpol.Port
	// Verdict is the deciding engine's answer. When the layered engine
	// decided (CheckTiered with Calico or AdminNetworkPolicy objects), each
	// side's Reason is the layered decision rendered in full, as in
	// tiered.Cluster.Matrix, and Policy and Rule name its deciding rule.
	Verdict netpol.Verdict
	layered bool
}

// Explain says what decided: for a connection expected denied, both
// directions' allowing decisions; for one expected allowed, the
// directions that denied it.
func (f Failure) Explain() []string {
	var out []string
	if f.Verdict.Allowed || !f.Verdict.Egress.Allowed {
		out = append(out, "egress:  "+f.explain(f.Verdict.Egress))
	}
	if f.Verdict.Allowed || !f.Verdict.Ingress.Allowed {
		out = append(out, "ingress: "+f.explain(f.Verdict.Ingress))
	}
	return out
}

func (f Failure) explain(d netpol.Decision) string {
	if f.layered {
		return string(d.Reason) // the layered Decision's String
	}
	return d.String()
}

// Check evaluates every expectation against c's Kubernetes
// NetworkPolicies, with tenants resolved by t, in order. An expectation
// that cannot be checked is a Result with Err.
func Check(c *netpol.Cluster, t Tenants, exps []Expectation) []Result {
	return run(checker{c: c, eng: c, t: t}, exps)
}

// CheckTiered is Check with the layered engine (package tiered): Calico
// tiers and AdminNetworkPolicies around the NetworkPolicies. Without
// Calico or AdminNetworkPolicy objects it is Check on c.Cluster: the
// same verdicts and the same explanations.
func CheckTiered(c *tiered.Cluster, t Tenants, exps []Expectation) []Result {
	if !c.Layered() {
		return Check(&c.Cluster, t, exps)
	}
	return run(checker{c: &c.Cluster, eng: layeredEngine{c}, t: t, layered: true}, exps)
}

func run(ch checker, exps []Expectation) []Result {
	ch.matrices = map[netpol.Port]*podMatrix{}
	out := make([]Result, 0, len(exps))
	for _, e := range exps {
		out = append(out, ch.check(e))
	}
	return out
}

// engine decides connections: *netpol.Cluster, or layeredEngine.
type engine interface {
	Evaluate(src, dst netpol.Endpoint, port netpol.Port) (netpol.Verdict, error)
	Matrix(ports []netpol.Port) (*netpol.Matrix, error)
}

// layeredEngine gives the layered verdicts in netpol's shape, each side's
// layered Decision rendered as its Reason (as tiered.Cluster.Matrix does).
type layeredEngine struct{ c *tiered.Cluster }

func (l layeredEngine) Matrix(ports []netpol.Port) (*netpol.Matrix, error) { return l.c.Matrix(ports) }

func (l layeredEngine) Evaluate(src, dst netpol.Endpoint, port netpol.Port) (netpol.Verdict, error) {
	v, err := l.c.Evaluate(src, dst, port)
	if err != nil {
		return netpol.Verdict{}, err
	}
	flat := func(d tiered.Decision) netpol.Decision {
		return netpol.Decision{Allowed: d.Allowed, Reason: netpol.Reason(d.String()), Policy: d.Policy, Rule: d.Rule}
	}
	return netpol.Verdict{Allowed: v.Allowed, Egress: flat(v.Egress), Ingress: flat(v.Ingress)}, nil
}

// checker evaluates pod-to-pod connections through one matrix per port,
// so the cluster is compiled once per port rather than once per pair.
type checker struct {
	c        *netpol.Cluster // the pods and namespaces
	eng      engine
	layered  bool
	t        Tenants
	matrices map[netpol.Port]*podMatrix
}

type podMatrix struct {
	mx    *netpol.Matrix
	index map[netpol.Endpoint]int
}

// errNoPairs is an expectation that quantifies over nothing.
var errNoPairs = errors.New("no connection to check: every pair is a pod with itself, or no destination pod declares a port")

func (ch *checker) check(e Expectation) Result {
	r := Result{Expectation: e}
	from, err := ch.t.endpoints(e.From, ch.c)
	if err != nil {
		r.Err = fmt.Errorf("from %w", err)
		return r
	}
	to, err := ch.t.endpoints(e.To, ch.c)
	if err != nil {
		r.Err = fmt.Errorf("to %w", err)
		return r
	}
	for _, src := range from {
		for _, dst := range to {
			if src == dst {
				continue
			}
			for _, port := range ch.ports(e.Port, dst) {
				v, err := ch.verdict(src, dst, port)
				if err != nil {
					r.Err = err
					return r
				}
				r.Pairs++
				if v.Allowed != e.Allow {
					r.Failures = append(r.Failures, Failure{From: src, To: dst, Port: port, Verdict: v, layered: ch.layered})
				}
			}
		}
	}
	if r.Pairs == 0 {
		r.Err = errNoPairs
	}
	return r
}

// ports is the port to check, or for "any" every port dst declares.
func (ch *checker) ports(ps PortSpec, dst netpol.Endpoint) []netpol.Port {
	if !ps.Any {
		return []netpol.Port{ps.Port}
	}
	var out []netpol.Port
	seen := map[netpol.Port]bool{}
	for _, p := range ch.c.Pods {
		if namespaceOf(p.Namespace) != dst.Namespace || p.Name != dst.Pod {
			continue
		}
		for _, ctr := range p.Spec.Containers {
			for _, cp := range ctr.Ports {
				port := netpol.Port{Protocol: cp.Protocol, Port: cp.ContainerPort}
				if port.Protocol == "" {
					port.Protocol = corev1.ProtocolTCP
				}
				if !seen[port] {
					seen[port] = true
					out = append(out, port)
				}
			}
		}
	}
	return out
}

func (ch *checker) verdict(src, dst netpol.Endpoint, port netpol.Port) (netpol.Verdict, error) {
	if src.Pod == "" || dst.Pod == "" {
		return ch.eng.Evaluate(src, dst, port)
	}
	pm, ok := ch.matrices[port]
	if !ok {
		mx, err := ch.eng.Matrix([]netpol.Port{port})
		if err != nil {
			return netpol.Verdict{}, err
		}
		pm = &podMatrix{mx: mx, index: map[netpol.Endpoint]int{}}
		for i, p := range mx.Pods {
			pm.index[p] = i
		}
		ch.matrices[port] = pm
	}
	i, iok := pm.index[src]
	j, jok := pm.index[dst]
	if !iok || !jok {
		return ch.eng.Evaluate(src, dst, port) // reports the unknown pod
	}
	// One port: cells are in source, then destination order.
	return pm.mx.Cells[i*len(pm.mx.Pods)+j].Verdict, nil
}
