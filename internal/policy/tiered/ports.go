package tiered

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/bulwark-sec/bulwark/internal/policy/netpol"
)

// portMatch is one port entry: a protocol ("" any), then a range or a
// name resolved on the destination pod.
type portMatch struct {
	protocol corev1.Protocol
	name     string
	from, to int32
}

func (pm portMatch) matches(dest *ep, port netpol.Port) bool {
	if pm.protocol != "" && pm.protocol != port.Protocol {
		return false
	}
	if pm.name == "" {
		return pm.from <= port.Port && port.Port <= pm.to
	}
	if dest == nil || !dest.isPod() {
		return false
	}
	for _, cp := range dest.ports {
		proto := cp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if cp.Name == pm.name && proto == port.Protocol && cp.ContainerPort == port.Port {
			return true
		}
	}
	return false
}

func anyPort(pms []portMatch, dest *ep, port netpol.Port) bool {
	for _, pm := range pms {
		if pm.matches(dest, port) {
			return true
		}
	}
	return false
}

// protocol validates a protocol name; "" stays "" (any, or the caller's
// default). Calico accepts any case.
func protocol(s string) (corev1.Protocol, error) {
	p := corev1.Protocol(strings.ToUpper(s))
	switch p {
	case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return p, nil
	}
	return "", fmt.Errorf("protocol %q: the simulator evaluates TCP, UDP and SCTP only", s)
}

// calicoPort parses a Calico port: a number, "first:last" or a name.
func calicoPort(proto corev1.Protocol, v intstr.IntOrString) (portMatch, error) {
	pm := portMatch{protocol: proto}
	if v.Type == intstr.Int {
		pm.from, pm.to = v.IntVal, v.IntVal
	} else if a, b, ok := strings.Cut(v.StrVal, ":"); ok {
		from, err1 := strconv.Atoi(a)
		to, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil {
			return pm, fmt.Errorf("port %q: want first:last", v.StrVal)
		}
		pm.from, pm.to = int32(from), int32(to)
	} else if n, err := strconv.Atoi(v.StrVal); err == nil {
		pm.from, pm.to = int32(n), int32(n)
	} else {
		pm.name = v.StrVal
		return pm, nil
	}
	if pm.from < 1 || pm.to > 65535 || pm.to < pm.from {
		return pm, fmt.Errorf("port range %d-%d invalid", pm.from, pm.to)
	}
	return pm, nil
}
