// Command auditgen writes the synthetic GitOps repository of the audit
// benchmark (bench/audit/run.sh); see package internal/auditgen.
//
//	go run ./bench/auditgen -tenants 200 -manifests 10000 -out DIR
package main

import (
	"flag"
	"fmt"
	"log"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/auditgen"
)

func main() {
	var o auditgen.Options
	flag.IntVar(&o.Tenants, "tenants", 200, "number of tenants")
	flag.IntVar(&o.Objects, "manifests", 10000, "total Kubernetes objects to write (filled up with ConfigMaps)")
	flag.IntVar(&o.Services, "services", 5, "declared services (Deployment + Service) per tenant")
	flag.IntVar(&o.Workers, "workers", 2, "undeclared workloads (Deployment + Service) per tenant")
	flavors := flag.String("flavors", "calico", "guardrail flavors compiled besides kubernetes, comma-separated")
	out := flag.String("out", "", "directory to write (created)")
	flag.Parse()
	if *out == "" {
		log.Fatal("auditgen: -out is required")
	}
	if *flavors != "" {
		o.Flavors = strings.Split(*flavors, ",")
	}
	n, err := auditgen.Write(*out, o)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("auditgen: %d tenants, %d Kubernetes objects in %s\n", o.Tenants, n, *out)
}
