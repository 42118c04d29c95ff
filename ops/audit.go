package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
)

// InForce names, for Versions, the policy versions in force on each claim's discharge day.
const InForce = "in-force"

// Versions is what an audit re-settles under: each published version on the days it was
// in force, or one published version for every claim.
type Versions struct {
	set  *calc.PolicySet
	only *calc.Policy // nil: each claim under the version in force on its discharge day
}

// Version returns the one version every claim is re-settled under, nil for in force.
func (v Versions) Version() *calc.Policy { return v.only }

// Versions chooses what an audit re-settles under: name InForce (or "") for the versions
// in force on each discharge day, or the name of one published version for every claim.
// Errors: ErrUnknownVersion (wrapped, naming the version) when no published version has
// that name; the database's errors.
func (s *Service) Versions(ctx context.Context, name string) (Versions, error) {
	set, err := s.store.Policies(ctx)
	if err != nil {
		return Versions{}, err
	}
	v := Versions{set: set}
	if name == "" || name == InForce {
		return v, nil
	}
	for _, p := range set.Policies() {
		if p.Version == name {
			v.only = p
			return v, nil
		}
	}
	return Versions{}, fmt.Errorf("policy %q: %w", name, ErrUnknownVersion)
}

// Progress is how far a long operation has come: Done of Total items of Stage.
type Progress struct {
	Stage       string
	Done, Total int
}

// auditProgressEvery is how many claims an audit reads between two progress reports.
const auditProgressEvery = 100_000

// Audit re-settles from scratch every stored claim discharged from from to to inclusive
// that was not reversed, under v, compares each line with what was paid and names the
// likely cause of every difference. progress, if not nil, is called in stage "read" with
// the claims read of those counted, every 100,000 claims and at the end of the read, then
// in stage "settle" (Done 0) as the re-settling begins. Errors:
// the database's; calc.ErrNoPolicy (wrapped, naming the claim) for a claim whose
// discharge day no version of v covers.
func (s *Service) Audit(ctx context.Context, from, to calc.Date, v Versions, progress func(Progress)) (*batch.Audit, error) {
	if v.set == nil {
		return nil, errors.New("audit: no versions: choose them with Service.Versions")
	}
	persons, err := s.store.Persons(ctx)
	if err != nil {
		return nil, err
	}
	var (
		every  int
		report func(read, total int)
	)
	if progress != nil {
		every = auditProgressEvery
		report = func(read, total int) { progress(Progress{Stage: "read", Done: read, Total: total}) }
	}
	stored, err := s.store.LoadStoredClaims(ctx, from, to, every, report)
	if err != nil {
		return nil, err
	}
	if progress != nil {
		progress(Progress{Stage: "settle", Total: len(stored)})
	}
	return batch.RunAudit(persons, stored, v.set, v.only, batch.Options{})
}

// StoredTable reads the stored claims discharged from from to to inclusive that were not
// reversed, grouped by person in settlement order, for a what-if or a sweep. Errors: the
// database's.
func (s *Service) StoredTable(ctx context.Context, from, to calc.Date) (*batch.ClaimTable, error) {
	persons, err := s.store.Persons(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := s.store.LoadStoredClaims(ctx, from, to, 0, nil)
	if err != nil {
		return nil, err
	}
	claims := make([]calc.Claim, 0, len(stored))
	for i := range stored {
		if !stored[i].Reversed {
			claims = append(claims, stored[i].Claim)
		}
	}
	return batch.NewClaimTable(persons, claims)
}
