package audit

// policyInGitCheck is INV-12. TODO: not implemented yet.
type policyInGitCheck struct{}

func (policyInGitCheck) ID() string { return "INV-12" }
func (policyInGitCheck) Title() string {
	return "network policies in Git are exactly the compiled declarations"
}
func (policyInGitCheck) Rule() string {
	return "INV-12: Network policies MUST be in Git (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (policyInGitCheck) Run(r *Repo) Outcome { return Outcome{} }

// wafInGitCheck is INV-13. TODO: not implemented yet.
type wafInGitCheck struct{}

func (wafInGitCheck) ID() string    { return "INV-13" }
func (wafInGitCheck) Title() string { return "WAF customizations are version controlled" }
func (wafInGitCheck) Rule() string {
	return "INV-13: WAF customizations MUST be version controlled (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (wafInGitCheck) Run(r *Repo) Outcome { return Outcome{} }
