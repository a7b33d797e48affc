package audit

// defaultDenyCheck is INV-5. TODO: not implemented yet.
type defaultDenyCheck struct{}

func (defaultDenyCheck) ID() string    { return "INV-5" }
func (defaultDenyCheck) Title() string { return "every tenant namespace denies ingress by default" }
func (defaultDenyCheck) Rule() string {
	return "INV-5: All tenant namespaces MUST have default-deny ingress (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (defaultDenyCheck) Run(r *Repo) Outcome { return Outcome{} }

// crossNamespaceCheck is INV-6. TODO: not implemented yet.
type crossNamespaceCheck struct{}

func (crossNamespaceCheck) ID() string    { return "INV-6" }
func (crossNamespaceCheck) Title() string { return "every allowed cross-namespace path is declared" }
func (crossNamespaceCheck) Rule() string {
	return "INV-6: Cross-namespace traffic MUST be explicitly authorized (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (crossNamespaceCheck) Run(r *Repo) Outcome { return Outcome{} }

// egressCheck is INV-7. TODO: not implemented yet.
type egressCheck struct{}

func (egressCheck) ID() string    { return "INV-7" }
func (egressCheck) Title() string { return "internet egress goes only to declared destinations" }
func (egressCheck) Rule() string {
	return "INV-7: Egress to internet MUST be controlled (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (egressCheck) Run(r *Repo) Outcome { return Outcome{} }

// guardrailCheck is INV-8. TODO: not implemented yet.
type guardrailCheck struct{}

func (guardrailCheck) ID() string { return "INV-8" }
func (guardrailCheck) Title() string {
	return "platform guardrails precede tenant policies and tenants cannot edit them"
}
func (guardrailCheck) Rule() string {
	return "INV-8: Platform guardrails MUST NOT be overridable (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (guardrailCheck) Run(r *Repo) Outcome { return Outcome{} }
