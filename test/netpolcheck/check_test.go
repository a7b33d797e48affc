package netpolcheck

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/generator"
	networkingv1 "k8s.io/api/networking/v1"
)

// seed fixes the random worlds so every run compares the same cells.
const seed = 20261123

// randomWorlds is sized to run in a few seconds on two cores.
const randomWorlds = 3000

// minAgreement is the required share of agreeing cells, in percent.
const minAgreement = 99.9

// report fails the test on any disagreement left after normalisation: every
// known difference is normalised (differences.md), so a residual one is
// unexplained.
func report(t *testing.T, name string, tl *tally) {
	t.Helper()
	t.Logf("%s: %s", name, tl)
	if tl.cells == 0 {
		t.Fatalf("%s: no cells compared", name)
	}
	if tl.agreement() < minAgreement || tl.differ > 0 {
		t.Errorf("%s: %d unexplained disagreements (agreement %.4f%%, need %.1f%% and none unexplained); first:\n%s",
			name, tl.differ, tl.agreement(), minAgreement, strings.Join(tl.first, "\n"))
	}
}

// TestCyclonusRandom compares random worlds with cyclonus's matcher, with
// ipBlock matching pod IPs as cyclonus does.
func TestCyclonusRandom(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(seed, 0))}
	var tl tally
	for i := range randomWorlds {
		w := g.world()
		if err := compare(&tl, fmt.Sprintf("world %d", i), w, true, false, standardPorts, newCyclonusOracle(w)); err != nil {
			t.Fatal(err)
		}
	}
	report(t, "cyclonus/random", &tl)
}

// TestCyclonusGenerated compares cyclonus's own generated test cases: every
// step's actions are applied to cyclonus's default world (namespaces x, y,
// z; pods a, b, c serving 80 and 81 on TCP, UDP and SCTP) and the whole
// matrix is compared after each step.
func TestCyclonusGenerated(t *testing.T) {
	const podIP = "10.0.2.2" // y/b: cyclonus builds ipBlock cases around one pod's IP
	cases := generator.NewTestCaseGenerator(false, podIP, []string{"x", "y", "z"}, nil, nil).GenerateAllTestCases()
	var tl tally
	for i, tc := range cases {
		w := defaultCyclonusWorld()
		for j, step := range tc.Steps {
			if err := w.apply(step.Actions); err != nil {
				t.Fatalf("case %d %q step %d: %v", i, tc.Description, j, err)
			}
			label := fmt.Sprintf("case %d %q step %d", i, tc.Description, j)
			if err := compare(&tl, label, w, true, false, standardPorts, newCyclonusOracle(w)); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("cyclonus generated cases: %d", len(cases))
	report(t, "cyclonus/generated", &tl)
}

func defaultCyclonusWorld() *world {
	w := &world{}
	for i, ns := range []string{"x", "y", "z"} {
		w.namespaces = append(w.namespaces, namespace{name: ns, labels: map[string]string{"ns": ns}})
		for j, name := range []string{"a", "b", "c"} {
			w.addPod(ns, name, map[string]string{"pod": name}, i, j)
		}
	}
	return w
}

func (w *world) addPod(ns, name string, labels map[string]string, i, j int) {
	w.pods = append(w.pods, pod{namespace: ns, name: name, labels: labels,
		ip: fmt.Sprintf("10.0.%d.%d", i+1, j+1), ports: servePorts()})
}

// apply performs cyclonus's actions on the world.
func (w *world) apply(actions []*generator.Action) error {
	for _, a := range actions {
		switch {
		case a.CreatePolicy != nil:
			w.policies = append(w.policies, *a.CreatePolicy.Policy.DeepCopy())
		case a.UpdatePolicy != nil:
			p := a.UpdatePolicy.Policy
			w.deletePolicy(p.Namespace, p.Name)
			w.policies = append(w.policies, *p.DeepCopy())
		case a.DeletePolicy != nil:
			w.deletePolicy(a.DeletePolicy.Namespace, a.DeletePolicy.Name)
		case a.CreateNamespace != nil:
			w.namespaces = append(w.namespaces, namespace{name: a.CreateNamespace.Namespace, labels: a.CreateNamespace.Labels})
		case a.SetNamespaceLabels != nil:
			for i := range w.namespaces {
				if w.namespaces[i].name == a.SetNamespaceLabels.Namespace {
					w.namespaces[i].labels = a.SetNamespaceLabels.Labels
				}
			}
		case a.DeleteNamespace != nil:
			w.deleteNamespace(a.DeleteNamespace.Namespace)
		case a.CreatePod != nil:
			w.addPod(a.CreatePod.Namespace, a.CreatePod.Pod, a.CreatePod.Labels, 100+len(w.namespaces), len(w.pods))
		case a.SetPodLabels != nil:
			for i := range w.pods {
				if w.pods[i].namespace == a.SetPodLabels.Namespace && w.pods[i].name == a.SetPodLabels.Pod {
					w.pods[i].labels = a.SetPodLabels.Labels
				}
			}
		case a.DeletePod != nil:
			w.pods = deleteWhere(w.pods, func(p pod) bool { return p.namespace == a.DeletePod.Namespace && p.name == a.DeletePod.Pod })
		case a.ReadNetworkPolicies != nil:
		default:
			return fmt.Errorf("unknown action %+v", a)
		}
	}
	return nil
}

func (w *world) deletePolicy(ns, name string) {
	w.policies = deleteWhere(w.policies, func(p networkingv1.NetworkPolicy) bool { return p.Namespace == ns && p.Name == name })
}

func (w *world) deleteNamespace(ns string) {
	w.namespaces = deleteWhere(w.namespaces, func(n namespace) bool { return n.name == ns })
	w.pods = deleteWhere(w.pods, func(p pod) bool { return p.namespace == ns })
	w.policies = deleteWhere(w.policies, func(p networkingv1.NetworkPolicy) bool { return p.Namespace == ns })
}

func deleteWhere[T any](s []T, f func(T) bool) []T {
	var out []T
	for _, x := range s {
		if !f(x) {
			out = append(out, x)
		}
	}
	return out
}

// TestCyclonusDifferencesAreReal undoes each normalisation of
// differences.md in turn and checks that it then produces disagreements, so
// every listed difference is observed, not assumed. The counts are logged.
func TestCyclonusDifferencesAreReal(t *testing.T) {
	variants := []struct {
		name                         string
		ipBlockPods, withSelf, rawNI bool
	}{
		{name: "self traffic compared", ipBlockPods: true, withSelf: true},
		{name: "ipBlock not matching pod IPs (Bulwark default)"},
		{name: "NotIn on a missing key, unnormalised", ipBlockPods: true, rawNI: true},
	}
	for _, v := range variants {
		g := gen{rand.New(rand.NewPCG(seed, 0))}
		var tl tally
		for i := range randomWorlds / 10 {
			w := g.world()
			o := newCyclonusOracle(w)
			if v.rawNI {
				o = newRawCyclonusOracle(w)
			}
			if err := compare(&tl, fmt.Sprintf("world %d", i), w, v.ipBlockPods, v.withSelf, standardPorts, o); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %s", v.name, &tl)
		if tl.differ == 0 {
			t.Errorf("%s: expected disagreements, found none: the normalisation is not needed", v.name)
		}
	}
}
