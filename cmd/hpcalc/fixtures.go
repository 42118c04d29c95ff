package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/fixtures/synth"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
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
Scale draws a population of --persons registered poor persons with the make-up of the
shipped one (households N×195/778, dibao N×422/778 in whole households, tekun N×7/778
living alone), the shipped providers, and the persons' claims discharged 2018-01-01 to
2018-11-30, drawn from the distributions of the shipped fixtures. It writes them as files
into --dir, or settles them and stores them in the database at --database-url; give one
of the two.

Amounts are scaled by the knobs the calibration of the shipped fixtures found (all within
0.94–1.09), or left as drawn with --uncalibrated; nothing is calibrated to published
figures, so the totals are the distributions' own. The claims average 0.666 a person and
26.5%% of persons have one: --persons %s (the default) gives about 1,000,000 claims of
about 397,000 persons, written as files (87 MB of claims, 49 MB of persons) in about
2 seconds and 100 MiB of memory.

The same --persons and --seed give the same data: the same files, byte for byte, or the
same rows but for the stamps of when they were stored. Progress goes to stderr every
100,000 persons or rows (none with --quiet).

--dir writes persons.csv, providers.csv and claims.csv in the formats of the shipped files.
Claims are in discharge order and numbered in that order: C2018 and five digits, more
when there are 100,000 claims or more; person ids widen the same way past 99,999. Each
file is written to a temporary file in --dir and renamed into place when all three are
complete, so a failure leaves no half-written file. Replay the result with:

  hpcalc replay --persons DIR/persons.csv --providers DIR/providers.csv --claims DIR/claims.csv

--paid-faults SHARE (with --dir) also writes paid.csv, what a legacy system with faults
paid on each claim (the columns replay --out writes, in the claims' order), and
planted.csv, the claims it paid wrongly on purpose and the kind of each (claim_id,kind).
Each claim is drawn with probability SHARE (0 to 1, from --seed); a drawn claim takes the
next of the kinds deductible, rate, cap_not_applied, cap_early and not_eligible in turn,
or the one after when that kind cannot change what the claim is paid (a cap that cuts
nothing, a person who already has an aid category), and the legacy system settles it
breaking that rule: basic with the deductible of another level; basic at the rate of
another kind or level, or a critical-illness band at another band's rate; a line's cap
that cut it not applied; a line cut at a smaller cap of the policy; aid to a person
without an aid category (scale persons are all registered poor, so commercial insurance
or the backstop to a person who is not never occurs). A fault that would pay what the
rules give, or what a fault of another kind would pay, is not planted. The legacy system
settles each person's claims against the ledger its own amounts built, so the later
claims of a faulty claim's year may differ too: those are knock-ons, not planted. Caps
cut few claims, so cap_not_applied is rare (none at --persons 20000 and a share of 0.02).
hpcalc audit --claims DIR/claims.csv --persons DIR/persons.csv --paid DIR/paid.csv finds
them.

--database-url takes a SQLite file path (created if missing) or a postgres:// URL, as
serve does (but not from DATABASE_URL), and migrates the database. If it has no published
policy, the shipped pingxiang-2018 is published first (and stays published should the
import then be refused); if it has some, they are used as they are, and must cover every
day from 2018-01-01 to 2018-11-30. It then stores, in one transaction, the persons, the
providers, the claims, each claim settled in its person's discharge order under the
policy in force as POST /v1/settlements would have settled it (settlement id "S" and
the claim id), and the persons' ledgers, and prints what the five lines paid. It stores
nothing unless it stores everything, and refuses a database that holds claims (before it
publishes or draws anything) or any of the persons; providers already stored must equal
the shipped ones. The default size
takes about 700 MB of memory and 2 to 2.5 GB of database (mostly each settlement's
workings, stored as the API stores them). Check the result with:

  hpcalc audit --database-url URL --from 2018-01-01 --to 2018-12-31`,
	groupInt(synth.MillionClaimPersons))

func runFixturesScale(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fixtures scale", fixturesScaleHelp, stdout, stderr)
	persons := fs.Int("persons", synth.MillionClaimPersons, fmt.Sprintf("`N`, the number of persons: 1 to %s", groupInt(synth.MaxScalePersons)))
	seed := fs.Uint64("seed", synth.ShippedSeed, "`SEED` of the random draws")
	dir := fs.String("dir", "", "`DIR` to write the files into, made if missing")
	databaseURL := fs.String("database-url", "", "`URL` of the database to settle the claims into: PostgreSQL (postgres://...) or a SQLite file path")
	uncalibrated := fs.Bool("uncalibrated", false, "leave amounts as drawn instead of scaling them by the shipped calibrated knobs")
	quiet := fs.Bool("quiet", false, "print no progress")
	paidFaults := fs.Float64("paid-faults", -1, "with --dir, also write paid.csv as a legacy system paid the claims, a `SHARE` (0 to 1) of them paid wrongly, and planted.csv listing those")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	var problems []string
	if *paidFaults != -1 && (*paidFaults < 0 || *paidFaults > 1 || *dir == "") {
		problems = append(problems, fmt.Sprintf("--paid-faults takes a share from 0 to 1, with --dir, not %g", *paidFaults))
	}
	switch {
	case *dir == "" && *databaseURL == "":
		problems = append(problems, "give --dir or --database-url")
	case *dir != "" && *databaseURL != "":
		problems = append(problems, "give --dir or --database-url, not both")
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
	if *databaseURL != "" {
		return scaleIntoDatabase(context.Background(), *databaseURL, opts, *quiet, stdout, stderr)
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
	if *paidFaults >= 0 {
		return writeLegacyPaid(*dir, *paidFaults, *seed, stdout)
	}
	return nil
}

// writeLegacyPaid settles the claims written to dir as a legacy system with faults paid
// them, and writes paid.csv and planted.csv.
func writeLegacyPaid(dir string, share float64, seed uint64, stdout io.Writer) error {
	in, err := loadReplayInput(nil, filepath.Join(dir, "persons.csv"), filepath.Join(dir, "providers.csv"), filepath.Join(dir, "claims.csv"), nil)
	if err != nil {
		return err
	}
	rows, planted, err := synth.LegacyPaid(in.set, in.policies, share, seed)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "paid.csv"), func(w io.Writer) error { return csvdata.WriteSettlementRows(w, rows) }); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "planted.csv"), func(w io.Writer) error { return synth.WritePlanted(w, planted) }); err != nil {
		return err
	}
	count := map[batch.CauseKind]int{}
	for _, p := range planted {
		count[p.Kind]++
	}
	var parts []string
	for _, k := range synth.PlantedKinds {
		parts = append(parts, fmt.Sprintf("%s %s", k, groupInt(count[k])))
	}
	fmt.Fprintf(stdout, "Wrote paid.csv, %s claims paid wrongly on purpose (%s), listed in planted.csv.\n", groupInt(len(planted)), strings.Join(parts, ", "))
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

// scaleIntoDatabase draws the scaled data set, settles it and stores it in the database
// at url (see fixturesScaleHelp).
// importer is what fixtures scale --database-url needs of ops.
type importer interface {
	Import(ctx context.Context, in ops.Import, progress func(ops.Progress)) (ops.ImportStats, error)
}

var _ importer = (*ops.Service)(nil)

func scaleIntoDatabase(ctx context.Context, url string, opts synth.ScaleOptions, quiet bool, stdout, stderr io.Writer) error {
	start := time.Now()
	logf := func(format string, args ...any) {
		if !quiet {
			fmt.Fprintf(stderr, "hpcalc fixtures scale: "+format+"\n", args...)
		}
	}
	notes := stderr
	if quiet {
		notes = io.Discard
	}
	s, err := (&storeFlags{databaseURL: url}).open(ctx, notes)
	if err != nil {
		return err
	}
	defer s.Close()
	// Refuse a database with claims before publishing anything or drawing a million claims.
	if err := s.CheckImportable(ctx); err != nil {
		return err
	}
	policies, err := ensureScalePolicy(ctx, s, logf)
	if err != nil {
		return err
	}
	// Refuse now rather than after drawing a million claims.
	period := synth.Shipped(opts.Seed)
	for d := period.From; d <= period.To; d++ {
		if policies.At(d) == nil {
			return fmt.Errorf("--database-url: no published policy is in force on %s; the claims are discharged %s to %s: %w",
				d, period.From, period.To, calc.ErrNoPolicy)
		}
	}

	persons, claims, err := drawScale(opts)
	if err != nil {
		return err
	}
	logf("drew %s persons and %s claims, %s; settling and storing them", groupInt(len(persons)), groupInt(len(claims)),
		time.Since(start).Round(time.Millisecond))
	var nextNote time.Time
	var o importer = ops.New(s)
	stats, err := o.Import(ctx, ops.Import{Persons: persons, Providers: synth.Providers(), Claims: claims},
		func(p ops.Progress) {
			// The end of each stage, and a report every few seconds within one.
			if p.Done == p.Total || p.Done > 0 && time.Now().After(nextNote) {
				logf("%s: %s of %s stored, %s", p.Stage, groupInt(p.Done), groupInt(p.Total), time.Since(start).Round(time.Millisecond))
				nextNote = time.Now().Add(5 * time.Second)
			}
		})
	if err != nil {
		return err
	}
	t := stats.Tally
	var lines []string
	for _, l := range calc.Lines() {
		lines = append(lines, fmt.Sprintf("%s %s", l, t.Lines[l].Grouped()))
	}
	fmt.Fprintf(stdout, "Stored in the %s database %s persons, %d providers and %s claims of %s persons, settled under %s, in %s: total cost %s; %s; out-of-pocket %s.\n",
		s.Dialect(), groupInt(stats.Persons), len(synth.Providers()), groupInt(stats.Claims), groupInt(stats.Claimants),
		strings.Join(stats.Versions, " and "), time.Since(start).Round(time.Millisecond), t.Total.Grouped(),
		strings.Join(lines, ", "), t.OutOfPocket.Grouped())
	return nil
}

// ensureScalePolicy publishes the shipped policy into a database that has none, and
// returns the published policies.
func ensureScalePolicy(ctx context.Context, s *store.Store, logf func(string, ...any)) (*calc.PolicySet, error) {
	policies, err := s.Policies(ctx)
	if err != nil {
		return nil, err
	}
	if len(policies.Policies()) > 0 {
		return policies, nil
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		return nil, err
	}
	p, err := policyfile.Parse(fixtures.PolicyFile, doc)
	if err != nil {
		return nil, err
	}
	if err := s.PublishPolicy(ctx, p, doc); err != nil {
		return nil, err
	}
	logf("published the shipped policy %s: the database had none", p.Version)
	return s.Policies(ctx)
}

// drawScale runs synth.Scale and reads what it writes back into values as it comes: the
// persons while they are drawn, then the claims. Only the values are held, not the text.
func drawScale(opts synth.ScaleOptions) ([]calc.Person, []calc.Claim, error) {
	pr, pw := io.Pipe()
	cr, cw := io.Pipe()
	go func() {
		_, err := synth.Scale(opts, pw, cw)
		if err == nil {
			err = io.EOF // the readers see the end of their file
		}
		pw.CloseWithError(err)
		cw.CloseWithError(err)
	}()
	var (
		persons []calc.Person
		perr    error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		persons, perr = readScalePersons(pr, opts.Persons)
		if perr != nil {
			pr.CloseWithError(perr) // stops Scale, and with it the claims
		}
	}()
	claims, cerr := readScaleClaims(cr, opts.Persons*3/4)
	if cerr != nil {
		cr.CloseWithError(cerr)
	}
	<-done
	if err := cmp.Or(perr, cerr); err != nil {
		return nil, nil, fmt.Errorf("draw the data set: %w", err)
	}
	return persons, claims, nil
}

// scaleTable reads a CSV file that synth writes, by its header names.
type scaleTable struct {
	file string
	r    *csv.Reader
	col  map[string]int
	rec  []string
}

func newScaleTable(file string, r io.Reader, columns []string) (*scaleTable, error) {
	t := &scaleTable{file: file, r: csv.NewReader(bufio.NewReaderSize(r, 1<<16)), col: map[string]int{}}
	t.r.ReuseRecord = true
	header, err := t.r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", file, err)
	}
	for i, h := range header {
		t.col[h] = i
	}
	for _, c := range columns {
		if _, ok := t.col[c]; !ok {
			return nil, fmt.Errorf("%s: header %v lacks column %s", file, header, c)
		}
	}
	return t, nil
}

// next reads a row; it returns false at the end of the file.
func (t *scaleTable) next() (bool, error) {
	rec, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", t.file, err)
	}
	t.rec = rec
	return true, nil
}

// get is the current row's column; a clone, so that the values kept do not hold on to
// the whole line the CSV reader read.
func (t *scaleTable) get(column string) string { return strings.Clone(t.rec[t.col[column]]) }

func (t *scaleTable) fail(column string, err error) error {
	line, _ := t.r.FieldPos(t.col[column])
	return fmt.Errorf("%s:%d: %s: %w", t.file, line, column, err)
}

func readScalePersons(r io.Reader, n int) ([]calc.Person, error) {
	t, err := newScaleTable(fixtures.PersonsFile, r, csvdata.PersonColumns)
	if err != nil {
		return nil, err
	}
	out := make([]calc.Person, 0, n)
	for {
		ok, err := t.next()
		if err != nil || !ok {
			return out, err
		}
		p := calc.Person{ID: t.get("person_id"), HouseholdID: t.get("household_id")}
		if p.RegisteredPoor, err = strconv.ParseBool(t.rec[t.col["registered_poor"]]); err != nil {
			return nil, t.fail("registered_poor", err)
		}
		if p.Aid, err = calc.ParseAidCategory(t.rec[t.col["aid_category"]]); err != nil {
			return nil, t.fail("aid_category", err)
		}
		out = append(out, p)
	}
}

func readScaleClaims(r io.Reader, n int) ([]calc.Claim, error) {
	t, err := newScaleTable(fixtures.ClaimsFile, r, csvdata.ClaimColumns)
	if err != nil {
		return nil, err
	}
	providers := map[string]string{} // one string per provider id
	out := make([]calc.Claim, 0, n)
	for {
		ok, err := t.next()
		if err != nil || !ok {
			return out, err
		}
		c := calc.Claim{ID: t.get("claim_id"), PersonID: t.get("person_id")}
		id := t.rec[t.col["provider_id"]]
		if c.ProviderID = providers[id]; c.ProviderID == "" {
			c.ProviderID = strings.Clone(id)
			providers[c.ProviderID] = c.ProviderID
		}
		var errs [6]error
		c.Level, errs[0] = calc.ParseLevel(t.rec[t.col["level"]])
		c.Kind, errs[1] = calc.ParseKind(t.rec[t.col["kind"]])
		c.AdmittedOn, errs[2] = calc.ParseDate(t.rec[t.col["admitted_on"]])
		c.DischargedOn, errs[3] = calc.ParseDate(t.rec[t.col["discharged_on"]])
		c.Total, errs[4] = calc.ParseMoney(t.rec[t.col["total"]])
		c.InPolicy, errs[5] = calc.ParseMoney(t.rec[t.col["in_policy"]])
		for i, column := range []string{"level", "kind", "admitted_on", "discharged_on", "total", "in_policy"} {
			if errs[i] != nil {
				return nil, t.fail(column, errs[i])
			}
		}
		out = append(out, c)
	}
}
