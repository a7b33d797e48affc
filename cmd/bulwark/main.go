// Command bulwark is the Bulwark tenant-security platform: the gateway,
// the network-policy compiler and the auditor in one binary.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/bulwark-sec/bulwark/internal/cli"
)

func main() {
	err := cli.Run(cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	switch {
	case err == nil:
	case errors.Is(err, cli.ErrUsage):
		fmt.Fprintln(os.Stderr, "bulwark:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "bulwark:", err)
		os.Exit(1)
	}
}
