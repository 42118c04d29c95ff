package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
)

const replayHelp = `
Replay settles every claim from scratch, the way the county settles them: each person's
claims in discharge-date order (ties by claim id), each under the policy version in force
on its discharge day, with a fresh ledger per person per calendar year. It prints the total
cost, what each of the five lines paid and what patients paid, in yuan and in 万元.

With no flags it replays the shipped fixtures (the 2018 Pingxiang policy, population and
claims, built into this program) and sets each total beside the figure the county
published, saying whether they match to the fen. Flags replace any of the shipped files.

Bad input is refused, naming the file, line, column and rule; nothing is printed or
written then.`

func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", replayHelp, stdout, stderr)
	var policyFiles repeated
	fs.Var(&policyFiles, "policy", "policy `FILE` (YAML or JSON); repeat for several versions (default: the shipped "+fixtures.PolicyFile+")")
	personsFile := fs.String("persons", "", "persons CSV `FILE`, header "+strings.Join(csvdata.PersonColumns, ",")+" (default: the shipped persons)")
	providersFile := fs.String("providers", "", "providers CSV `FILE`; claims' providers and levels are checked against it (default: the shipped providers, when the claims are the shipped ones)")
	claimsFile := fs.String("claims", "", "claims CSV `FILE`, header "+strings.Join(csvdata.ClaimColumns, ",")+" (default: the shipped claims)")
	outFile := fs.String("out", "", "also write one row per claim to `FILE`: "+strings.Join(csvdata.SettlementColumns, ",")+" (yuan)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}

	in, err := loadReplayInput(policyFiles, *personsFile, *providersFile, *claimsFile, nil)
	if err != nil {
		return err
	}
	// With --out, each claim's amounts are kept by its row in the claims file.
	var rows []csvdata.SettlementRow
	opt := batch.Options{}
	if *outFile != "" {
		rows = make([]csvdata.SettlementRow, in.set.Len())
		opt.Each = func(_, r int, s *calc.Settlement) {
			row := &rows[in.set.Input[r]]
			row.ClaimID, row.OutOfPocket = s.ClaimID, s.OutOfPocket
			for l := range calc.NumLines {
				row.Lines[l] = s.Lines[l].Amount
			}
		}
	}
	res, err := batch.Run(in.set, in.policies, opt)
	if err != nil {
		return err
	}
	var report bytes.Buffer
	writeReplayReport(&report, in, &res.All)
	if *outFile != "" {
		if err := writeFileAtomic(*outFile, func(w io.Writer) error { return csvdata.WriteSettlementRows(w, rows) }); err != nil {
			return err
		}
	}
	_, err = stdout.Write(report.Bytes())
	return err
}

// replayInput is what replay and whatif settle: the claims as the bulk engine's ClaimTable and
// the policies.
type replayInput struct {
	policies   *calc.PolicySet
	set        *batch.ClaimTable
	shipped    bool // the claims are the shipped fixtures: compare with the published figures
	policyDesc string
}

// loadReplayInput reads and checks the policy, persons, providers and claims files, each
// empty name meaning the shipped file. The claims go straight into a batch.Builder, the
// persons with claims into a csvdata.ClaimantIndex (or, read persons first, every person
// into a csvdata.PersonIndex), never into a calc.Person or calc.Claim per row: that keeps
// a province's files (1,500,000 persons, 1,000,000 claims) under 200 MiB.
// The persons and claims files are read on every core (ops.ReadClaimTable), and
// beforePersonsFirst, if not nil, is called before they are read persons first.
func loadReplayInput(policyFiles []string, personsFile, providersFile, claimsFile string, beforePersonsFirst func()) (*replayInput, error) {
	ref, err := loadReference(policyFiles, "", providersFile, claimsFile, false)
	if err != nil {
		return nil, err
	}
	in := &replayInput{policies: ref.policies, shipped: claimsFile == "", policyDesc: ref.policyDesc}
	persons, personsName, err := openData(personsFile, fixtures.PersonsFile)
	if err != nil {
		return nil, err
	}
	defer persons.Close()
	if ref.providersErr != nil {
		// The persons file is read first, and its errors come first.
		if _, err := csvdata.ReadPersonIndex(personsName, persons); err != nil {
			return nil, err
		}
		return nil, ref.providersErr
	}
	// Every cross-file rule (unknown person, no policy in force, ...) names a line of
	// the claims file, even when only another file replaces a shipped one.
	f, name, err := openData(claimsFile, fixtures.ClaimsFile)
	if err != nil {
		if _, perr := csvdata.ReadPersonIndex(personsName, persons); perr != nil {
			return nil, perr
		}
		return nil, err
	}
	defer f.Close()
	checks := csvdata.ClaimChecks{Providers: ref.providers, Policies: in.policies}
	if in.set, err = ops.ReadClaimTable(personsName, persons, name, f, checks, ops.ReadOptions{BeforePersonsFirst: beforePersonsFirst}); err != nil {
		return nil, err
	}
	return in, nil
}

// reference is what claims files are settled against: the policies, the persons and the
// providers (nil: not checked).
type reference struct {
	policies   *calc.PolicySet
	policyDesc string
	persons    *csvdata.PersonIndex
	providers  map[string]csvdata.Provider
	// providersErr is the providers file's error when the persons were left to the
	// caller, whose errors come before it.
	providersErr error
}

// loadReference reads and checks the policy, persons and providers files, each empty name
// meaning the shipped file; the shipped providers are checked only against the shipped
// claims (claimsFile empty). With readPersons false it leaves the persons to the caller
// and a providers file's error in providersErr.
func loadReference(policyFiles []string, personsFile, providersFile, claimsFile string, readPersons bool) (*reference, error) {
	shipped, err := fixtures.Load()
	if err != nil {
		return nil, fmt.Errorf("load the shipped fixtures: %w", err)
	}
	in := &reference{policies: shipped.Policies}
	if len(policyFiles) > 0 {
		var list []*calc.Policy
		from := map[string]string{}
		for _, path := range policyFiles {
			p, err := policyfile.Load(path)
			if err != nil {
				return nil, err
			}
			if prev, dup := from[p.Version]; dup {
				return nil, fmt.Errorf("%s: version %s is also in %s", path, p.Version, prev)
			}
			from[p.Version] = path
			list = append(list, p)
		}
		if in.policies, err = calc.NewPolicySet(list...); err != nil {
			return nil, fmt.Errorf("policies %s: %w", strings.Join(policyFiles, ", "), err)
		}
	}
	var versions []string
	for _, p := range in.policies.Policies() {
		versions = append(versions, p.Version)
	}
	in.policyDesc = strings.Join(versions, ", ")

	if readPersons {
		in.persons, err = readData(personsFile, fixtures.PersonsFile, csvdata.ReadPersonIndex)
		if err != nil {
			return nil, err
		}
	}
	switch {
	case providersFile != "":
		list, err := readData(providersFile, "", csvdata.ReadProviders)
		if err != nil {
			if !readPersons {
				in.providersErr = err
				return in, nil
			}
			return nil, err
		}
		in.providers = make(map[string]csvdata.Provider, len(list))
		for _, p := range list {
			in.providers[p.ID] = p
		}
	case claimsFile == "":
		in.providers = shipped.Providers
	}
	return in, nil
}

// openData opens the file at path, or the shipped file named shipped when path is empty;
// name is the name its errors give it.
func openData(path, shipped string) (f io.ReadCloser, name string, err error) {
	if path == "" {
		f, err = fixtures.FS.Open(shipped)
		return f, shipped, err
	}
	f, err = os.Open(path)
	return f, path, err
}

// readData reads the file at path, or the shipped file named shipped when path is empty,
// through read.
func readData[T any](path, shipped string, read func(name string, r io.Reader) (T, error)) (T, error) {
	f, name, err := openData(path, shipped)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return read(name, f)
}

// writeFileAtomic writes a file through a temporary file in the same directory, so that a
// failure leaves no half-written file behind.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

var lineChinese = [calc.NumLines]string{"基本医疗保险", "大病保险", "商业补充保险", "民政医疗救助", "政府兜底"}

// writeReplayReport prints the replay's totals as a table.
func writeReplayReport(w io.Writer, in *replayInput, t *calc.Tally) {
	var first, last calc.Date
	if len(in.set.Discharged) > 0 {
		first, last = slices.Min(in.set.Discharged), slices.Max(in.set.Discharged)
	}
	fmt.Fprintf(w, "Replay of %d claims of %d persons", t.Claims, len(in.set.Persons))
	if t.Claims > 0 {
		fmt.Fprintf(w, ", discharged %s to %s", first, last)
	}
	fmt.Fprintf(w, ", under %s\n\n", in.policyDesc)

	published := fixtures.Published2018
	compare := in.shipped
	fmt.Fprintf(w, "%-14s %16s %8s", "", "yuan", "万元") // 万元 is two wide characters
	if compare {
		fmt.Fprintf(w, "  %16s  %-5s", "published yuan", "match")
	}
	fmt.Fprintln(w)
	matched, compared := 0, 0
	row := func(label string, m calc.Money, pub calc.Money, isPublished bool, note string) {
		fmt.Fprintf(w, "%-14s %16s %10s", label, m.Grouped(), m.Wan())
		if compare {
			if isPublished {
				ok := m == pub
				compared++
				verdict := "NO"
				if ok {
					matched++
					verdict = "yes"
				}
				fmt.Fprintf(w, "  %16s  %-5s", pub.Grouped(), verdict)
			} else {
				fmt.Fprintf(w, "  %16s  %-5s", "-", "")
			}
		}
		fmt.Fprintf(w, "  %s\n", note)
	}
	row("total cost", t.Total, published.Total, true, "医疗总费用")
	for _, l := range calc.Lines() {
		note := lineChinese[l]
		if compare && !published.Published[l] {
			note += " (not published)"
		}
		row(fmt.Sprintf("%d %s", int(l)+1, l), t.Lines[l], published.Lines[l], published.Published[l], note)
	}
	row("out-of-pocket", t.OutOfPocket, 0, false, "个人自付, "+percent(t.OutOfPocket, t.Total)+" of total cost")
	if compare {
		fmt.Fprintln(w)
		if matched == compared {
			fmt.Fprintf(w, "All %d published figures match to the fen.\n", compared)
		} else {
			fmt.Fprintf(w, "%d of %d published figures differ.\n", compared-matched, compared)
		}
	}
}

// percent formats part/whole as a percentage with two decimals, rounded half-up, exactly.
func percent(part, whole calc.Money) string {
	if whole == 0 {
		return "-"
	}
	basisPoints := (int64(part)*10000*2 + int64(whole)) / (2 * int64(whole))
	return fmt.Sprintf("%d.%02d%%", basisPoints/100, basisPoints%100)
}
