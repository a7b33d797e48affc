// Package cli is the bulwark command line: one file per subcommand, each
// with its own flags and --help. main only calls Run.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is what a command may touch of the outside world, so tests can run
// commands in-process.
type Env struct {
	Stdout, Stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(env Env, args []string) error
}

func commands() []command {
	return []command{
		{"gateway", "run the ingress gateway on a configuration directory", runGateway},
		{"demo", "run the quickstart: the gateway with a demo backend on the default ports", runDemo},
		{"config", "work with configuration directories (config check DIR)", runConfig},
		{"policy", "compile, simulate and test tenant network policies", runPolicy},
		{"audit", "check a GitOps repository against the invariants", runAudit},
		{"version", "print the version", runVersion},
	}
}

// ErrUsage marks errors that are the user's invocation, for exit code 2.
var ErrUsage = errors.New("usage")

// Run runs the subcommand named by args[0].
func Run(env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	usage(env.Stderr)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "bulwark: tenant application security for Kubernetes.")
	fmt.Fprintln(w, "\nUsage: bulwark COMMAND [flags] [args]\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'bulwark COMMAND --help' for a command's flags.")
}

// flags returns a FlagSet whose --help prints usageLine, the description
// and the flags to env.Stdout.
func flags(env Env, name, usageLine, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n", usageLine, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args; --help is success (exit 0), other errors are usage
// errors.
func parse(env Env, fs *flag.FlagSet, args []string) (done bool, err error) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(env.Stdout)
			fs.Usage()
			return true, nil
		}
	}
	if err := fs.Parse(args); err != nil {
		return true, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return false, nil
}

// oneArg returns the single positional argument a command takes (a
// directory), or a usage error that says what was expected.
func oneArg(env Env, fs *flag.FlagSet, what string) (string, error) {
	if fs.NArg() != 1 {
		fs.SetOutput(env.Stderr)
		fs.Usage()
		return "", fmt.Errorf("%w: expected one %s", ErrUsage, what)
	}
	return fs.Arg(0), nil
}
