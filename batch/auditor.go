package batch

import (
	"fmt"
	"slices"

	"github.com/hpcalc/hpcalc/calc"
)

// Auditor is RunAudit for claims that arrive one person at a time, in the order a
// database reads them (grouped by person): it holds one person's claims at a time, not
// the period's, so that an audit of a million stored claims runs in the memory of a few
// thousand. Feeding it every person's claims in the order RunAudit receives them gives
// the same Audit, differences in the same order. An Auditor is not safe for concurrent
// use.
type Auditor struct {
	persons   map[string]calc.Person
	histories map[string]calc.History // see UseHistories
	policies  *calc.PolicySet
	audit     Audit

	// Scratch reused from person to person.
	order    []int // indexes of the person's claims in settlement order
	live     []int // indexes of those not reversed, in the order read
	replayed []amounts
	causes   map[int][]string
	s        calc.Settlement
	policy   *calc.Policy
}

// NewAuditor returns an Auditor that re-settles under policies (the versions in force on
// each discharge day), or under only for every claim when only is not nil. Its errors are
// those of calc.NewPolicySet.
func NewAuditor(persons map[string]calc.Person, policies *calc.PolicySet, only *calc.Policy) (*Auditor, error) {
	if only != nil {
		// One version for every claim: a copy whose period covers them all.
		p := only.Clone()
		p.From, p.To = calc.Date(-1<<30), calc.Date(1<<30)
		var err error
		if policies, err = calc.NewPolicySet(p); err != nil {
			return nil, err
		}
	}
	return &Auditor{persons: persons, policies: policies, causes: map[int][]string{}}, nil
}

// UseHistories re-settles the claims of the persons h holds (the register versions of
// those whose attributes changed, store.Histories) with the version in force on each
// discharge day, and reports a claim settled with a version that says otherwise as a
// register change (CauseRegister).
func (a *Auditor) UseHistories(h map[string]calc.History) { a.histories = h }

// Person audits one person's stored claims of the period, all of them (every year, the
// reversed ones too) in the order they were read; the auditor does not keep the slice.
// It returns an error naming the claim of an unknown person, a claim no version covers
// (calc.ErrNoPolicy, wrapped) or one that cannot be settled.
func (a *Auditor) Person(claims []calc.PaidClaim) error {
	if len(claims) == 0 {
		return nil
	}
	a.order = a.order[:0]
	for i := range claims {
		a.order = append(a.order, i)
	}
	byClaim := func(i, j int) int { return calc.CompareClaims(&claims[i].Claim, &claims[j].Claim) }
	// Claims read from a database come in this order already.
	if !slices.IsSortedFunc(a.order, byClaim) {
		slices.SortFunc(a.order, byClaim)
	}
	a.replayed = slices.Grow(a.replayed[:0], len(claims))[:len(claims)]
	var (
		person *calc.Person
		ledger calc.Ledger
	)
	for _, i := range a.order {
		sc := &claims[i]
		if sc.Reversed {
			continue
		}
		c := &sc.Claim
		if person == nil {
			p, ok := a.persons[c.PersonID]
			if !ok {
				return fmt.Errorf("claim %s: unknown person %s", c.ID, c.PersonID)
			}
			person = &p
		}
		ledger = ledger.ForYear(c.DischargedOn.Year())
		if a.policy == nil || !a.policy.Covers(c.DischargedOn) {
			if a.policy = a.policies.At(c.DischargedOn); a.policy == nil {
				return fmt.Errorf("claim %s: %w on %s", c.ID, calc.ErrNoPolicy, c.DischargedOn)
			}
		}
		who := person
		if h, ok := a.histories[c.PersonID]; ok {
			if who = h.At(c.DischargedOn); who == nil {
				return fmt.Errorf("claim %s: person %s is %w %s", c.ID, c.PersonID, calc.ErrNotRegistered, c.DischargedOn)
			}
		}
		if err := calc.SettleInto(&a.s, a.policy, who, &ledger, c); err != nil {
			return err
		}
		a.audit.Replayed.Add(&a.s)
		r := &a.replayed[i]
		for l := range calc.NumLines {
			r.lines[l] = a.s.Lines[l].Amount
		}
		r.oop, r.version, r.person = a.s.OutOfPocket, a.s.PolicyVersion, who.Version
	}
	// The causes lie in each person-year's history, read in settlement order.
	clear(a.causes)
	for lo := 0; lo < len(a.order); {
		year := claims[a.order[lo]].Claim.DischargedOn.Year()
		hi := lo + 1
		for hi < len(a.order) && claims[a.order[hi]].Claim.DischargedOn.Year() == year {
			hi++
		}
		if hi-lo > 1 {
			personYearCauses(claims, a.order[lo:hi], a.causes)
		}
		lo = hi
	}
	a.live = a.live[:0]
	for i := range claims {
		if claims[i].Reversed {
			a.audit.Reversed++
			continue
		}
		a.live = append(a.live, i)
	}
	a.audit.Claims += len(a.live)
	a.audit.Differences = append(a.audit.Differences,
		judge(claims, a.live, func(_, i int) *amounts { return &a.replayed[i] }, a.causes, a.histories, &a.audit.Stored)...)
	return nil
}

// Audit returns the audit of the persons given so far.
func (a *Auditor) Audit() *Audit {
	out := a.audit
	return &out
}
