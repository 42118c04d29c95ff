// Command hpcalc settles medical bills of registered poor households through the five
// safety lines. Run `hpcalc help` for its subcommands.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
