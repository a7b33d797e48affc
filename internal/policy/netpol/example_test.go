package netpol_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

func ExampleCluster_Evaluate() {
	pod := func(ns, name string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}}}
	}
	c := &netpol.Cluster{
		Pods: []corev1.Pod{pod("shop", "web"), pod("billing", "api")},
		Policies: []networkingv1.NetworkPolicy{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "billing", Name: "default-deny"},
			Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
		}},
	}
	v, err := c.Evaluate(netpol.PodEndpoint("shop", "web"), netpol.PodEndpoint("billing", "api"), netpol.Port{Port: 8080})
	if err != nil {
		panic(err)
	}
	fmt.Println("allowed:", v.Allowed)
	fmt.Println("egress: ", v.Egress)
	fmt.Println("ingress:", v.Ingress)
	// Output:
	// allowed: false
	// egress:  allow: no policy selects the pod
	// ingress: deny: isolated and no rule allows (selected by [billing/default-deny])
}
