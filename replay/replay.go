// Package replay settles a set of claims from scratch the way the county settles them:
// each person's claims in discharge-date order (ties by claim id), each under the policy
// version in force on its discharge day, with a fresh ledger per person per calendar year.
//
// replay holds no data of its own and does no I/O; it must never import store, ops, api
// or cmd.
package replay

import (
	"fmt"
	"slices"

	"github.com/hpcalc/hpcalc/calc"
)

// Result is the outcome of a replay.
type Result struct {
	Settlements []calc.Settlement // Settlements[i] settles the i-th claim given to Run
	Tally       calc.Tally
}

// Run replays claims. It returns an error naming the first claim that cannot be settled:
// an unknown person, no policy in force on its discharge day (calc.ErrNoPolicy) or an
// invalid claim (calc.ErrInvalid). On error no result is returned.
func Run(policies *calc.PolicySet, persons map[string]calc.Person, claims []calc.Claim) (*Result, error) {
	res := &Result{Settlements: make([]calc.Settlement, len(claims))}
	err := Each(policies, persons, claims, func(i int, s *calc.Settlement) {
		res.Settlements[i] = *s
		res.Tally.Add(s)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Order returns the indexes of claims in settlement order: by person, then in
// calc.CompareClaims order.
func Order(claims []calc.Claim) []int {
	order := make([]int, len(claims))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return calc.CompareByPerson(&claims[a], &claims[b])
	})
	return order
}

// Each settles claims in settlement order and calls fn with each claim's index and its
// settlement, which fn must not keep (it is reused). It stops at the first error.
func Each(policies *calc.PolicySet, persons map[string]calc.Person, claims []calc.Claim, fn func(i int, s *calc.Settlement)) error {
	var (
		s      calc.Settlement
		ledger calc.Ledger
		person calc.Person
	)
	for n, i := range Order(claims) {
		c := &claims[i]
		if n == 0 || c.PersonID != person.ID {
			p, ok := persons[c.PersonID]
			if !ok {
				return fmt.Errorf("replay claim %s: unknown person %s", c.ID, c.PersonID)
			}
			person, ledger = p, calc.Ledger{}
		}
		ledger = ledger.ForYear(c.DischargedOn.Year())
		policy := policies.At(c.DischargedOn)
		if policy == nil {
			return fmt.Errorf("replay claim %s: %w on its discharge day %s", c.ID, calc.ErrNoPolicy, c.DischargedOn)
		}
		if err := calc.SettleInto(&s, policy, &person, &ledger, c); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		fn(i, &s)
	}
	return nil
}
