package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
)

// ChangeError is a what-if change or a sweep's value that cannot be applied to the base
// versions. Its message is Err's own, so that callers can show it as the change's
// problem.
type ChangeError struct {
	// Version is the base version the change could not be applied to (Err is then the
	// policy file's error, errors.Is calc.ErrInvalid), or "" when the changed versions do
	// not form a set (Err is calc.NewPolicySet's, such as calc.ErrOverlap).
	Version string
	Err     error
}

func (e *ChangeError) Error() string { return e.Err.Error() }
func (e *ChangeError) Unwrap() error { return e.Err }

// Base is the base of a what-if: the policy versions and each one's document, in the
// order of their periods.
type Base struct {
	Policies  *calc.PolicySet
	Documents [][]byte // Documents[i] is the document of Policies.Policies()[i]
}

// ApplyChange applies change — a partial policy document, such as
// "commercial: {in_policy_rate: 0.50}", named name in its errors — to each base version
// and returns the changed versions as a set: the scenario of a what-if. It is the one
// place where a scenario is built. Errors: a *ChangeError.
func ApplyChange(base Base, name string, change []byte) (*calc.PolicySet, error) {
	versions := base.Policies.Policies()
	if len(versions) != len(base.Documents) {
		return nil, fmt.Errorf("apply change %s: %d versions but %d documents", name, len(versions), len(base.Documents))
	}
	changed := make([]*calc.Policy, 0, len(versions))
	for i, p := range versions {
		q, _, err := policyfile.Merge(base.Documents[i], name, change)
		if err != nil {
			return nil, &ChangeError{Version: p.Version, Err: err}
		}
		changed = append(changed, q)
	}
	set, err := calc.NewPolicySet(changed...)
	if err != nil {
		return nil, &ChangeError{Err: err}
	}
	return set, nil
}

// MaxSweepSteps is the most values a sweep takes, in the API and the command alike. Each
// value re-settles every claim of the period (a province's million claims take seconds),
// and 100 points already draw a smooth curve; a finer look is a narrower range.
const MaxSweepSteps = 100

// SweepValues returns the values of a sweep from start to stop inclusive in steps of
// step, exact decimals of at most six places. Errors: calc's parse errors
// (calc.ErrSyntax, calc.ErrPrecision, calc.ErrRange); an error for a range that is
// empty, backwards or of more than MaxSweepSteps values.
func SweepValues(start, stop, step string) ([]calc.Rate, error) {
	return policyfile.Steps(start, stop, step, MaxSweepSteps)
}

// CheckParameter reports whether field, a dotted path such as "backstop.oop_ceiling",
// names a number of the policy a sweep can vary; its error names the part that is wrong
// and what is valid there, for the caller to put after how the user gave field.
func CheckParameter(field string) error { return policyfile.CheckParameter(field) }

// ParameterError is a sweep's parameter that names no number of the policy. It is
// errors.Is calc.ErrInvalid.
type ParameterError struct {
	Field string
	Err   error // CheckParameter's
}

func (e *ParameterError) Error() string        { return "sweep " + e.Field + ": " + e.Err.Error() }
func (e *ParameterError) Unwrap() error        { return e.Err }
func (e *ParameterError) Is(target error) bool { return target == calc.ErrInvalid }

// SweepStep is what the claims cost with the swept parameter at one value.
type SweepStep struct {
	Value calc.Rate
	Tally calc.Tally
}

// Sweep settles set under the base versions with the parameter field (a dotted path,
// such as "backstop.oop_ceiling") set to each of values in turn, and returns the totals
// at each. Each value's change is named prefix+field+"="+value in errors. Errors: a
// *ParameterError for a field that is no parameter (CheckParameter); a *ChangeError;
// calc.ErrNoPolicy (wrapped, naming the claim) for a claim no changed
// version covers.
func Sweep(set *batch.ClaimTable, base Base, field string, values []calc.Rate, prefix string) ([]SweepStep, error) {
	if err := CheckParameter(field); err != nil {
		// Callers check it first, to name it as the user gave it; this is the backstop.
		return nil, &ParameterError{Field: field, Err: err}
	}
	steps := make([]SweepStep, 0, len(values))
	for _, v := range values {
		ps, err := ApplyChange(base, prefix+field+"="+v.Decimal(), policyfile.Change(field, v.Decimal()))
		var pe *policyfile.Error
		if errors.As(err, &pe) {
			// The change is one Change wrote, not the user: its positions mean nothing to them.
			for i := range pe.Problems {
				pe.Problems[i].Line, pe.Problems[i].Column = 0, 0
			}
		}
		if err != nil {
			return nil, err
		}
		res, err := batch.Run(set, ps, batch.Options{})
		if err != nil {
			return nil, err
		}
		steps = append(steps, SweepStep{Value: v, Tally: res.All})
	}
	return steps, nil
}

// StoredBase reads the published policy versions and their documents, the base of a
// what-if on stored claims. Errors: the database's.
func (s *Service) StoredBase(ctx context.Context) (Base, error) {
	set, err := s.store.Policies(ctx)
	if err != nil {
		return Base{}, err
	}
	b := Base{Policies: set}
	for _, p := range set.Policies() {
		doc, err := s.store.PolicyDocument(ctx, p.Version)
		if err != nil {
			return Base{}, err
		}
		b.Documents = append(b.Documents, doc)
	}
	return b, nil
}

// WhatIf settles the stored claims discharged from from to to inclusive that were not
// reversed under the published versions and under the same versions with change (a
// partial policy document named "change" in errors) applied to each, and compares the
// two runs. It returns the comparison and the claims it settled. Errors: a *ChangeError;
// calc.ErrNoPolicy (wrapped) for a claim the changed versions do not cover; the
// database's errors.
func (s *Service) WhatIf(ctx context.Context, from, to calc.Date, change []byte) (*batch.WhatIf, *batch.ClaimTable, error) {
	base, err := s.StoredBase(ctx)
	if err != nil {
		return nil, nil, err
	}
	scenario, err := ApplyChange(base, "change", change)
	if err != nil {
		return nil, nil, err
	}
	set, err := s.StoredTable(ctx, from, to)
	if err != nil {
		return nil, nil, err
	}
	w, err := batch.RunWhatIf(set, base.Policies, scenario, batch.Options{})
	if err != nil {
		return nil, nil, err
	}
	return w, set, nil
}

// Sweep settles the stored claims discharged from from to to inclusive that were not
// reversed under the published versions with field set to each of values (see
// SweepValues), and returns the totals at each value. Errors: those of the function
// Sweep, and the database's.
func (s *Service) Sweep(ctx context.Context, from, to calc.Date, field string, values []calc.Rate) ([]SweepStep, error) {
	base, err := s.StoredBase(ctx)
	if err != nil {
		return nil, err
	}
	set, err := s.StoredTable(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return Sweep(set, base, field, values, "")
}
