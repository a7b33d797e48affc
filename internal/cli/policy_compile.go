package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/bulwark-sec/bulwark/internal/policy/compile"
)

const policyCompileHelp = `
Compile the tenant network declarations of a configuration directory
(platform.yaml's network section and each tenant file's network section)
into policy manifests under OUTDIR, deterministically. Flavors:

  kubernetes          networking.k8s.io/v1 NetworkPolicies, one file per
                      tenant namespace (kubernetes/): default deny, DNS,
                      gateway ingress to declared ports, platform
                      namespaces, declared cross-tenant paths, the internet
                      egress allowlist.
  calico              the kubernetes flavor, plus guardrails tenants cannot
                      override (INV-8) in calico/platform.yaml: a Calico
                      tier "platform" (order 100, before the default tier)
                      whose GlobalNetworkPolicies deny egress to the
                      forbidden CIDRs and deny ingress from other
                      namespaces' pods, passing the declared sources
                      (own namespaces, gateway, platform namespaces,
                      granted tenants) to the NetworkPolicies.
  adminnetworkpolicy  the kubernetes flavor, plus the same guardrails as
                      AdminNetworkPolicies and a BaselineAdminNetworkPolicy
                      "default" denying what no NetworkPolicy decides
                      (adminnetworkpolicy/); with --cnp-v1alpha2, as
                      v1alpha2 ClusterNetworkPolicies in the Admin and
                      Baseline tiers instead (clusternetworkpolicy/).

The guardrail flavors also write rbac/: per tenant a Role and RoleBinding
in its namespaces for the group bulwark:tenant:NAME (NetworkPolicies only),
and a ClusterRole and binding for bulwark:platform over the guardrail kinds.`

func runPolicyCompile(env Env, args []string) error {
	fs := flags(env, "policy compile", "bulwark policy compile --flavor kubernetes|calico|adminnetworkpolicy [--cnp-v1alpha2] --out OUTDIR CONFIG_DIR", policyCompileHelp)
	flavor := fs.String("flavor", "kubernetes", "manifest flavor: kubernetes, calico or adminnetworkpolicy")
	cnp := fs.Bool("cnp-v1alpha2", false, "adminnetworkpolicy flavor: write v1alpha2 ClusterNetworkPolicies instead of v1alpha1 kinds")
	out := fs.String("out", "", "output directory (required)")
	if done, err := parse(env, fs, args); done || err != nil {
		return err
	}
	dir, err := oneArg(env, fs, "configuration directory")
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", ErrUsage)
	}
	compilers, err := flavorCompilers(*flavor, *cnp)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDir(dir)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, c := range compilers {
		compiled, err := c(cfg)
		if err != nil {
			return err
		}
		for name, data := range compiled {
			files[name] = data
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(*out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, path)
	}
	return nil
}

// compiler turns a configuration into files, path relative to OUTDIR.
type compiler func(*config.Config) (map[string][]byte, error)

// flavorCompilers is what --flavor (and --cnp-v1alpha2) write: the
// guardrail flavors add the RBAC that keeps tenants off the guardrails.
func flavorCompilers(flavor string, cnp bool) ([]compiler, error) {
	if cnp && flavor != "adminnetworkpolicy" {
		return nil, fmt.Errorf("%w: --cnp-v1alpha2 applies to --flavor adminnetworkpolicy only", ErrUsage)
	}
	switch {
	case flavor == "kubernetes":
		return []compiler{compile.Kubernetes}, nil
	case flavor == "calico":
		return []compiler{compile.Calico, compile.RBAC}, nil
	case flavor == "adminnetworkpolicy" && cnp:
		return []compiler{compile.ClusterNetworkPolicy, compile.RBAC}, nil
	case flavor == "adminnetworkpolicy":
		return []compiler{compile.AdminNetworkPolicy, compile.RBAC}, nil
	}
	return nil, fmt.Errorf("%w: --flavor %q; expected kubernetes, calico or adminnetworkpolicy", ErrUsage, flavor)
}
