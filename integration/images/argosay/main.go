// Command argosay is the entrypoint of the argoproj/argosay:v2 stand-in
// image (integration/images): a Go rewrite of the shell script Argo
// Workflows' own e2e suite runs its steps with
// (test/e2e/images/argosay/v2/argosay in argoproj/argo-workflows). Argo's
// workflows give it only args, so the image's entrypoint is /argosay and
// it must answer them as the script does:
//
//	argosay                          prints "hello argo"
//	argosay echo [TEXT [FILE]]       prints TEXT ("hello argo" without it), or
//	                                 writes it with a newline to FILE, making
//	                                 FILE's directory first
//	argosay cat FILE                 prints FILE
//	argosay assert_contains FILE S   prints the lines of FILE holding S
//	                                 (grep -F); exit 1 when none does
//	argosay sleep DURATION           sleeps: 5, 1.5s, 2m, 1h, 1d (coreutils
//	                                 sleep) or a Go duration such as 1m30s
//	argosay exit [CODE]              exits with CODE (0 without it)
//	argosay sh [FILE]                runs FILE with /bin/sh
//
// Anything else exits 1. Like the script, echo prints as dash's echo does
// (backslash escapes, "-n"), echo with more arguments does nothing and exits
// 0, and a missing argument is an error (exit 2, the script's set -u). Only
// the standard library; built static like pause.
package main

import (
	"fmt"
	"os"
)

func main() {
	code, err := argosay(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "argosay:", err)
	}
	os.Exit(code)
}
