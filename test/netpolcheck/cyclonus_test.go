package netpolcheck

import (
	"maps"
	"slices"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// absent stands for "no such label" in the oracle's copy of the world; see
// differences.md, "NotIn on a missing key".
const absent = "__netpolcheck_absent__"

// cyclonusOracle answers cells with cyclonus's matcher, on a copy of the
// world normalised for the differences in differences.md.
type cyclonusOracle struct {
	w       *world
	policy  *matcher.Policy
	notInKs []string
}

func newCyclonusOracle(w *world) *cyclonusOracle {
	return buildCyclonusOracle(w, true)
}

// newRawCyclonusOracle leaves NotIn as cyclonus reads it; it only serves to
// show that the difference is real.
func newRawCyclonusOracle(w *world) *cyclonusOracle {
	return buildCyclonusOracle(w, false)
}

func buildCyclonusOracle(w *world, normaliseNotIn bool) *cyclonusOracle {
	o := &cyclonusOracle{w: w}
	keys := map[string]bool{}
	for _, np := range w.policies {
		forEachSelector(&np, func(s *metav1.LabelSelector) {
			for _, e := range s.MatchExpressions {
				if e.Operator == metav1.LabelSelectorOpNotIn {
					keys[e.Key] = true
				}
			}
		})
	}
	if normaliseNotIn {
		o.notInKs = slices.Sorted(maps.Keys(keys))
	}
	var nps []*networkingv1.NetworkPolicy
	for _, np := range w.policies {
		np = *np.DeepCopy()
		np = defaultPolicyTypes(np)
		forEachSelector(&np, o.rewrite)
		nps = append(nps, &np)
	}
	o.policy = matcher.BuildNetworkPolicies(false, nps)
	return o
}

// forEachSelector calls f on every non-nil selector of the policy.
func forEachSelector(np *networkingv1.NetworkPolicy, f func(*metav1.LabelSelector)) {
	f(&np.Spec.PodSelector)
	peers := func(ps []networkingv1.NetworkPolicyPeer) {
		for i := range ps {
			if ps[i].PodSelector != nil {
				f(ps[i].PodSelector)
			}
			if ps[i].NamespaceSelector != nil {
				f(ps[i].NamespaceSelector)
			}
		}
	}
	for _, r := range np.Spec.Ingress {
		peers(r.From)
	}
	for _, r := range np.Spec.Egress {
		peers(r.To)
	}
}

// rewrite makes a selector mean, over labels where every NotIn key is
// present (real value or absent), what it meant over the original labels.
func (o *cyclonusOracle) rewrite(s *metav1.LabelSelector) {
	for i, e := range s.MatchExpressions {
		if !slices.Contains(o.notInKs, e.Key) {
			continue
		}
		switch e.Operator {
		case metav1.LabelSelectorOpExists:
			s.MatchExpressions[i] = metav1.LabelSelectorRequirement{Key: e.Key, Operator: metav1.LabelSelectorOpNotIn, Values: []string{absent}}
		case metav1.LabelSelectorOpDoesNotExist:
			s.MatchExpressions[i] = metav1.LabelSelectorRequirement{Key: e.Key, Operator: metav1.LabelSelectorOpIn, Values: []string{absent}}
		}
	}
}

func (o *cyclonusOracle) labels(l map[string]string) map[string]string {
	out := maps.Clone(l)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range o.notInKs {
		if _, ok := out[k]; !ok {
			out[k] = absent
		}
	}
	return out
}

func (o *cyclonusOracle) peer(i int) *matcher.TrafficPeer {
	p := o.w.pods[i]
	return &matcher.TrafficPeer{IP: p.ip, Internal: &matcher.InternalPeer{
		Namespace:       p.namespace,
		PodLabels:       o.labels(p.labels),
		NamespaceLabels: o.labels(o.w.nsLabels(p.namespace)),
	}}
}

func (o *cyclonusOracle) allowed(from, to int, port netpol.Port) bool {
	return o.policy.IsTrafficAllowed(&matcher.Traffic{
		Source:           o.peer(from),
		Destination:      o.peer(to),
		ResolvedPort:     int(port.Port),
		ResolvedPortName: o.w.pods[to].portName(port),
		Protocol:         port.Protocol,
	}).IsAllowed()
}
