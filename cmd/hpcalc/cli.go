package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand: its name, a one-line summary, and what runs it.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"replay", "settle a year's claims from scratch and compare the totals with the published figures", runReplay},
	{"whatif", "show what a policy change would have cost, per line, level, kind, aid category and household", runWhatif},
	{"audit", "re-settle stored claims from scratch and list every difference from what was paid, and why", runAudit},
	{"import", "store claims the system before hpcalc paid, with what it paid, opening the person-year ledgers", runImport},
	{"reconcile", "settle each person-year of a period again in discharge order; with --apply, book the differences as adjustments", runReconcile},
	{"serve", "run the settlement API (SQLite ./hpcalc.db by default, or PostgreSQL)", runServe},
	{"migrate", "apply the database schema's pending migrations", runMigrate},
	{"token", "create an API token: hpcalc token create --role ROLE [--provider ID]", runToken},
	{"loadtest", "measure quotes and settlements per second on loopback against an empty handler", runLoadtest},
	{"fixtures", "write a synthetic data set of any size: hpcalc fixtures scale --persons N --dir DIR", runFixtures},
}

// errUsage marks an error whose message has been printed with the usage already.
var errUsage = errors.New("usage")

// run dispatches to a subcommand and returns the process exit status: 0 on success, 1 on
// failure, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil || errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintf(stderr, "hpcalc %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "hpcalc: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `hpcalc settles medical bills of registered poor households (建档立卡贫困户) through the
five safety lines: basic insurance, critical-illness insurance, commercial supplementary
insurance, civil-affairs aid and the government backstop.

Usage:
  hpcalc <command> [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "hpcalc <command> --help" for a command's flags.
`)
}

// newFlagSet returns a flag set whose --help prints the command's description and flags
// to stdout, and whose errors go to stderr.
func newFlagSet(name, description string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hpcalc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: hpcalc %s [flags]\n\n%s\n\nFlags:\n", name, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; --help prints usage to stdout and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return errUsage // the flag package has printed the problem and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }
