package audit

import (
	"fmt"
	"strings"
)

// committedCertCheck is INV-3: a certificate and key committed as a
// Secret are provisioned by hand — nobody renews them, and the key is in
// Git's history for good.
type committedCertCheck struct{}

func (committedCertCheck) ID() string    { return "INV-3" }
func (committedCertCheck) Title() string { return "certificates are provisioned automatically" }
func (committedCertCheck) Rule() string {
	return "INV-3: Certificate provisioning MUST be automated (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c committedCertCheck) Run(r *Repo) Outcome {
	var out []Finding
	for _, o := range r.Kind("Secret") {
		if str(o.Fields, "type") != "kubernetes.io/tls" || len(secretKeys(o)) == 0 {
			continue
		}
		out = append(out, o.finding(c.ID(), Error,
			"TLS Secret with certificate data is committed: it was provisioned by hand",
			"issue the certificate with a cert-manager Certificate (spec.secretName) or sync it with an ExternalSecret, delete this Secret, and rotate its key").at(secretField(o)))
	}
	return Outcome{Findings: out, Evidence: r.files("Secret")}
}

// certSourceCheck is INV-14: every TLS secret an Ingress or Gateway serves
// is produced by automation the repository declares.
type certSourceCheck struct{}

func (certSourceCheck) ID() string { return "INV-14" }
func (certSourceCheck) Title() string {
	return "TLS secrets come from cert-manager or External Secrets"
}
func (certSourceCheck) Rule() string {
	return "INV-14: TLS secrets MUST be automated (RFC-TENANT-SECURITY-0001 §2.4)."
}

func (c certSourceCheck) Run(r *Repo) Outcome {
	produced := map[string]bool{} // namespace/name
	for _, o := range r.Kind("Certificate") {
		if strings.HasPrefix(o.APIVersion, "cert-manager.io/") {
			produced[namespaceOf(o)+"/"+str(o.Fields, "spec", "secretName")] = true
		}
	}
	for _, o := range r.Kind("ExternalSecret") {
		name := str(o.Fields, "spec", "target", "name")
		if name == "" {
			name = o.Object.Name // External Secrets' default target
		}
		produced[namespaceOf(o)+"/"+name] = true
	}
	var out []Finding
	for _, o := range r.Kind("Ingress") {
		// cert-manager's ingress-shim creates the Certificate for these.
		ann := mapping(o.Fields, "metadata", "annotations")
		if ann["cert-manager.io/cluster-issuer"] != nil || ann["cert-manager.io/issuer"] != nil {
			continue
		}
		for i, t := range list(o.Fields, "spec", "tls") {
			name := str(t, "secretName")
			if name != "" && !produced[namespaceOf(o)+"/"+name] {
				out = append(out, c.unproduced(o, fmt.Sprintf("spec.tls[%d].secretName", i), namespaceOf(o), name))
			}
		}
	}
	for _, o := range r.Kind("Gateway") {
		for i, l := range list(o.Fields, "spec", "listeners") {
			for j, ref := range list(l, "tls", "certificateRefs") {
				ns := str(ref, "namespace")
				if ns == "" {
					ns = namespaceOf(o)
				}
				if k := str(ref, "kind"); k != "" && k != "Secret" {
					continue
				}
				if name := str(ref, "name"); !produced[ns+"/"+name] {
					out = append(out, c.unproduced(o, fmt.Sprintf("spec.listeners[%d].tls.certificateRefs[%d]", i, j), ns, name))
				}
			}
		}
	}
	return Outcome{Findings: out, Evidence: r.files("Certificate", "ExternalSecret", "Ingress", "Gateway", "Secret")}
}

func (c certSourceCheck) unproduced(o Object, field, ns, name string) Finding {
	return o.finding(c.ID(), Error,
		fmt.Sprintf("%s names TLS secret %s/%s, which no cert-manager Certificate or ExternalSecret in the repository produces", field, ns, name),
		fmt.Sprintf("add a cert-manager Certificate with spec.secretName: %s in namespace %s (or an ExternalSecret targeting it)", name, ns)).at(field)
}
