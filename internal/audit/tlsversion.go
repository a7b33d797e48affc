package audit

import (
	"fmt"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/config"
)

// tlsVersionCheck is INV-2 where the repository can set a TLS minimum
// besides Bulwark: Bulwark's own tls.min_version cannot be below 1.2 (the
// configuration does not load), so its value is reported as evidence, and
// the Kubernetes side is checked for settings that lower it.
type tlsVersionCheck struct{}

func (tlsVersionCheck) ID() string    { return "INV-2" }
func (tlsVersionCheck) Title() string { return "TLS 1.2 or later on every public endpoint" }
func (tlsVersionCheck) Rule() string {
	return "INV-2: All public endpoints MUST use TLS 1.2+ (RFC-TENANT-SECURITY-0001 §2.4)."
}

// weakProtocols are ssl-protocols tokens below TLS 1.2.
var weakProtocols = map[string]bool{"SSLv2": true, "SSLv3": true, "TLSv1": true, "TLSv1.0": true, "TLSv1.1": true}

// weakTraefik are Traefik TLSOption minVersion values below TLS 1.2.
var weakTraefik = map[string]bool{"VersionTLS10": true, "VersionTLS11": true, "VersionSSL30": true}

// weakIstio are Istio Gateway minProtocolVersion values below TLS 1.2.
var weakIstio = map[string]bool{"TLSV1_0": true, "TLSV1_1": true}

// weakEnvoyGateway are Envoy Gateway ClientTrafficPolicy tls.minVersion
// values below TLS 1.2.
var weakEnvoyGateway = map[string]bool{"1.0": true, "1.1": true}

const tlsFix = "allow only TLSv1.2 and TLSv1.3"

func (c tlsVersionCheck) Run(r *Repo) Outcome {
	var out []Finding
	if r.Config != nil {
		out = append(out, Finding{Check: c.ID(), Severity: Note, File: config.PlatformFile,
			Line:    r.Config.Line(config.PlatformFile, "tls.min_version"),
			Message: fmt.Sprintf("evidence: Bulwark's listener accepts TLS %s and later (tls.min_version)", r.Config.Platform.TLS.MinVersion)})
	}
	for _, o := range r.Objects {
		switch o.Kind {
		case "Ingress":
			if weak := weakTokens(str(o.Fields, "metadata", "annotations", "nginx.ingress.kubernetes.io/ssl-protocols")); weak != "" {
				out = append(out, o.finding(c.ID(), Error,
					"annotation nginx.ingress.kubernetes.io/ssl-protocols enables "+weak, tlsFix+", or remove the annotation").at("metadata.annotations[nginx.ingress.kubernetes.io/ssl-protocols]"))
			}
		case "ConfigMap":
			if weak := weakTokens(str(o.Fields, "data", "ssl-protocols")); weak != "" {
				out = append(out, o.finding(c.ID(), Error, "ingress controller setting ssl-protocols enables "+weak, tlsFix).at("data[ssl-protocols]"))
			}
		case "TLSOption":
			if v := str(o.Fields, "spec", "minVersion"); weakTraefik[v] {
				out = append(out, o.finding(c.ID(), Error, "spec.minVersion is "+v, "set spec.minVersion: VersionTLS12").at("spec.minVersion"))
			}
		case "Gateway": // Istio's; the Gateway API's has no TLS minimum
			for i, srv := range list(o.Fields, "spec", "servers") {
				if v := str(srv, "tls", "minProtocolVersion"); weakIstio[v] {
					at := fmt.Sprintf("spec.servers[%d].tls.minProtocolVersion", i)
					out = append(out, o.finding(c.ID(), Error, at+" is "+v, "set minProtocolVersion: TLSV1_2, or leave it out (Istio's default is TLS 1.2)").at(at))
				}
			}
		case "ClientTrafficPolicy":
			if v := str(o.Fields, "spec", "tls", "minVersion"); weakEnvoyGateway[v] {
				out = append(out, o.finding(c.ID(), Error, "spec.tls.minVersion is "+v, "set spec.tls.minVersion: \"1.2\", or leave it out (Envoy Gateway's default is 1.2)").at("spec.tls.minVersion"))
			}
		}
	}
	return Outcome{Findings: out, Evidence: r.evidence("Ingress", "ConfigMap", "TLSOption", "Gateway", "ClientTrafficPolicy")}
}

// weakTokens returns the protocols below TLS 1.2 in a space-separated
// ssl-protocols value, joined by ", ".
func weakTokens(v string) string {
	var weak []string
	for _, t := range strings.Fields(v) {
		if weakProtocols[t] {
			weak = append(weak, t)
		}
	}
	return strings.Join(weak, ", ")
}
