package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
)

const whatifHelp = `
Whatif shows what a policy change would have cost. It settles the claims twice — under the
base policy and under the base with the change applied — and prints both totals per line,
the difference, the difference by --group-by (level, kind, aid or household), the
households whose claims would cost the public purse most more and most less, and how many
patients would pay more.

The change is a partial policy document in YAML or JSON that overrides any parameters of
the base, e.g.

    commercial:
      in_policy_rate: 0.50

It is validated like a policy file. With no data flags the shipped 2018 claims are used.`

func runWhatif(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("whatif", whatifHelp, stdout, stderr)
	changeFile := fs.String("change", "", "the change: a partial policy `FILE` (YAML or JSON); required")
	var policyFiles repeated
	fs.Var(&policyFiles, "policy", "base policy `FILE`; repeat for several versions, the change applies to each (default: the shipped policy)")
	personsFile := fs.String("persons", "", "persons CSV `FILE` (default: the shipped persons)")
	claimsFile := fs.String("claims", "", "claims CSV `FILE` (default: the shipped claims)")
	providersFile := fs.String("providers", "", "providers CSV `FILE`; claims' providers and levels are checked against it (default: the shipped providers, when the claims are the shipped ones)")
	groupBy := fs.String("group-by", "level", "group the differences by `KEY`: level, kind, aid or household")
	top := fs.Int("top", 5, "how many households to list with the largest change each way")
	sweep := fs.String("sweep", "", "instead of --change, vary one parameter of each base version over a range (at most 100 steps, as the API) and print each line's cost at each step: `FIELD=FROM:TO:STEP`, e.g. backstop.oop_ceiling=0.05:0.15:0.01")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *sweep != "" {
		return runSweep(*sweep, policyFiles, *personsFile, *providersFile, *claimsFile, stdout)
	}
	if *changeFile == "" {
		fmt.Fprintln(stderr, "hpcalc whatif: --change FILE or --sweep is required")
		fs.Usage()
		return errUsage
	}
	if !slices.Contains([]string{"level", "kind", "aid", "household"}, *groupBy) {
		return fmt.Errorf("--group-by %q: want level, kind, aid or household", *groupBy)
	}
	change, err := os.ReadFile(*changeFile)
	if err != nil {
		return err
	}
	limit := limitMemory(*claimsFile, *personsFile)
	defer limit.Restore()
	in, err := loadReplayInput(policyFiles, *personsFile, *providersFile, *claimsFile, limit.PersonsFirst)
	if err != nil {
		return err
	}
	base, err := baseOf(in, policyFiles)
	if err != nil {
		return err
	}
	scenario, err := ops.ApplyChange(base, *changeFile, change)
	if ce := (*ops.ChangeError)(nil); errors.As(err, &ce) && ce.Version == "" {
		return fmt.Errorf("the changed policies: %w", ce.Err)
	}
	if err != nil {
		return err
	}
	opt := batch.Options{}
	if *groupBy != "household" {
		opt.TopHouseholds = max(*top, 1)
	}
	w, err := batch.RunWhatIf(in.set, in.policies, scenario, opt)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	writeWhatIf(&out, *changeFile, in, w, *groupBy, *top)
	_, err = stdout.Write(out.Bytes())
	return err
}

// memoryLimit is the soft limit on the Go runtime's memory that limitMemory set for a run
// over a claims file and a persons file.
//
// Without a limit the garbage collector lets the heap grow to twice what was live at its
// last cycle: the what-if's heap reached 250 MiB, its resident set 330 MiB, because the
// columns the Builder lets go are collected only when the heap reaches twice the 128 MiB
// live at the cycle before. With it, the heap grows to the limit before its first
// collection (see limitMemory), so that the limit is about the memory a run touches, each
// page of it a page fault. It is 64 MiB plus the claims file's size plus half the persons
// file's: files read claims first (ops.ReadClaimTable) keep the claims whole, in columns,
// but of the persons only those with claims, a quarter of a province's register (with the
// whole persons file's size in the limit, the what-if of a province's files touched 220 MB
// rather than 190, and the runs just after the pandas peer had freed its memory took
// 0.58-0.85 s rather than 0.56-0.70 s). Files read persons first (out of id order) hold
// an index of every person: PersonsFirst raises the limit by the other half of the persons
// file (below what is live, the collector ran fourteen times in a row and a what-if of a
// shuffled claims file took twice as long). It is a soft limit: above it the collector
// works harder, it never fails an allocation.
type memoryLimit struct {
	set          bool  // limitMemory set a limit
	before       int64 // the limit before
	personsFirst int64 // the limit for files read persons first
	restoreGC    func()
}

// limitMemory sets a soft limit on the Go runtime's memory for a run over the claims and
// persons files named (see memoryLimit), with room for each file of whole, which the run
// keeps in full as it keeps the claims (an audit's paid file), unless GOMEMLIMIT sets one.
// Shipped files (empty names) are small, and a file that cannot be read will fail the
// run: no limit. Restore puts back the limit before.
func limitMemory(claimsFile, personsFile string, whole ...string) *memoryLimit {
	m := &memoryLimit{restoreGC: func() {}}
	if os.Getenv("GOMEMLIMIT") != "" || claimsFile == "" || personsFile == "" {
		return m
	}
	files := append([]string{claimsFile, personsFile}, whole...)
	sizes := make([]int64, len(files))
	for i, name := range files {
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() {
			return m
		}
		sizes[i] = fi.Size()
	}
	size := 64<<20 + sizes[0] + sizes[1]/2
	for _, extra := range sizes[2:] {
		size += extra
	}
	m.set, m.personsFirst = true, size+sizes[1]-sizes[1]/2
	m.before = debug.SetMemoryLimit(size)
	// The heap's addresses spread past the limit (memory the collector has freed but not
	// yet reused, and the scavenger's returned pages, lie between live objects): with
	// only the limit's size of huge pages a what-if of a province's files still took
	// 16,000 small-page faults, with half as much again 3,300-4,800. Reserving is only
	// address space: memory is used as the heap touches it.
	reserveHugePages(m.personsFirst + m.personsFirst/2)
	// The limit alone, not the heap's growth, starts a collection, unless GOGC says
	// otherwise: while the heap grows from nothing to the limit, a collection each time it
	// doubled (seven of them while the persons were read) scanned what was live for
	// nothing, 0.1 s of a 1.1 s what-if, the peak staying where the limit keeps it.
	if os.Getenv("GOGC") == "" {
		percent := debug.SetGCPercent(-1)
		m.restoreGC = func() { debug.SetGCPercent(percent) }
	}
	return m
}

// PersonsFirst raises the limit for files read persons first: ops.ReadOptions'
// BeforePersonsFirst.
func (m *memoryLimit) PersonsFirst() {
	if m.set {
		debug.SetMemoryLimit(m.personsFirst)
	}
}

// Restore puts back the limit and the collector's setting from before limitMemory.
func (m *memoryLimit) Restore() {
	m.restoreGC()
	if m.set {
		debug.SetMemoryLimit(m.before)
	}
}

func public(t *calc.Tally) calc.Money { return t.Total - t.OutOfPocket }

func writeWhatIf(w io.Writer, change string, in *replayInput, r *batch.WhatIf, groupBy string, top int) {
	fmt.Fprintf(w, "What if %s applied to %s: %d claims of %d persons\n\n", change, in.policyDesc, in.set.Len(), len(in.set.Persons))
	fmt.Fprintf(w, "%-16s %16s %16s %14s\n", "", "baseline", "scenario", "change")
	b, s := &r.Base.All, &r.Scenario.All
	for _, l := range calc.Lines() {
		fmt.Fprintf(w, "%-16s %16s %16s %14s\n", fmt.Sprintf("%d %s", int(l)+1, l), b.Lines[l].Grouped(), s.Lines[l].Grouped(), signed(s.Lines[l]-b.Lines[l]))
	}
	fmt.Fprintf(w, "%-16s %16s %16s %14s\n", "public (1-5)", public(b).Grouped(), public(s).Grouped(), signed(public(s)-public(b)))
	fmt.Fprintf(w, "%-16s %16s %16s %14s\n", "out-of-pocket", b.OutOfPocket.Grouped(), s.OutOfPocket.Grouped(), signed(s.OutOfPocket-b.OutOfPocket))

	fmt.Fprintf(w, "\nChange in public cost and out-of-pocket by %s:\n", groupBy)
	group := func(name string, bt, st *calc.Tally) {
		fmt.Fprintf(w, "  %-16s public %14s  out-of-pocket %14s\n", name, signed(public(st)-public(bt)), signed(st.OutOfPocket-bt.OutOfPocket))
	}
	switch groupBy {
	case "level":
		for _, l := range calc.Levels() {
			group(l.String(), &r.Base.ByLevel[l], &r.Scenario.ByLevel[l])
		}
	case "kind":
		for _, k := range calc.Kinds() {
			group(k.String(), &r.Base.ByKind[k], &r.Scenario.ByKind[k])
		}
	case "aid":
		for a := range calc.NumAidCategories {
			group(a.String(), &r.Base.ByAid[a], &r.Scenario.ByAid[a])
		}
	case "household":
		for i := range r.Households {
			h := &r.Households[i]
			fmt.Fprintf(w, "  %-16s public %14s  out-of-pocket %14s ", h.ID, signed(h.PublicDelta()), signed(h.OOPDelta()))
			for _, l := range calc.Lines() {
				fmt.Fprintf(w, " %s %s", l, signed(h.LineDelta(l)))
			}
			fmt.Fprintln(w)
		}
	}
	if n := min(top, len(r.Households)); n > 0 && groupBy != "household" {
		list := func(title string, hs []batch.HouseholdChange, keep func(calc.Money) bool) {
			fmt.Fprintf(w, "\n%s:\n", title)
			shown := 0
			for _, h := range hs {
				if shown < n && keep(h.PublicDelta()) {
					fmt.Fprintf(w, "  %-16s public %14s  out-of-pocket %14s\n", h.ID, signed(h.PublicDelta()), signed(h.OOPDelta()))
					shown++
				}
			}
			if shown == 0 {
				fmt.Fprintln(w, "  none")
			}
		}
		list("Households whose claims would cost the public most more", r.Households, func(d calc.Money) bool { return d > 0 })
		reversed := slices.Clone(r.Households)
		slices.Reverse(reversed)
		list("Households whose claims would cost the public most less", reversed, func(d calc.Money) bool { return d < 0 })
	}
	fmt.Fprintf(w, "\n%d patients would pay more out of pocket, %d less.\n", r.PayMore, r.PayLess)
}

// signed formats a change with its sign.
func signed(m calc.Money) string {
	if m > 0 {
		return "+" + m.Grouped()
	}
	return m.Grouped()
}

// baseOf returns the base versions of a what-if with their documents: the files given
// with --policy, or the shipped policy.
func baseOf(in *replayInput, policyFiles []string) (ops.Base, error) {
	docs := map[string][]byte{}
	if len(policyFiles) == 0 {
		raw, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
		if err != nil {
			return ops.Base{}, err
		}
		docs[in.policies.Policies()[0].Version] = raw
	}
	for _, path := range policyFiles {
		raw, err := os.ReadFile(path)
		if err != nil {
			return ops.Base{}, err
		}
		p, err := policyfile.Parse(path, raw)
		if err != nil {
			return ops.Base{}, err
		}
		docs[p.Version] = raw
	}
	base := ops.Base{Policies: in.policies}
	for _, p := range in.policies.Policies() {
		base.Documents = append(base.Documents, docs[p.Version])
	}
	return base, nil
}

// runSweep runs one what-if per step of a parameter's range and prints the cost of each
// line at each step, as CSV for plotting.
func runSweep(spec string, policyFiles []string, personsFile, providersFile, claimsFile string, stdout io.Writer) error {
	field, rng, ok := strings.Cut(spec, "=")
	parts := strings.Split(rng, ":")
	if !ok || field == "" || len(parts) != 3 {
		return fmt.Errorf("--sweep %q: want FIELD=FROM:TO:STEP, e.g. backstop.oop_ceiling=0.05:0.15:0.01", spec)
	}
	if err := ops.CheckParameter(field); err != nil {
		return fmt.Errorf("--sweep %s: %w", field, err)
	}
	values, err := ops.SweepValues(parts[0], parts[1], parts[2])
	if err != nil {
		return fmt.Errorf("--sweep %s=%s: %w", field, rng, err)
	}
	in, err := loadReplayInput(policyFiles, personsFile, providersFile, claimsFile, nil)
	if err != nil {
		return err
	}
	base, err := baseOf(in, policyFiles)
	if err != nil {
		return err
	}
	steps, err := ops.Sweep(in.set, base, field, values, "--sweep ")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cw := csv.NewWriter(&out)
	header := []string{field}
	for _, l := range calc.Lines() {
		header = append(header, l.String())
	}
	_ = cw.Write(append(header, "public", "out_of_pocket"))
	for _, st := range steps {
		row := []string{st.Value.Decimal()}
		for _, l := range calc.Lines() {
			row = append(row, st.Tally.Lines[l].String())
		}
		_ = cw.Write(append(row, public(&st.Tally).String(), st.Tally.OutOfPocket.String()))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	_, err = stdout.Write(out.Bytes())
	return err
}
