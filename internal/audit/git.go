package audit

// Git is the Git work tree holding the audited path. TODO: not implemented yet.
type Git struct{}

// openGit returns the work tree holding root, or nil when root is not in
// one (or git is not installed).
func openGit(root string) *Git { return nil }
