package batch

import (
	"fmt"
	"slices"

	"github.com/hpcalc/hpcalc/calc"
)

// The likely causes of a difference between what was paid and what a replay gives.
const (
	CauseOtherVersion = "another policy version was in force at settlement"
	CauseReversal     = "an earlier claim of the same person was reversed"
	CauseOutOfOrder   = "the claim was settled out of discharge order"
	CauseRegister     = "the register changed after settlement"
	CauseUnexplained  = "unexplained"
	// CauseImported: the claim was imported with what the system before hpcalc paid
	// (hpcalc import), and that differs from what the rules give.
	CauseImported = "imported: paid by the system before hpcalc"
	// CauseImportedKnockOn: an imported claim discharged earlier in the person-year was
	// paid otherwise than the rules give, so the ledger this claim was settled against
	// differs from the replay's.
	CauseImportedKnockOn = "an earlier imported claim of the person-year was paid otherwise"
)

// Difference is a claim whose replay differs from what was paid.
type Difference struct {
	ClaimID, PersonID              string
	StoredVersion, ReplayedVersion string
	Stored, Replayed               [calc.NumLines]calc.Money
	StoredOutOfPocket, ReplayedOOP calc.Money
	Causes                         []string
}

// Delta is what the replay pays on line l less what was paid.
func (d *Difference) Delta(l calc.Line) calc.Money { return d.Replayed[l] - d.Stored[l] }

// Audit is the outcome of re-settling stored claims from scratch.
type Audit struct {
	Claims      int        // claims re-settled (those not reversed)
	Reversed    int        // reversed claims, left out of the replay
	Stored      calc.Tally // what was paid on the re-settled claims
	Replayed    calc.Tally // what the replay pays on them
	Differences []Difference
}

// RunAudit re-settles every stored claim that was not reversed, from scratch, under
// policies (the versions in force on each discharge day, or a single version for every
// claim when only is not nil), compares each line with what was paid and names the likely
// cause of every difference.
func RunAudit(persons map[string]calc.Person, stored []calc.PaidClaim, policies *calc.PolicySet, only *calc.Policy, opt Options) (*Audit, error) {
	a := &Audit{}
	var live []int // indexes into stored of the claims replayed
	claims := make([]calc.Claim, 0, len(stored))
	for i := range stored {
		if stored[i].Reversed {
			a.Reversed++
			continue
		}
		live = append(live, i)
		claims = append(claims, stored[i].Claim)
	}
	if only != nil {
		// One version for every claim: a copy whose period covers them all.
		p := only.Clone()
		p.From, p.To = calc.Date(-1<<30), calc.Date(1<<30)
		var err error
		if policies, err = calc.NewPolicySet(p); err != nil {
			return nil, err
		}
	}
	set, err := NewClaimTable(persons, claims)
	if err != nil {
		return nil, err
	}
	set.UseHistories(opt.Histories)
	// Only what the comparison needs is kept of each replayed settlement: a million full
	// settlements would be most of a gigabyte.
	replayed := make([]amounts, len(claims))
	opt.Each = func(p, r int, s *calc.Settlement) {
		a := &replayed[set.Input[r]]
		if who, err := set.PersonAt(p, r); err == nil { // Run has settled it
			a.person = who.Version
		}
		for l := range calc.NumLines {
			a.lines[l] = s.Lines[l].Amount
		}
		a.oop, a.version = s.OutOfPocket, s.PolicyVersion
	}
	res, err := Run(set, policies, opt)
	if err != nil {
		return nil, err
	}
	a.Claims, a.Replayed = len(claims), res.All
	a.Differences = judge(stored, live, func(k, _ int) *amounts { return &replayed[k] }, causesByClaim(stored), opt.Histories, &a.Stored)
	return a, nil
}

// amounts is what an audit keeps of a replayed settlement: what it compares.
type amounts struct {
	lines   [calc.NumLines]calc.Money
	oop     calc.Money
	version string
	person  int32 // the register version of the person it was replayed with
}

// judge compares each live claim (live indexes stored, in the order read) with its replay
// (replayed(k, live[k])), adds what was paid on it to paid, and returns the differences,
// each with its likely causes, history's included (causes, by index into stored), and a
// register change after settlement (histories: the register versions of the persons
// whose attributes changed).
func judge(stored []calc.PaidClaim, live []int, replayed func(k, i int) *amounts, causes map[int][]string,
	histories map[string]calc.History, paid *calc.Tally) []Difference {
	var (
		diffs                    []Difference
		importedDiffers, differs []int // indexes into stored
	)
	for k, i := range live {
		sc, rs := &stored[i], replayed(k, i)
		addPaid(paid, sc)
		if sc.OutOfPocket == rs.oop && sc.Paid == rs.lines || correctedOnly(sc, rs.lines, rs.oop) {
			continue
		}
		d := Difference{ClaimID: sc.Claim.ID, PersonID: sc.Claim.PersonID, StoredVersion: sc.PolicyVersion,
			ReplayedVersion: rs.version, StoredOutOfPocket: sc.OutOfPocket, ReplayedOOP: rs.oop,
			Stored: sc.Paid, Replayed: rs.lines}
		if sc.PolicyVersion != rs.version {
			d.Causes = append(d.Causes, CauseOtherVersion)
		}
		if sc.Imported {
			d.Causes = append(d.Causes, CauseImported)
			importedDiffers = append(importedDiffers, i)
		}
		if registerChanged(histories[sc.Claim.PersonID], sc.PersonVersion, rs.person) {
			d.Causes = append(d.Causes, CauseRegister)
		}
		d.Causes = append(d.Causes, causes[i]...)
		diffs = append(diffs, d)
		differs = append(differs, i)
	}
	knockOns(stored, importedDiffers, differs, diffs)
	for k := range diffs {
		if len(diffs[k].Causes) == 0 {
			diffs[k].Causes = []string{CauseUnexplained}
		}
	}
	return diffs
}

// knockOns adds CauseImportedKnockOn to the differences of claims settled here that come
// after a differing imported claim of the same person-year in discharge order. imported
// and differs index stored; differs[k] is the claim of diffs[k].
func knockOns(stored []calc.PaidClaim, imported, differs []int, diffs []Difference) {
	if len(imported) == 0 {
		return
	}
	type personYear struct {
		id   string
		year int
	}
	first := map[personYear]*calc.Claim{} // the first differing imported claim of each
	for _, i := range imported {
		c := &stored[i].Claim
		py := personYear{c.PersonID, c.DischargedOn.Year()}
		if f := first[py]; f == nil || calc.CompareClaims(c, f) < 0 {
			first[py] = c
		}
	}
	for k, i := range differs {
		sc := &stored[i]
		if sc.Imported {
			continue
		}
		f := first[personYear{sc.Claim.PersonID, sc.Claim.DischargedOn.Year()}]
		if f != nil && calc.CompareClaims(f, &sc.Claim) < 0 {
			diffs[k].Causes = append(diffs[k].Causes, CauseImportedKnockOn)
		}
	}
}

// registerChanged reports whether a claim settled with register version settled of a
// person whose versions are h is replayed with another version, replayed, that says
// otherwise of what the cascade reads: registered poor or the aid category. A settlement
// that recorded no version (stored before versions were kept) says nothing.
func registerChanged(h calc.History, settled, replayed int32) bool {
	if settled == 0 || settled == replayed {
		return false
	}
	a, b := h.Version(settled), h.Version(replayed)
	return a != nil && b != nil && (a.RegisteredPoor != b.RegisteredPoor || a.Aid != b.Aid)
}

// correctedOnly reports whether an adjusted claim differs from its replay only by a rise
// in the patient's share that the backstop paid instead (POLICY.md "Corrections"): no
// difference then, since the patient never pays more after discharge.
func correctedOnly(sc *calc.PaidClaim, lines [calc.NumLines]calc.Money, oop calc.Money) bool {
	if !sc.Adjusted || sc.OutOfPocket > oop {
		return false
	}
	for l := range calc.Backstop {
		if sc.Paid[l] != lines[l] {
			return false
		}
	}
	return sc.Paid[calc.Backstop]+sc.OutOfPocket == lines[calc.Backstop]+oop
}

func addPaid(t *calc.Tally, sc *calc.PaidClaim) {
	t.Claims++
	t.Total += sc.Claim.Total
	for l := range calc.NumLines {
		t.Lines[l] += sc.Paid[l]
	}
	t.OutOfPocket += sc.OutOfPocket
}

// causesByClaim finds, for each stored claim, the causes that lie in its person-year's
// history: a reversed claim settled before it, and claims of the year settled in another
// order than their discharge order.
func causesByClaim(stored []calc.PaidClaim) map[int][]string {
	// Person-years in discharge order, as a replay settles them: claims read from the
	// database come in this order already, which the sort finds out in one pass.
	order := make([]int, len(stored))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return calc.CompareByPerson(&stored[a].Claim, &stored[b].Claim)
	})
	out := map[int][]string{}
	for lo := 0; lo < len(order); {
		first := &stored[order[lo]].Claim
		hi := lo + 1
		for hi < len(order) && stored[order[hi]].Claim.PersonID == first.PersonID &&
			stored[order[hi]].Claim.DischargedOn.Year() == first.DischargedOn.Year() {
			hi++
		}
		if hi-lo > 1 {
			personYearCauses(stored, order[lo:hi], out)
		}
		lo = hi
	}
	return out
}

// personYearCauses adds the causes found in one person-year, idx in discharge order.
func personYearCauses(stored []calc.PaidClaim, idx []int, out map[int][]string) {
	for n, i := range idx {
		sc := &stored[i]
		if sc.Reversed {
			continue
		}
		for m, j := range idx {
			if j == i {
				continue
			}
			other := &stored[j]
			if other.Reversed && other.SettledAt.Before(sc.SettledAt) && !slices.Contains(out[i], CauseReversal) {
				out[i] = append(out[i], CauseReversal)
			}
			// Out of order: a claim discharged earlier was settled after this one, or one
			// discharged later was settled before it.
			if !other.Reversed && (m < n) != other.SettledAt.Before(sc.SettledAt) && !slices.Contains(out[i], CauseOutOfOrder) {
				out[i] = append(out[i], CauseOutOfOrder)
			}
		}
	}
}

// Summary is a one-line account of an audit.
func (a *Audit) Summary() string {
	return fmt.Sprintf("%d claims re-settled (%d reversed left out), %d differ", a.Claims, a.Reversed, len(a.Differences))
}
