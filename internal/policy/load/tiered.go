package load

import (
	"cmp"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/manifest"
	"github.com/bulwark-sec/bulwark/internal/policy/tiered"
)

// The policy kinds the layered simulator (package tiered) evaluates.
var layeredKinds = map[gvk]bool{
	{"projectcalico.org/v3", "Tier"}:                                    true,
	{"projectcalico.org/v3", "NetworkPolicy"}:                           true,
	{"projectcalico.org/v3", "GlobalNetworkPolicy"}:                     true,
	{"policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy"}:         true,
	{"policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy"}: true,
}

// layered is a manifest of a kind without upstream Go types here.
type layered[S any] struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       S                 `json:"spec"`
}

// Tiered is Cluster for the layered simulator: it reads everything Cluster
// reads and, instead of refusing them, Calico's projectcalico.org/v3 Tier,
// NetworkPolicy and GlobalNetworkPolicy and the
// policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy and
// BaselineAdminNetworkPolicy. Every other policy kind (staged Calico
// policies, crd.projectcalico.org, the v1alpha2 ClusterNetworkPolicy) is
// still an Error with Policy set, and so is a field the simulator does not
// model: decoding is strict.
func Tiered(objs []manifest.Object) (*tiered.Cluster, []error) {
	t := &tiered.Cluster{}
	b := newBuilder(&t.Cluster)
	b.layered = t
	var errs []error
	for _, o := range objs {
		if err := b.add(o); err != nil {
			errs = append(errs, err)
		}
	}
	// A policy in a tier that was never declared: Calico refuses it.
	declared := map[string]bool{"default": true}
	for _, tr := range t.Tiers {
		declared[tr.Name] = true
	}
	kept := t.Calico[:0]
	for i, p := range t.Calico {
		if tn := cmp.Or(p.Spec.Tier, "default"); !declared[tn] {
			errs = append(errs, &Error{Object: b.calicoObjs[i], Policy: true, Err: fmt.Errorf("spec.tier %q: no such Tier", tn)})
			continue
		}
		kept = append(kept, p)
	}
	t.Calico = kept
	return t, errs
}

// addLayered decodes one layered kind and checks it alone with the
// layered engine, so an error is reported at its manifest.
func (b *builder) addLayered(o manifest.Object) error {
	key := o.Kind + " " + qualified(o)
	if prev, dup := b.policies[key]; dup {
		return fmt.Errorf("declared twice (first at %s:%d)", prev.File, prev.Line)
	}
	alone := tiered.Cluster{}
	switch o.Kind {
	case "Tier":
		var v layered[tiered.TierSpec]
		if err := o.Decode(&v); err != nil {
			return err
		}
		alone.Tiers = []tiered.Tier{{Name: v.Metadata.Name, Spec: v.Spec}}
	case "NetworkPolicy", "GlobalNetworkPolicy":
		var v layered[tiered.CalicoSpec]
		if err := o.Decode(&v); err != nil {
			return err
		}
		p := tiered.CalicoPolicy{Global: o.Kind == "GlobalNetworkPolicy", Namespace: v.Metadata.Namespace, Name: v.Metadata.Name, Spec: v.Spec}
		alone.Calico = []tiered.CalicoPolicy{p}
		if tn := p.Spec.Tier; tn != "" && tn != "default" {
			alone.Tiers = []tiered.Tier{{Name: tn}} // existence is checked once all are read
		}
	default:
		var v layered[tiered.AdminSpec]
		if err := o.Decode(&v); err != nil {
			return err
		}
		alone.Admin = []tiered.AdminPolicy{{Baseline: o.Kind == "BaselineAdminNetworkPolicy", Name: v.Metadata.Name, Spec: v.Spec}}
	}
	if o.Name == "" {
		return errors.New("metadata.name is empty")
	}
	if err := alone.Validate(); err != nil {
		return err
	}
	b.policies[key] = o
	t := b.layered
	if o.Kind == "Tier" {
		t.Tiers = append(t.Tiers, alone.Tiers...)
	}
	if len(alone.Calico) > 0 {
		t.Calico = append(t.Calico, alone.Calico...)
		b.calicoObjs = append(b.calicoObjs, o)
	}
	t.Admin = append(t.Admin, alone.Admin...)
	return nil
}
