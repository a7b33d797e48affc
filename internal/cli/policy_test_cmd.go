package cli

import (
	"errors"
	"fmt"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/policy/expect"
	"github.com/bulwark-sec/bulwark/internal/policy/load"
)

const policyTestHelp = `
Check reachability expectations (a YAML file: see below) against Kubernetes
manifests (files, or directories walked for *.yaml, *.yml and *.json), with
the simulator's semantics, and print a table: each expectation PASS, FAIL
or ERROR, and for each failure the first offending connections with the
policy and rule that decided them. Every flavor 'bulwark policy compile'
writes is evaluated: NetworkPolicies alone (exact Kubernetes semantics,
the same answers as without the others), and Calico tiers
(projectcalico.org/v3 Tier, NetworkPolicy, GlobalNetworkPolicy) and
AdminNetworkPolicy/BaselineAdminNetworkPolicy layered around them.

  expectations:
    - name: "cross-namespace probes fail by default (RFC 2.5.1)"
      from: {namespace: probe}      # or {tenant: T}, {tenants: all}, {pod: NS/NAME}, {external: IP}
      to:   {tenants: all}
      port: any                     # or PORT[/PROTO]; any = every port the destination pods declare
      expect: deny                  # deny: every pair denied; allow: every pair allowed

A tenant's namespaces are those of the tenant registry in CONFIG_DIR's
platform.yaml (--config) and those whose Namespace manifest carries the
label bulwark.io/tenant: TENANT; both count, and a namespace they give to
different tenants is an error.

Manifests are loaded as by 'bulwark policy simulate', with the same
refusals: a policy that cannot be read or is of a kind the simulator does
not evaluate yet (staged Calico policies, v1alpha2 ClusterNetworkPolicy)
means no answer.
Exit status: 0 every expectation holds, 1 one does not (or no answer), 2 usage.`

// errExpectations is returned when an expectation does not hold.
var errExpectations = errors.New("expectations failed")

func runPolicyTest(env Env, args []string) error {
	fs := flags(env, "policy test", "bulwark policy test [--config CONFIG_DIR] EXPECTATIONS.yaml MANIFESTS...", policyTestHelp)
	configDir := fs.String("config", "", "configuration directory whose tenant registry (platform.yaml) maps tenants to namespaces")
	shown := fs.Int("show", 5, "offending connections shown per failed expectation")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.SetOutput(env.Stderr)
		fs.Usage()
		return fmt.Errorf("%w: expected an expectations file and manifest files or directories", ErrUsage)
	}
	for _, a := range fs.Args() {
		if len(a) > 1 && a[0] == '-' {
			return fmt.Errorf("%w: flag %s after the files: flags come first", ErrUsage, a)
		}
	}
	exps, err := expect.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var registry map[string][]string
	if *configDir != "" {
		cfg, err := config.LoadDir(*configDir)
		if err != nil {
			return err
		}
		registry = map[string][]string{}
		for name, t := range cfg.Platform.Tenants {
			registry[name] = t.Namespaces
		}
	}
	c, err := loadWith(env, "policy test", fs.Args()[1:], load.Tiered)
	if err != nil {
		return err
	}
	tenants, err := expect.TenantsOf(registry, &c.Cluster)
	if err != nil {
		return fmt.Errorf("policy test: %w", err)
	}
	failed, err := expect.Write(env.Stdout, expect.CheckTiered(c, tenants, exps), *shown)
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("policy test: %d of %d %w", failed, len(exps), errExpectations)
	}
	return nil
}
