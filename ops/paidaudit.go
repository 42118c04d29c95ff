package ops

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
)

// PaidFiles are the inputs of an audit from files: a claims file, what another system
// paid on each claim (a paid file, csvdata.PaidColumns), and what the claims are settled
// against.
type PaidFiles struct {
	Policies *calc.PolicySet
	// PersonIndex is the persons file; when it is nil, Persons (such as the stored
	// register) holds the persons.
	PersonIndex *csvdata.PersonIndex
	Persons     map[string]calc.Person
	Histories   map[string]calc.History  // with Persons: the versions of those whose attributes changed
	Providers   map[string]calc.Provider // nil: the claims' providers are not checked

	ClaimsName, PaidName string // the names errors give the files
	Claims, Paid         io.Reader
}

// AuditPaidFiles replays the claims file from scratch (discharge order, the version in
// force on each discharge day, a fresh ledger per person-year) and compares each claim with
// what the paid file says was paid: see batch.AuditPaid for the causes it names. A claim in
// one file and not the other is reported, never skipped.
//
// Errors: a *csvdata.Error (calc.ErrInvalid) naming the file, line, column and rule of
// every bad row of either file, among them paid amounts that do not sum to the claim's
// total; the errors of batch.AuditPaid.
func AuditPaidFiles(in PaidFiles) (*batch.PaidAudit, error) {
	set, err := readClaimTable(&in)
	if err != nil {
		return nil, err
	}
	// The persons are in set now: the index, the lookup table of a province's ids among
	// it, need not outlive the claims' reading.
	in.PersonIndex, in.Persons = nil, nil
	return AuditPaidTable(set, in)
}

// AuditPaidTable is AuditPaidFiles for claims already read into set (as replay reads
// them, the persons and claims files at once): it reads only in's paid file. Errors:
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

// readClaimTable reads the claims file into the bulk engine's columns.
func readClaimTable(in *PaidFiles) (*batch.ClaimTable, error) {
	checks := csvdata.ClaimChecks{PersonIndex: in.PersonIndex, Persons: in.Persons, Providers: in.Providers, Policies: in.Policies}
	if in.PersonIndex != nil {
		b := batch.NewBuilder(in.PersonIndex)
		if err := csvdata.ScanClaims(in.ClaimsName, in.Claims, checks, func(row *csvdata.ClaimRow) { b.Add(row.Person, &row.Claim) }); err != nil {
			return nil, err
		}
		return b.Table(), nil
	}
	var claims []calc.Claim
	err := csvdata.ScanClaims(in.ClaimsName, in.Claims, checks, func(row *csvdata.ClaimRow) {
		c := row.Claim
		c.ID, c.PersonID, c.ProviderID = strings.Clone(c.ID), strings.Clone(c.PersonID), strings.Clone(c.ProviderID)
		claims = append(claims, c)
	})
	if err != nil {
		return nil, err
	}
	set, err := batch.NewClaimTable(in.Persons, claims)
	if err != nil {
		return nil, err
	}
	set.UseHistories(in.Histories)
	return set, nil
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
	var byID map[string]int32
	claims := csvdata.PaidClaims{N: n,
		At: func(k int, id string) (calc.Money, bool) {
			r := rowOf[k]
			return set.Total[r], set.ID[r] == id
		},
		Find: func(id string) (int, calc.Money, bool) {
			if byID == nil {
				byID = make(map[string]int32, n)
				for r, id := range set.ID {
					byID[id] = int32(r)
				}
			}
			r, ok := byID[id]
			if !ok {
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
// claims are settled under the published policies. Errors: those of AuditPaidFiles; the
// database's.
func (s *Service) AuditUploaded(ctx context.Context, in PaidFiles, persons, providers io.Reader) (*batch.PaidAudit, error) {
	var err error
	if in.Policies, err = s.store.Policies(ctx); err != nil {
		return nil, err
	}
	if persons != nil {
		if in.PersonIndex, err = csvdata.ReadPersonIndex("persons", persons); err != nil {
			return nil, err
		}
	} else if in.Persons, err = s.store.Persons(ctx); err != nil {
		return nil, err
	} else if in.Histories, err = s.store.Histories(ctx); err != nil {
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
	return AuditPaidFiles(in)
}
