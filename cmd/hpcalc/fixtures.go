package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures/synth"
)

const fixturesHelp = `Usage: hpcalc fixtures <command> [flags]

Fixtures makes synthetic data sets like the shipped fixtures (see fixtures/README.md).

Commands:
  scale    write a province-sized synthetic population, its providers and its claims

Run "hpcalc fixtures scale --help" for its flags.
`

func runFixtures(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, fixturesHelp)
		return errUsage
	}
	switch args[0] {
	case "scale":
		return runFixturesScale(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, fixturesHelp)
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "hpcalc fixtures: unknown command %q\n\n%s", args[0], fixturesHelp)
	return errUsage
}

var fixturesScaleHelp = fmt.Sprintf(`
Scale writes persons.csv, providers.csv and claims.csv into --dir: a population of
--persons registered poor persons with the make-up of the shipped one (households
N×195/778, dibao N×422/778 in whole households, tekun N×7/778 living alone), the shipped
providers, and the persons' claims discharged 2018-01-01 to 2018-11-30, drawn from the
distributions of the shipped fixtures, in the same formats. Claims are in discharge order
and numbered in that order: C2018 and five digits, more when there are 100,000 claims or
more; person ids widen the same way past 99,999.

Amounts are scaled by the knobs the calibration of the shipped fixtures found (all within
0.94–1.09), or left as drawn with --uncalibrated; nothing is calibrated to published
figures, so the totals are the distributions' own. The claims average 0.666 a person and
26.5%% of persons have one: --persons %s (the default) gives about 1,000,000 claims of
about 397,000 persons (87 MB of claims, 49 MB of persons) in about 2 seconds and
100 MiB of memory.

The same --persons and --seed give the same files, byte for byte. Progress goes to stderr
every 100,000 persons. Each file is written to a temporary file in --dir and renamed into
place when all three are complete, so a failure leaves no half-written file. Replay the
result with:

  hpcalc replay --persons DIR/persons.csv --providers DIR/providers.csv --claims DIR/claims.csv`,
	groupInt(synth.MillionClaimPersons))

func runFixturesScale(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fixtures scale", fixturesScaleHelp, stdout, stderr)
	persons := fs.Int("persons", synth.MillionClaimPersons, fmt.Sprintf("`N`, the number of persons: 1 to %s", groupInt(synth.MaxScalePersons)))
	seed := fs.Uint64("seed", synth.ShippedSeed, "`SEED` of the random draws")
	dir := fs.String("dir", "", "`DIR` to write the files into, made if missing (required)")
	uncalibrated := fs.Bool("uncalibrated", false, "leave amounts as drawn instead of scaling them by the shipped calibrated knobs")
	quiet := fs.Bool("quiet", false, "print no progress")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	var problems []string
	if *dir == "" {
		problems = append(problems, "--dir is required")
	}
	if *persons < 1 || *persons > synth.MaxScalePersons {
		problems = append(problems, fmt.Sprintf("--persons must be from 1 to %s, not %d", groupInt(synth.MaxScalePersons), *persons))
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "hpcalc fixtures scale: %s\n", strings.Join(problems, "; "))
		fmt.Fprintln(stderr, `Run "hpcalc fixtures scale --help" for the flags.`)
		return errUsage
	}

	start := time.Now()
	opts := synth.ScaleOptions{Persons: *persons, Seed: *seed, Uncalibrated: *uncalibrated}
	if !*quiet {
		opts.Logf = func(format string, args ...any) {
			fmt.Fprintf(stderr, "hpcalc fixtures scale: "+format+"\n", args...)
		}
	}
	sum, err := synth.WriteScale(*dir, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s persons in %s households (%s on dibao, %s tekun), %d providers and %s claims of %s persons to %s in %s.\n",
		groupInt(sum.Persons), groupInt(sum.Households), groupInt(sum.Dibao), groupInt(sum.Tekun), len(synth.Providers()),
		groupInt(sum.Claims), groupInt(sum.Claimants), *dir, time.Since(start).Round(time.Millisecond))
	stays := 0
	var parts []string
	for _, l := range calc.Levels() {
		stays += sum.Stays[l]
		parts = append(parts, fmt.Sprintf("%s %s", l, groupInt(sum.Stays[l])))
	}
	fmt.Fprintf(stdout, "Stays: %s (%s); chronic outpatient bills: %s.\n", groupInt(stays), strings.Join(parts, ", "), groupInt(sum.Chronic))
	fmt.Fprintf(stdout, "Total cost %s yuan, %s in-policy.\n", sum.Total.Grouped(), percent(sum.InPolicy, sum.Total))
	return nil
}

// groupInt formats n with thousands separators: 1,500,000.
func groupInt(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
