package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fileerr"
	"github.com/hpcalc/hpcalc/store"
)

// PaidImport is the input of ImportPaid: a claims file (csvdata.ClaimColumns) and what
// the system before hpcalc paid on each claim (a paid file, csvdata.PaidColumns, as
// replay --out writes it), with the names errors give them.
type PaidImport struct {
	ClaimsName, PaidName string
	Claims, Paid         io.Reader
}

// ImportPaid opens the ledgers of a county going live in the middle of a year: it stores
// the claims of the claims file as settled with the amounts the paid file says were paid
// on each (calc.SettlePaid: marked imported, the amounts as paid, no workings), each
// person-year's ledger built from them in discharge order, so that claims settled
// afterwards continue the year. Every claim is booked under the published version in
// force on its discharge day, which audits compare it under, and with its person's
// register version in force on that day (its attributes book the claim, its number is
// the settlement's person_version). Persons and providers are the stored ones.
// Everything is stored in one transaction (store.ImportPaid), or nothing.
//
// It refuses, storing nothing, with a *fileerr.Error naming the file, line, column and
// rule of each problem found (up to csvdata.MaxErrors): a bad row of either file as
// csvdata reads it (among them negative amounts and paid amounts that do not sum to the
// claim's total); a claim whose provider is not stored or whose level is not its
// provider's, or discharged on a day no published policy covers; a claim of a person not
// stored, or discharged on a day no version of its person's register entry holds
// (calc.ErrNotRegistered); a claim the paid file does not pay, and a paid row of a claim
// the claims file does not have; a claim already stored, or of a person-year with claims stored already
// (errors.Is store.ErrConflict then; calc.ErrInvalid otherwise). An empty claims file
// stores nothing and is not an error.
//
// progress, if not nil, is called in the stages "read" (the two files read and checked:
// Done claims of Total) and then those of store.ImportPaid.
func (s *Service) ImportPaid(ctx context.Context, in PaidImport, progress func(Progress)) (ImportStats, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	policies, err := s.store.Policies(ctx)
	if err != nil {
		return ImportStats{}, err
	}
	list, err := s.store.Providers(ctx)
	if err != nil {
		return ImportStats{}, err
	}
	providers := make(map[string]calc.Provider, len(list))
	for _, p := range list {
		providers[p.ID] = p
	}
	progress(Progress{Stage: "read"})
	f, err := readImport(&in, policies, providers)
	if err != nil {
		return ImportStats{}, err
	}
	progress(Progress{Stage: "read", Done: len(f.claims), Total: len(f.claims)})
	if len(f.claims) == 0 {
		return ImportStats{}, nil
	}

	// The claimants, looked up by id rather than reading the whole register.
	var ids []string
	for _, k := range f.order {
		if id := f.claims[k].PersonID; len(ids) == 0 || ids[len(ids)-1] != id {
			ids = append(ids, id)
		}
	}
	persons, err := s.store.PersonsOf(ctx, ids)
	if err != nil {
		return ImportStats{}, err
	}
	// Each claim is booked with its person's attributes in force on its discharge day,
	// and its settlement names that version, as Settle does: persons the register has
	// changed (Histories) have other versions on other days; the others have one,
	// holding always, which PersonsOf gives.
	histories, err := s.store.Histories(ctx)
	if err != nil {
		return ImportStats{}, err
	}
	personOn := func(c *calc.Claim) *calc.Person {
		if h, ok := histories[c.PersonID]; ok {
			return h.At(c.DischargedOn)
		}
		if p, ok := persons[c.PersonID]; ok {
			return &p
		}
		return nil
	}
	unknown := f.problems(in.ClaimsName)
	for _, k := range f.order {
		c := &f.claims[k]
		switch _, ok := persons[c.PersonID]; {
		case !ok:
			unknown.add(f.lines[k], f.columns[1], "person_id", fmt.Sprintf("unknown person %s: not in the register (upload the persons first)", c.PersonID))
		case personOn(c) == nil:
			unknown.add(f.lines[k], f.columns[1], "person_id", fmt.Sprintf("person %s is %s %s: no version of the person's register entry holds that day",
				c.PersonID, calc.ErrNotRegistered, c.DischargedOn))
		}
	}
	if err := unknown.err(); err != nil {
		return ImportStats{}, err
	}

	used := map[string]bool{}
	var tally calc.Tally
	settle := func(put func(row int, st *calc.Settlement, personVersion int32, after calc.Ledger, discharged calc.Date)) ([]store.PersonLedger, error) {
		var (
			ledgers []store.PersonLedger
			ledger  calc.Ledger
			st      calc.Settlement
		)
		for row, k := range f.order {
			c := &f.claims[k]
			person := personOn(c) // not nil: checked above
			if row > 0 {
				prev := &f.claims[f.order[row-1]]
				if prev.PersonID != c.PersonID || prev.DischargedOn.Year() != c.DischargedOn.Year() {
					ledgers = append(ledgers, store.PersonLedger{PersonID: prev.PersonID, Ledger: ledger})
					ledger = calc.Ledger{}
				}
			}
			version := policies.At(c.DischargedOn).Version // ScanClaims checked there is one
			used[version] = true
			p := &f.paid[k]
			if err := calc.SettlePaid(&st, version, person, &ledger, c, p.Lines, p.OutOfPocket); err != nil {
				return nil, fmt.Errorf("import claim %s: %w", c.ID, err) // cannot happen: ScanPaid checked the amounts
			}
			tally.Add(&st)
			put(row, &st, person.Version, ledger, c.DischargedOn)
		}
		last := &f.claims[f.order[len(f.order)-1]]
		return append(ledgers, store.PersonLedger{PersonID: last.PersonID, Ledger: ledger}), nil
	}
	report := func(p store.ImportProgress) { progress(Progress{Stage: p.Stage, Done: p.Done, Total: p.Total}) }
	claims := func(yield func(*calc.Claim) bool) {
		for _, k := range f.order {
			if !yield(&f.claims[k]) {
				return
			}
		}
	}
	stored, err := s.store.ImportPaid(ctx, store.Import{Claims: claims, NumClaims: len(f.claims), Settle: settle}, report)
	var ce *store.ClaimsError
	if errors.As(err, &ce) {
		return ImportStats{}, f.refused(in.ClaimsName, ce)
	}
	if err != nil {
		return ImportStats{}, err
	}
	var versions []string
	for _, p := range policies.Policies() {
		if used[p.Version] {
			versions = append(versions, p.Version)
		}
	}
	return ImportStats{Claims: stored.Claims, Claimants: len(ids), Ledgers: stored.Ledgers, Versions: versions, Tally: tally}, nil
}

// importFiles is an import's two files as read: the claims in file order, each with its
// line and what was paid on it, and the order they are booked in.
type importFiles struct {
	claims  []calc.Claim
	lines   []int
	paid    []csvdata.SettlementRow
	order   []int // indexes of claims by person, then in settlement order (calc.CompareByPerson)
	columns []int // the claims file's columns of csvdata.ClaimColumns
}

// readImport reads and checks the claims and paid files of an import.
func readImport(in *PaidImport, policies *calc.PolicySet, providers map[string]calc.Provider) (*importFiles, error) {
	f := &importFiles{}
	checks := csvdata.ClaimChecks{Providers: providers, Policies: policies}
	err := csvdata.ScanClaims(in.ClaimsName, in.Claims, checks, func(row *csvdata.ClaimRow) {
		c := row.Claim
		c.ID, c.PersonID, c.ProviderID = strings.Clone(c.ID), strings.Clone(c.PersonID), strings.Clone(c.ProviderID)
		f.claims = append(f.claims, c)
		f.lines = append(f.lines, row.Line)
		f.columns = row.Columns
	})
	if err != nil {
		return nil, err
	}
	n := len(f.claims)
	byID := make(map[string]int, n)
	for i := range f.claims {
		byID[f.claims[i].ID] = i
	}
	f.paid = make([]csvdata.SettlementRow, n)
	paidLine := make([]int, n)
	notClaimed := importProblems{file: in.PaidName}
	err = csvdata.ScanPaid(in.PaidName, in.Paid, csvdata.PaidClaims{N: n, Find: func(id string) (int, calc.Money, bool) {
		i, ok := byID[id]
		if !ok {
			return -1, 0, false
		}
		return i, f.claims[i].Total, true
	}}, func(row *csvdata.PaidRow) {
		if row.Row < 0 {
			notClaimed.add(row.Line, row.Columns[0], "claim_id", fmt.Sprintf("claim %s is paid but not in %s: every paid row must be a claim of the claims file", row.ClaimID, in.ClaimsName))
			return
		}
		f.paid[row.Row] = row.SettlementRow
		f.paid[row.Row].ClaimID = f.claims[row.Row].ID
		paidLine[row.Row] = row.Line
	})
	if err != nil {
		return nil, err
	}
	if err := notClaimed.err(); err != nil {
		return nil, err
	}
	notPaid := f.problems(in.ClaimsName)
	for i := range f.claims {
		if paidLine[i] == 0 {
			notPaid.add(f.lines[i], f.columns[0], "claim_id", fmt.Sprintf("claim %s is not in %s: every claim must have a paid row", f.claims[i].ID, in.PaidName))
		}
	}
	if err := notPaid.err(); err != nil {
		return nil, err
	}
	f.order = make([]int, n)
	for i := range f.order {
		f.order[i] = i
	}
	byPerson := func(a, b int) int { return calc.CompareByPerson(&f.claims[a], &f.claims[b]) }
	if !slices.IsSortedFunc(f.order, byPerson) {
		slices.SortFunc(f.order, byPerson)
	}
	return f, nil
}

func (f *importFiles) problems(file string) importProblems { return importProblems{file: file} }

// refused turns store's refusal of claims, by row, into the claims file's lines.
func (f *importFiles) refused(file string, ce *store.ClaimsError) error {
	column := map[string]int{}
	for i, name := range csvdata.ClaimColumns {
		column[name] = f.columns[i]
	}
	e := &fileerr.Error{File: file, Truncated: ce.Count > len(ce.Problems)}
	for _, p := range ce.Problems {
		k := f.order[p.Row]
		e.Problems = append(e.Problems, fileerr.Problem{Line: f.lines[k], Column: column[p.Field], Field: p.Field, Rule: p.Rule})
	}
	// store lists the first refused claims in the order it books them (by person): the
	// file's reader wants them by line.
	slices.SortStableFunc(e.Problems, func(a, b fileerr.Problem) int { return a.Line - b.Line })
	if errors.Is(ce.Kind, store.ErrConflict) {
		return &conflictFileError{e}
	}
	return e
}

// conflictFileError is a file's problems that are conflicts with what is stored:
// errors.Is(err, store.ErrConflict) holds, and errors.As finds the *fileerr.Error.
type conflictFileError struct{ file *fileerr.Error }

func (e *conflictFileError) Error() string { return e.file.Error() }

func (e *conflictFileError) Is(target error) bool { return target == store.ErrConflict }

func (e *conflictFileError) Unwrap() error { return e.file }

// importProblems collects problems of one file found after csvdata read it.
type importProblems struct {
	file string
	e    fileerr.Error
}

func (p *importProblems) add(line, column int, field, rule string) {
	if len(p.e.Problems) >= csvdata.MaxErrors {
		p.e.Truncated = true
		return
	}
	p.e.Problems = append(p.e.Problems, fileerr.Problem{Line: line, Column: column, Field: field, Rule: rule})
}

func (p *importProblems) err() error {
	if len(p.e.Problems) == 0 {
		return nil
	}
	p.e.File = p.file
	return &p.e
}
