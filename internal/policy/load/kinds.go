package load

import (
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/manifest"
)

type gvk struct{ apiVersion, kind string }

type kind int

const (
	kindNamespace kind = iota
	kindPod
	kindNetworkPolicy
	kindDeployment
	kindStatefulSet
	kindDaemonSet
	kindReplicaSet
	kindReplicationController
	kindJob
	kindCronJob
)

// kinds are the objects the simulator reads; every other kind is ignored
// unless unsupportedPolicy says it is a policy.
var kinds = map[gvk]kind{
	{"v1", "Namespace"}: kindNamespace,
	{"v1", "Pod"}:       kindPod,
	{"networking.k8s.io/v1", "NetworkPolicy"}: kindNetworkPolicy,
	{"apps/v1", "Deployment"}:                 kindDeployment,
	{"apps/v1", "StatefulSet"}:                kindStatefulSet,
	{"apps/v1", "DaemonSet"}:                  kindDaemonSet,
	{"apps/v1", "ReplicaSet"}:                 kindReplicaSet,
	{"v1", "ReplicationController"}:           kindReplicationController,
	{"batch/v1", "Job"}:                       kindJob,
	{"batch/v1", "CronJob"}:                   kindCronJob,
}

// unsupportedPolicy reports whether o is a policy kind the simulator does
// not evaluate: ignoring it would present an answer that omits it.
func unsupportedPolicy(o manifest.Object) bool {
	group, _, _ := strings.Cut(o.APIVersion, "/")
	if !strings.Contains(o.APIVersion, "/") {
		group = "" // the core group, "v1"
	}
	switch group {
	case "policy.networking.k8s.io":
		return true // AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy
	case "projectcalico.org", "crd.projectcalico.org":
		return o.Kind == "Tier" || strings.HasSuffix(o.Kind, "NetworkPolicy")
	}
	// A NetworkPolicy under another apiVersion (extensions/v1beta1, a typo).
	return o.Kind == "NetworkPolicy"
}

// template decodes a workload and returns its metadata and pod template.
func template(o manifest.Object, k kind) (metav1.ObjectMeta, *corev1.PodTemplateSpec, error) {
	var err error
	switch k {
	case kindDeployment:
		var w appsv1.Deployment
		err = o.Decode(&w)
		return w.ObjectMeta, &w.Spec.Template, err
	case kindStatefulSet:
		var w appsv1.StatefulSet
		err = o.Decode(&w)
		return w.ObjectMeta, &w.Spec.Template, err
	case kindDaemonSet:
		var w appsv1.DaemonSet
		err = o.Decode(&w)
		return w.ObjectMeta, &w.Spec.Template, err
	case kindReplicaSet:
		var w appsv1.ReplicaSet
		err = o.Decode(&w)
		return w.ObjectMeta, &w.Spec.Template, err
	case kindReplicationController:
		var w corev1.ReplicationController
		if err = o.Decode(&w); err == nil && w.Spec.Template == nil {
			err = errors.New("spec.template is missing")
		}
		return w.ObjectMeta, w.Spec.Template, err
	case kindJob:
		var w batchv1.Job
		err = o.Decode(&w)
		return w.ObjectMeta, &w.Spec.Template, err
	case kindCronJob:
		var w batchv1.CronJob
		err = o.Decode(&w)
		return w.ObjectMeta, &w.Spec.JobTemplate.Spec.Template, err
	}
	return metav1.ObjectMeta{}, nil, fmt.Errorf("load: kind %d is not a workload", k)
}
