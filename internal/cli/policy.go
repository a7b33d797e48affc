package cli

import (
	"fmt"
	"strings"
)

// policyCommands are the subcommands of `bulwark policy`, in help order.
func policyCommands() []command {
	return []command{
		{"compile", "compile tenant network declarations into policy manifests", runPolicyCompile},
		{"simulate", "answer whether one endpoint reaches another, or print the reachability matrix", runPolicySimulate},
		{"test", "check reachability expectations against manifests", runPolicyTest},
	}
}

func runPolicy(env Env, args []string) error {
	if len(args) > 0 {
		for _, c := range policyCommands() {
			if c.name == args[0] {
				return c.run(env, args[1:])
			}
		}
	}
	fs := flags(env, "policy", "bulwark policy COMMAND [flags] [args]", policyHelp())
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	fs.SetOutput(env.Stderr)
	fs.Usage()
	if len(args) == 0 {
		return fmt.Errorf("%w: expected a policy command", ErrUsage)
	}
	return fmt.Errorf("%w: unknown policy command %q", ErrUsage, args[0])
}

func policyHelp() string {
	var b strings.Builder
	b.WriteString("Compile, simulate and test tenant network policies.\n\nCommands:\n")
	for _, c := range policyCommands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'bulwark policy COMMAND --help' for a command's flags.")
	return b.String()
}
