package ops

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
)

// reconcileAll is Reconcile of every person. It reads the claims of the period's whole
// years in the audit's one ordered query (storedPersons) and re-settles each person-year
// in memory from what each claim has paid: a dry run is complete there, with no
// transaction. With apply, only the person-years whose claims would change get the
// transaction of reconcileYear, which reads them again under the ledger lock and books
// what it finds then; a person-year whose every claim keeps what it paid is not touched
// (its ledger already adds them up), as a transaction would have written nothing there.
// A reconciliation of a million claims of which 1% are out of order thus costs about an
// audit, not a million rows read again in 400,000 transactions.
func (s *Service) reconcileAll(ctx context.Context, r Reconciliation) (Reconciliation, error) {
	set, err := s.store.Policies(ctx)
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	persons := sync.OnceValues(s.store.PersonsSoon(ctx))
	rc := &reconciler{from: r.From, to: r.To, id: r.ID, now: s.store.Now().UTC(), versions: map[string]*calc.Policy{}}
	for _, p := range set.Policies() {
		rc.versions[p.Version] = p
	}
	// A person-year is re-settled whole, though only some of its claims fall in the period.
	first, last := calc.NewDate(r.From.Year(), 1, 1), calc.NewDate(r.To.Year(), 12, 31)
	err = s.storedPersons(ctx, first, last, nil, func(claims []calc.PaidClaim) error {
		if rc.persons == nil {
			p, err := persons()
			if err != nil {
				return err
			}
			rc.persons = p
		}
		return rc.person(claims)
	})
	if rc.persons == nil {
		cancel()
		_, _ = persons()
	}
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile: %w", err)
	}
	r.PersonYears = rc.personYears
	if !r.Applied {
		r.Adjustments = rc.adjustments
		return r, nil
	}
	for _, c := range rc.changed {
		adjs, err := s.reconcileYear(ctx, c.PersonYear, r.ID, true)
		if err != nil {
			// Done as if every person-year had had its transaction: those before c.
			r.PersonYears = c.before
			return r, &ReconcileStopped{ID: r.ID, At: c.PersonYear, Done: c.before, Total: rc.personYears, Applied: true, Err: err}
		}
		r.Adjustments = append(r.Adjustments, adjs...)
	}
	return r, nil
}

// reconciler re-settles in order, person by person, the person-years of claims read by
// storedPersons.
type reconciler struct {
	from, to calc.Date
	id       string
	now      time.Time
	persons  map[string]calc.Person
	versions map[string]*calc.Policy

	personYears int
	changed     []changedYear    // the person-years whose claims would change, in order
	adjustments []store.Adjusted // what booking them would book

	// Scratch reused from person-year to person-year.
	standing    []calc.Standing
	settlements []calc.Settlement
	settlement  map[string]string // claim id → settlement id
}

// changedYear is a person-year whose claims would change, and how many person-years of the
// reconciliation come before it.
type changedYear struct {
	store.PersonYear
	before int
}

// person re-settles each year of one person's claims (all of them, in the order read)
// that has a claim discharged in the period.
func (rc *reconciler) person(claims []calc.PaidClaim) error {
	for lo := 0; lo < len(claims); {
		year := claims[lo].Claim.DischargedOn.Year()
		hi := lo + 1
		for hi < len(claims) && claims[hi].Claim.DischargedOn.Year() == year {
			hi++
		}
		if err := rc.personYear(claims[lo:hi], year); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

func (rc *reconciler) personYear(claims []calc.PaidClaim, year int) error {
	inPeriod := false
	for i := range claims {
		d := claims[i].Claim.DischargedOn
		inPeriod = inPeriod || d >= rc.from && d <= rc.to
	}
	if !inPeriod {
		return nil
	}
	rc.personYears++
	personID := claims[0].Claim.PersonID
	person, ok := rc.persons[personID]
	if !ok {
		return fmt.Errorf("reconcile %s %d: person %s: %w", personID, year, personID, store.ErrNotFound)
	}
	rc.standing, rc.settlements = rc.standing[:0], rc.settlements[:0]
	if rc.settlement == nil {
		rc.settlement = map[string]string{}
	}
	clear(rc.settlement)
	for i := range claims {
		sc := &claims[i]
		if sc.Reversed {
			continue
		}
		p := rc.versions[sc.PolicyVersion]
		if p == nil {
			return fmt.Errorf("reconcile %s %d: policy %s: %w", personID, year, sc.PolicyVersion, store.ErrNotFound)
		}
		// What the claim has paid, its adjustments included, as one settlement: all that
		// re-settling reads of it (calc.Standing.Now, calc.Ledger.Add).
		st := calc.Settlement{ClaimID: sc.Claim.ID, PersonID: personID, PolicyVersion: sc.PolicyVersion, Year: year,
			Kind: sc.Claim.Kind, Level: sc.Claim.Level, Total: sc.Claim.Total, InPolicy: sc.Claim.InPolicy,
			OutOfPocket: sc.OutOfPocket, Imported: sc.Imported}
		for l := range calc.NumLines {
			st.Lines[l].Amount = sc.Paid[l]
		}
		st.Lines[calc.Critical].Base = sc.Burden
		rc.settlements = append(rc.settlements, st)
		rc.standing = append(rc.standing, calc.Standing{Claim: sc.Claim, Policy: p})
		rc.settlement[sc.Claim.ID] = sc.SettlementID
	}
	for i := range rc.standing {
		rc.standing[i].Settlement = &rc.settlements[i]
	}
	done, _, err := calc.Resettle(person, year, rc.standing, nil)
	if err != nil {
		return fmt.Errorf("reconcile %s %d: %w", personID, year, err)
	}
	changed := false
	for i := range done {
		d := &done[i]
		if d.Adjustment.Zero() {
			continue
		}
		changed = true
		rc.adjustments = append(rc.adjustments, store.Adjusted{ID: store.NewID("A"), SettlementID: rc.settlement[d.Claim.ID],
			Cause: store.CauseOutOfOrder, CauseID: rc.id, DischargedOn: d.Claim.DischargedOn, CreatedAt: rc.now, Adjustment: d.Adjustment})
	}
	if changed {
		rc.changed = append(rc.changed, changedYear{store.PersonYear{PersonID: personID, Year: year}, rc.personYears - 1})
	}
	return nil
}
