package audit

// detectionCheck is INV-4. TODO: not implemented yet.
type detectionCheck struct{}

func (detectionCheck) ID() string    { return "INV-4" }
func (detectionCheck) Title() string { return "WAF rule sets served in detection before blocking" }
func (detectionCheck) Rule() string {
	return "INV-4: WAF rules MUST operate in detection before enforcement (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (detectionCheck) Run(r *Repo) Outcome { return Outcome{} }
