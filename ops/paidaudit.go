package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fileerr"
)

// PaidFiles are the inputs of an audit from files: a claims file, what another system
// paid on each claim (a paid file, csvdata.PaidColumns), and what the claims are settled
// against.
type PaidFiles struct {
	Policies  *calc.PolicySet
	Providers map[string]calc.Provider // nil: the claims' providers are not checked

	// PersonsName and Persons are the persons file (csvdata.PersonColumns, optionally
	// dated with valid_from,valid_to). AuditUploaded leaves Persons nil for the stored
	// register.
	PersonsName          string
	Persons              io.Reader
	ClaimsName, PaidName string // the names errors give the files
	Claims, Paid         io.Reader
}

// AuditPaidFiles replays the claims file from scratch (discharge order, the version in
// force on each discharge day, a fresh ledger per person-year) and compares each claim with
// what the paid file says was paid: see batch.AuditPaid for the causes it names. A claim in
// one file and not the other is reported, never skipped. The persons and claims files are
// read as ReadClaimTable reads them, as hpcalc audit --claims --paid reads them.
//
// Errors: a *csvdata.Error (calc.ErrInvalid) naming the file, line, column and rule of
// every bad row of either file, among them paid amounts that do not sum to the claim's
// total; the errors of batch.AuditPaid.
func AuditPaidFiles(in PaidFiles) (*batch.PaidAudit, error) {
	checks := csvdata.ClaimChecks{Providers: in.Providers, Policies: in.Policies}
	set, err := ReadClaimTable(in.PersonsName, in.Persons, in.ClaimsName, in.Claims, checks, ReadOptions{})
	if err != nil {
		return nil, err
	}
	return AuditPaidTable(set, in)
}

// ReadClaimTable reads a persons file and a claims file, on every core, into the bulk
// engine's columns: the claims straight into a batch.Builder, checked as
// csvdata.ScanPersonsAndClaims checks them, never into a calc.Person or calc.Claim per row.
// It is how replay, what-if and the audit from files read their files, from the command
// and the API alike. Errors: those of csvdata.ScanPersonsAndClaims, the persons file's
// first.
//
// Files that can be read again (an *os.File, an upload) are read claims first
// (csvdata.ScanClaimantsFirst), keeping only the persons with claims; when that reading
// cannot be sure of them, or finds anything wrong, both are read again from where they
// started with csvdata.ScanPersonsAndClaims, which indexes every person (a dated file's
// versions too) and says what is wrong.
func ReadClaimTable(personsName string, persons io.Reader, claimsName string, claims io.Reader, checks csvdata.ClaimChecks, opt ReadOptions) (*batch.ClaimTable, error) {
	if set, ok, err := readClaimantsFirst(personsName, persons, claimsName, claims, checks); ok || err != nil {
		return set, err
	}
	if opt.BeforePersonsFirst != nil {
		opt.BeforePersonsFirst()
	}
	var b *batch.Builder
	_, err := csvdata.ScanPersonsAndClaims(personsName, persons, claimsName, claims, checks,
		func(x *csvdata.PersonIndex) { b = batch.NewBuilder(x) },
		func(row *csvdata.ClaimRow) { b.Add(row.Person, &row.Claim) })
	if err != nil {
		return nil, err
	}
	// The persons index, the lookup table of a province's ids, need not outlive the
	// claims' reading: the table holds the claimants.
	return b.Table(), nil
}

// ReadOptions are how ReadClaimTable reads.
type ReadOptions struct {
	// BeforePersonsFirst, if not nil, is called before the files are read persons first,
	// which holds an index of every person rather than of those with claims: a caller that
	// limits its memory may allow for more.
	BeforePersonsFirst func()
}

// readClaimantsFirst is ReadClaimTable's reading of the claims first, for readers that
// can seek: ok says it read the files; with ok false and no error, both readers are back
// where they started, to be read persons first. The error is one of seeking back.
func readClaimantsFirst(personsName string, persons io.Reader, claimsName string, claims io.Reader, checks csvdata.ClaimChecks) (set *batch.ClaimTable, ok bool, err error) {
	ps, ok1 := persons.(io.Seeker)
	cs, ok2 := claims.(io.Seeker)
	if !ok1 || !ok2 {
		return nil, false, nil
	}
	personsAt, err1 := ps.Seek(0, io.SeekCurrent)
	claimsAt, err2 := cs.Seek(0, io.SeekCurrent)
	if err1 != nil || err2 != nil {
		return nil, false, nil // not a file that seeks, after all (a pipe)
	}
	b := batch.NewBuilder(nil)
	x, err := csvdata.ScanClaimantsFirst(personsName, persons, claimsName, claims, checks,
		func(row *csvdata.ClaimRow) { b.Add(row.Person, &row.Claim) })
	if err == nil {
		b.SetPersons(x, x.Numbers())
		return b.Table(), true, nil
	}
	if _, err := ps.Seek(personsAt, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("read %s again: %w", personsName, err)
	}
	if _, err := cs.Seek(claimsAt, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("read %s again: %w", claimsName, err)
	}
	return nil, false, nil
}

// AuditPaidTable is AuditPaidFiles for claims already read into set (by ReadClaimTable,
// or from the stored register by AuditUploaded): it reads only in's paid file. Errors:
// those of AuditPaidFiles for the paid file; the errors of batch.AuditPaid.
func AuditPaidTable(set *batch.ClaimTable, in PaidFiles) (*batch.PaidAudit, error) {
	paid, notClaimed, rows, err := readPaid(&in, set)
	if err != nil {
		return nil, err
	}
	a, err := batch.AuditPaid(set, paid, in.Policies, batch.Options{})
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", in.ClaimsName, err)
	}
	a.NotClaimed, a.PaidFileRows = notClaimed, rows
	return a, nil
}

// readPaid reads the paid file into a PaidTable indexed like the claims file's rows
// (set.Input), and the paid claims set does not have.
func readPaid(in *PaidFiles, set *batch.ClaimTable) (*batch.PaidTable, []batch.Unmatched, int, error) {
	n := set.Len()
	rowOf := make([]int32, n) // set's row of each claim of the claims file
	for r, i := range set.Input {
		rowOf[i] = int32(r)
	}
	// A paid file written by replay --out lists the claims in the claims file's order:
	// At finds each at its place, and no map of a million ids is needed.
	var byID *claimIndex
	claims := csvdata.PaidClaims{N: n,
		At: func(k int, id string) (calc.Money, bool) {
			r := rowOf[k]
			return set.Total[r], set.ClaimID(int(r)) == id
		},
		Find: func(id string) (int, calc.Money, bool) {
			if byID == nil {
				byID = newClaimIndex(set)
			}
			r := byID.find(id)
			if r < 0 {
				return -1, 0, false
			}
			return int(set.Input[r]), set.Total[r], true
		}}
	paid := batch.NewPaidTable(n)
	var notClaimed []batch.Unmatched
	rows := 0
	err := csvdata.ScanPaid(in.PaidName, in.Paid, claims, func(row *csvdata.PaidRow) {
		rows++
		if row.Row >= 0 {
			// ScanPaid checked that the amounts sum to the claim's total: the table keeps
			// the lines only.
			paid.Set(row.Row, row.Lines)
			return
		}
		p := batch.Paid{Lines: row.Lines, OutOfPocket: row.OutOfPocket, Found: true}
		notClaimed = append(notClaimed, batch.Unmatched{ClaimID: strings.Clone(row.ClaimID), Paid: p})
	})
	if err != nil {
		return nil, nil, 0, err
	}
	return paid, notClaimed, rows, nil
}

// AuditUploaded is AuditPaidFiles for files sent to the service: the persons and providers
// files are optional, the stored register and providers standing in for them, and the
// claims are settled under the published policies. With a persons file it is
// AuditPaidFiles. Without, the claims file is read first and then only its claimants are
// read from the register (store.PersonsOf, and the versions of those the register has
// changed), so that memory grows with the claims, not with the register. Errors: those
// of AuditPaidFiles (an unknown person named at its line of the claims file, as the
// persons file's check names it); the database's.
func (s *Service) AuditUploaded(ctx context.Context, in PaidFiles, persons, providers io.Reader) (*batch.PaidAudit, error) {
	var err error
	if in.Policies, err = s.store.Policies(ctx); err != nil {
		return nil, err
	}
	list, err := s.store.Providers(ctx)
	if providers != nil {
		list, err = csvdata.ReadProviders("providers", providers)
	}
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		in.Providers = make(map[string]calc.Provider, len(list))
		for _, p := range list {
			in.Providers[p.ID] = p
		}
	}
	if persons != nil {
		in.PersonsName, in.Persons = "persons", persons
		return AuditPaidFiles(in)
	}
	set, err := s.claimsOfRegister(ctx, &in)
	if err != nil {
		return nil, err
	}
	return AuditPaidTable(set, in)
}

// claimsOfRegister reads in's claims file into the bulk engine's columns with their
// persons as the stored register has them: the claims first, then their claimants.
func (s *Service) claimsOfRegister(ctx context.Context, in *PaidFiles) (*batch.ClaimTable, error) {
	var (
		claims []calc.Claim
		lines  []int
		column int // of person_id
	)
	checks := csvdata.ClaimChecks{Providers: in.Providers, Policies: in.Policies}
	scanErr := csvdata.ScanClaims(in.ClaimsName, in.Claims, checks, func(row *csvdata.ClaimRow) {
		c := row.Claim
		c.ID, c.PersonID, c.ProviderID = strings.Clone(c.ID), strings.Clone(c.PersonID), strings.Clone(c.ProviderID)
		claims = append(claims, c)
		lines = append(lines, row.Line)
		column = row.Columns[1]
	})
	var fe *fileerr.Error
	if scanErr != nil && !errors.As(scanErr, &fe) {
		return nil, scanErr
	}
	ids := make([]string, len(claims))
	for i := range claims {
		ids[i] = claims[i].PersonID
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	persons, err := s.store.PersonsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	// The persons the register has changed have other versions on other days; the others
	// one, holding always, which PersonsOf gives.
	all, err := s.store.Histories(ctx)
	if err != nil {
		return nil, err
	}
	histories := map[string]calc.History{}
	for id := range persons {
		if h, ok := all[id]; ok {
			histories[id] = h
		}
	}
	all = nil
	// An unknown person is a problem of its claim's line, among the file's others.
	// ScanClaims hands on no claim after its first problem: of a file with other
	// problems, the unknown persons of the rows before the first are listed.
	var unknown []fileerr.Problem
	for i := range claims {
		if _, ok := persons[claims[i].PersonID]; !ok {
			unknown = append(unknown, fileerr.Problem{Line: lines[i], Column: column, Field: "person_id",
				Rule: fmt.Sprintf("unknown person %s: not in the persons file", claims[i].PersonID)})
		}
	}
	if len(unknown) > 0 || fe != nil {
		e := &fileerr.Error{File: in.ClaimsName}
		if fe != nil {
			e.Problems, e.Truncated = slices.Clone(fe.Problems), fe.Truncated
		}
		e.Problems = append(e.Problems, unknown...)
		slices.SortStableFunc(e.Problems, func(a, b fileerr.Problem) int { return cmp.Or(a.Line-b.Line, a.Column-b.Column) })
		if len(e.Problems) > csvdata.MaxErrors {
			e.Problems, e.Truncated = e.Problems[:csvdata.MaxErrors], true
		}
		return nil, e
	}
	set, err := batch.NewClaimTable(persons, claims)
	if err != nil {
		return nil, err
	}
	set.UseHistories(histories)
	return set, nil
}

// claimIndex finds a claim table's rows by claim id, for a paid file in another order than
// the claims file: an open-addressing table of row numbers, at most half full, whose ids
// are the table's own (ClaimID), compared on each probe. A map[string]int32 of a province's
// million ids was 53 MiB and a fifth of the CPU of such an audit.
type claimIndex struct {
	set   *batch.ClaimTable
	seed  maphash.Seed
	slots []int32 // a row + 1; 0 is empty
	mask  uint64
}

func newClaimIndex(set *batch.ClaimTable) *claimIndex {
	size := 1024
	for size < 2*set.Len() {
		size *= 2
	}
	x := &claimIndex{set: set, seed: maphash.MakeSeed(), slots: make([]int32, size), mask: uint64(size - 1)}
	for r := range set.Len() {
		i := maphash.String(x.seed, set.ClaimID(r)) & x.mask
		for x.slots[i] != 0 {
			i = (i + 1) & x.mask
		}
		x.slots[i] = int32(r + 1)
	}
	return x
}

// find returns the row of the claim id, or -1.
func (x *claimIndex) find(id string) int {
	for i := maphash.String(x.seed, id) & x.mask; x.slots[i] != 0; i = (i + 1) & x.mask {
		if r := int(x.slots[i] - 1); x.set.ClaimID(r) == id {
			return r
		}
	}
	return -1
}
