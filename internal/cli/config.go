package cli

import (
	"fmt"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/gateway"
)

func runConfig(env Env, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		fs := flags(env, "config", "bulwark config check DIR", configCheckHelp)
		if done, err := parse(env, fs, args); done || err != nil {
			return err
		}
		fs.SetOutput(env.Stderr)
		fs.Usage()
		return fmt.Errorf("%w: expected 'config check DIR'", ErrUsage)
	}
	return runConfigCheck(env, args[1:])
}

const configCheckHelp = `
Validate a configuration directory (platform.yaml and tenants/*.yaml) as the
gateway would load it, including the certificate and WAF rule files it names
and, for routes in block mode, the INV-4 ledger in the state directory (is
the rule set's detection period over?), and print
each route's effective settings once the platform's defaults apply. Every
problem is listed with its file, line, column and field. Exit status: 0 valid,
1 invalid, 2 usage. Nothing is written: no development CA is created.`

func runConfigCheck(env Env, args []string) error {
	fs := flags(env, "config check", "bulwark config check [--state-dir DIR] CONFIG_DIR", configCheckHelp)
	stateDir := fs.String("state-dir", "", "state directory whose WAF ledger decides whether block mode is allowed yet (default: state_dir in platform.yaml)")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	dir, err := oneArg(env, fs, "configuration directory")
	if err != nil {
		return err
	}
	cfg, err := config.LoadDir(dir)
	if err == nil {
		err = gateway.Check(cfg, *stateDir)
	}
	if err != nil {
		return err
	}
	fmt.Fprint(env.Stdout, cfg.Summary())
	fmt.Fprintf(env.Stdout, "\n%s: configuration is valid\n", dir)
	return nil
}
