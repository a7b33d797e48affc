// Package load builds the network-policy simulator's input (a
// netpol.Cluster) from Kubernetes manifests, so `bulwark policy simulate`
// and `bulwark policy test` answer for exactly what a repository declares.
//
// What it reads:
//
//   - v1 Namespace, with its labels (namespace selectors match them);
//   - v1 Pod, with its labels, container ports and status.podIPs;
//   - workloads, each as ONE synthetic pod named after the workload, in the
//     workload's namespace, with the labels and container ports of its pod
//     template: apps/v1 Deployment, StatefulSet, DaemonSet and ReplicaSet,
//     v1 ReplicationController, batch/v1 Job and CronJob
//     (spec.jobTemplate.spec.template). Replicas of a workload share
//     labels and ports, so they are identical for NetworkPolicy; one pod
//     stands for all of them and the question "can web reach api" names
//     workloads, not generated pod names;
//   - networking.k8s.io/v1 NetworkPolicy.
//
// Every other kind is ignored, except policy kinds the simulator does not
// evaluate yet (Calico's projectcalico.org NetworkPolicy,
// GlobalNetworkPolicy, Tier and their staged forms; the
// policy.networking.k8s.io AdminNetworkPolicy, BaselineAdminNetworkPolicy
// and ClusterNetworkPolicy; NetworkPolicy under any apiVersion other than
// networking.k8s.io/v1): each is an Error with Policy set, so no one
// believes such a policy was simulated.
//
// Objects are decoded strictly (manifest.Object.Decode: unknown fields and
// wrong types are errors with file and line) and checked one by one with
// the engine's own validation, so a bad selector is reported at its
// manifest rather than as a whole-cluster failure. A broken object is
// skipped and loading goes on.
//
// Tiered is the same for the layered simulator (package tiered): it
// evaluates the Calico and AdminNetworkPolicy kinds Cluster refuses.
package load

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// Error is an object that could not be loaded.
type Error struct {
	Object manifest.Object
	// Policy is set when the object is (or may be) a network policy: an
	// answer computed without it could be wrong, and callers should refuse
	// to give one. Namespaces, pods and workloads leave it unset.
	Policy bool
	Err    error
}

func (e *Error) Error() string {
	var located *manifest.Error
	if errors.As(e.Err, &located) {
		return located.Error() // already "file:line: kind name: ..."
	}
	return fmt.Sprintf("%s:%d: %s %s: %v", e.Object.File, e.Object.Line, e.Object.Kind, qualified(e.Object), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsPolicy reports whether err is an Error about a policy object.
func IsPolicy(err error) bool {
	var le *Error
	return errors.As(err, &le) && le.Policy
}

// ErrUnsupported is wrapped by the Error for a policy kind the simulator
// does not evaluate yet.
var ErrUnsupported = errors.New("the simulator does not evaluate this kind yet")

func qualified(o manifest.Object) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// Cluster builds the simulator's input from objs (see the package doc for
// what is read). It returns the cluster of every object that loaded and an
// *Error for each that did not; the cluster is never nil.
func Cluster(objs []manifest.Object) (*netpol.Cluster, []error) {
	b := newBuilder(&netpol.Cluster{})
	var errs []error
	for _, o := range objs {
		if err := b.add(o); err != nil {
			errs = append(errs, err)
		}
	}
	return b.c, errs
}

// builder accumulates the cluster and remembers which object introduced
// each name, so a duplicate is reported at both places.
type builder struct {
	c *netpol.Cluster
	// layered, when set (Tiered), receives the layered kinds instead of
	// refusing them; calicoObjs are the manifests of its Calico policies.
	layered    *tiered.Cluster
	calicoObjs []manifest.Object
	namespaces map[string]manifest.Object // by name
	pods       map[string]manifest.Object // by namespace/name
	policies   map[string]manifest.Object // by namespace/name
	ips        map[string]string          // pod IP to namespace/name
}

func newBuilder(c *netpol.Cluster) *builder {
	return &builder{
		c:          c,
		namespaces: map[string]manifest.Object{},
		pods:       map[string]manifest.Object{},
		policies:   map[string]manifest.Object{},
		ips:        map[string]string{},
	}
}

func (b *builder) add(o manifest.Object) error {
	if b.layered != nil && layeredKinds[gvk{o.APIVersion, o.Kind}] {
		if err := b.addLayered(o); err != nil {
			return &Error{Object: o, Policy: true, Err: err}
		}
		return nil
	}
	k, ok := kinds[gvk{o.APIVersion, o.Kind}]
	if !ok {
		if unsupportedPolicy(o) {
			return &Error{Object: o, Policy: true, Err: ErrUnsupported}
		}
		return nil
	}
	var err error
	switch k {
	case kindNamespace:
		err = b.addNamespace(o)
	case kindPod:
		err = b.addPod(o)
	case kindNetworkPolicy:
		err = b.addPolicy(o)
	default:
		err = b.addWorkload(o, k)
	}
	if err != nil {
		return &Error{Object: o, Policy: k == kindNetworkPolicy, Err: err}
	}
	return nil
}

func (b *builder) addNamespace(o manifest.Object) error {
	var ns corev1.Namespace
	if err := o.Decode(&ns); err != nil {
		return err
	}
	if ns.Name == "" {
		return errors.New("metadata.name is empty")
	}
	if prev, dup := b.namespaces[ns.Name]; dup {
		return fmt.Errorf("declared twice (first at %s:%d); keeping the first", prev.File, prev.Line)
	}
	b.namespaces[ns.Name] = o
	b.c.Namespaces = append(b.c.Namespaces, ns)
	return nil
}

func (b *builder) addPolicy(o manifest.Object) error {
	var np networkingv1.NetworkPolicy
	if err := o.Decode(&np); err != nil {
		return err
	}
	if np.Namespace == "" {
		np.Namespace = "default"
	}
	key := np.Namespace + "/" + np.Name
	if prev, dup := b.policies[key]; dup {
		return fmt.Errorf("declared twice (first at %s:%d)", prev.File, prev.Line)
	}
	// The engine's validation, on this policy alone, so that an error is
	// reported at its manifest.
	alone := netpol.Cluster{Policies: []networkingv1.NetworkPolicy{np}}
	if _, err := alone.Matrix(nil); err != nil {
		return err
	}
	b.policies[key] = o
	b.c.Policies = append(b.c.Policies, np)
	return nil
}
