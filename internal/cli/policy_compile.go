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

  kubernetes   networking.k8s.io/v1 NetworkPolicies, one file per tenant
               namespace: default deny, DNS, gateway ingress to declared
               ports, platform namespaces, declared cross-tenant paths,
               the internet egress allowlist.

The Calico and AdminNetworkPolicy flavors (guardrails tenants cannot
override, INV-8) are not built yet and are refused.`

func runPolicyCompile(env Env, args []string) error {
	fs := flags(env, "policy compile", "bulwark policy compile --flavor kubernetes --out OUTDIR CONFIG_DIR", policyCompileHelp)
	flavor := fs.String("flavor", "kubernetes", "manifest flavor: kubernetes")
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
	if *flavor != "kubernetes" {
		return fmt.Errorf("%w: --flavor %q is not built yet; expected kubernetes", ErrUsage, *flavor)
	}
	cfg, err := config.LoadDir(dir)
	if err != nil {
		return err
	}
	files, err := compile.Kubernetes(cfg)
	if err != nil {
		return err
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
