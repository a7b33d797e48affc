package audit

// eventLogCheck is INV-9. TODO: not implemented yet.
type eventLogCheck struct{}

func (eventLogCheck) ID() string    { return "INV-9" }
func (eventLogCheck) Title() string { return "blocked requests are logged with the required fields" }
func (eventLogCheck) Rule() string {
	return "INV-9: All blocked requests MUST be logged (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (eventLogCheck) Run(r *Repo) Outcome { return Outcome{} }

// flowLogCheck is INV-10. TODO: not implemented yet.
type flowLogCheck struct{}

func (flowLogCheck) ID() string    { return "INV-10" }
func (flowLogCheck) Title() string { return "network flows are logged" }
func (flowLogCheck) Rule() string {
	return "INV-10: Network flows MUST be observable (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (flowLogCheck) Run(r *Repo) Outcome { return Outcome{} }

// monitoringCheck is INV-11. TODO: not implemented yet.
type monitoringCheck struct{}

func (monitoringCheck) ID() string    { return "INV-11" }
func (monitoringCheck) Title() string { return "WAF metrics are scraped and alerted on" }
func (monitoringCheck) Rule() string {
	return "INV-11: WAF events MUST integrate with monitoring (RFC-TENANT-SECURITY-0001 §2.4)."
}
func (monitoringCheck) Run(r *Repo) Outcome { return Outcome{} }
