package batch

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/hpcalc/hpcalc/calc"
)

// Paid is what another system paid on one claim: each line and the patient.
type Paid struct {
	Lines       [calc.NumLines]calc.Money
	OutOfPocket calc.Money
	Found       bool // the paid file has the claim
}

// PaidTable is what another system paid on each claim of a ClaimTable, by the claim's
// place in the claims it was made of (ClaimTable.Input), as an audit keeps it: the five lines only, each in 4 bytes when it fits (up to 42,949,672.95
// yuan), about 20 bytes a claim rather than the 56 of a Paid. What the patient paid is
// the claim's total less the lines: a paid file's reader checks that the amounts of each
// claim sum to its total (csvdata.ScanPaid) before they are Set.
type PaidTable struct {
	found []uint64                            // bit r: row r was paid
	lines [][calc.NumLines]uint32             // fen
	large map[int32][calc.NumLines]calc.Money // rows with a line that does not fit in lines
}

// NewPaidTable returns a PaidTable of n rows, none paid yet.
func NewPaidTable(n int) *PaidTable {
	return &PaidTable{found: make([]uint64, (n+63)/64), lines: make([][calc.NumLines]uint32, n)}
}

// Len is the number of rows.
func (t *PaidTable) Len() int { return len(t.lines) }

// Set records that row r was paid lines. It is not safe for concurrent use.
func (t *PaidTable) Set(r int, lines [calc.NumLines]calc.Money) {
	t.found[r/64] |= 1 << (r % 64)
	for l, m := range lines {
		if m < 0 || m > math.MaxUint32 {
			if t.large == nil {
				t.large = map[int32][calc.NumLines]calc.Money{}
			}
			t.large[int32(r)] = lines
			return
		}
		t.lines[r][l] = uint32(m)
	}
	delete(t.large, int32(r))
}

// Paid reports whether row r was paid, and what: the lines and, as the claim's total
// less them, what the patient paid.
func (t *PaidTable) Paid(r int, total calc.Money) (Paid, bool) {
	if t.found[r/64]&(1<<(r%64)) == 0 {
		return Paid{}, false
	}
	p := Paid{Found: true}
	if x, ok := t.large[int32(r)]; ok {
		p.Lines = x
	} else {
		for l, m := range t.lines[r] {
			p.Lines[l] = calc.Money(m)
		}
	}
	p.OutOfPocket = total
	for _, m := range p.Lines {
		p.OutOfPocket -= m
	}
	return p, true
}

// gather sets dst[i] to what was paid on row input[i] of total total[i], as Paid does.
func (t *PaidTable) gather(dst []Paid, input []int32, total []calc.Money) {
	for i, r := range input {
		// The loads of the rows' amounts do not wait for one another: no call, and the
		// rows not paid and the large amounts are seen to after.
		x := t.lines[r]
		p := &dst[i]
		p.OutOfPocket = total[i]
		for l, m := range x {
			p.Lines[l] = calc.Money(m)
			p.OutOfPocket -= calc.Money(m)
		}
		p.Found = t.found[r/64]&(1<<(r%64)) != 0
	}
	for i, r := range input {
		if p := &dst[i]; !p.Found {
			*p = Paid{}
		} else if len(t.large) > 0 {
			*p, _ = t.Paid(int(r), total[i])
		}
	}
}

// CauseKind names the rule that explains what was paid on a differing claim's root line.
type CauseKind string

// The kinds of cause, in the order they are tried. A cause is only named when settling
// the claim under it reproduces every amount paid on the claim exactly.
const (
	// KindKnockOn: the rules themselves reproduce the claim once the person-year's ledger
	// is the one the amounts paid on earlier claims built: the claim follows from an
	// earlier claim of the same person whose paid amounts differ.
	KindKnockOn CauseKind = "knock_on"
	// KindNotEligible: a line paid to someone not eligible for it (commercial or backstop
	// to a person not registered poor, aid to a person without an aid category).
	KindNotEligible CauseKind = "not_eligible"
	// KindDeductible: basic insurance took the deductible of another provider level.
	KindDeductible CauseKind = "deductible"
	// KindRate: a line paid at another rate, or a critical-illness band at another band's
	// rate.
	KindRate CauseKind = "rate"
	// KindCapNotApplied: an annual cap that should have cut the line was not applied.
	KindCapNotApplied CauseKind = "cap_not_applied"
	// KindCapEarly: the line was cut by a smaller cap than its own: another cap of the
	// policy applied in its place.
	KindCapEarly CauseKind = "cap_early"
	// KindNone: no rule tried reproduces what was paid.
	KindNone CauseKind = "none"
)

// Kinds lists every cause kind in the order they are tried, KindNone last.
func Kinds() []CauseKind {
	return []CauseKind{KindKnockOn, KindNotEligible, KindDeductible, KindRate, KindCapNotApplied, KindCapEarly, KindNone}
}

// Cause is one rule that reproduces what was paid on a claim.
type Cause struct {
	Kind   CauseKind
	Detail string // the rule in words, with its parameters
}

// PaidDifference is a claim whose paid amounts differ from what the rules give.
type PaidDifference struct {
	ClaimID, PersonID string
	Year              int
	Paid, Rules       [calc.NumLines]calc.Money
	PaidOOP, RulesOOP calc.Money
	// Root is the first line, in cascade order, whose paid amount differs; Follows the
	// later lines that differ too, which follow from the root.
	Root    calc.Line
	Follows []calc.Line
	// Causes are the rules that reproduce every paid amount of the claim, the most likely
	// first; one cause of KindNone when none does.
	Causes []Cause
}

// Delta is what was paid on line l less what the rules give.
func (d *PaidDifference) Delta(l calc.Line) calc.Money { return d.Paid[l] - d.Rules[l] }

// Kind is the kind of the first cause.
func (d *PaidDifference) Kind() CauseKind { return d.Causes[0].Kind }

// Drift is how far the amounts paid on one person-year's claims are from the rules.
type Drift struct {
	PersonID string
	Year     int
	Claims   int                       // claims of the year that differ
	Delta    [calc.NumLines]calc.Money // paid less the rules, per line
	OOPDelta calc.Money
}

// Unmatched is a claim that only one of the two files has.
type Unmatched struct {
	ClaimID string
	Paid    Paid // for a claim in the paid file only
}

// PaidAudit compares what another system paid with what the rules give.
type PaidAudit struct {
	Claims       int        // claims in both files
	Paid, Rules  calc.Tally // over the claims in both files
	Differences  []PaidDifference
	Drift        []Drift     // person-years whose paid amounts differ, in person order
	NotPaid      []Unmatched // claims the paid file lacks, in settlement order
	NotClaimed   []Unmatched // paid claims the claims file lacks, in paid file order
	ByKind       map[CauseKind]int
	PaidFileRows int
}

// Summary is a one-line account of the audit.
func (a *PaidAudit) Summary() string {
	return fmt.Sprintf("%d claims in both files, %d differ; %d claims not in the paid file, %d paid claims not in the claims file",
		a.Claims, len(a.Differences), len(a.NotPaid), len(a.NotClaimed))
}

// AuditPaid settles every claim of set from scratch under policies, as Run does, and
// compares each with paid, what another system paid, indexed like the claims set was
// made of (set.Input), as a paid file in the claims file's order lists them. A differing
// claim gets its root line and the rules that reproduce it (see CauseKind), each tried by
// settling the claim under that rule against the ledger the paid amounts of the
// person-year's earlier claims built. It returns the errors of Run.
func AuditPaid(set *ClaimTable, paid *PaidTable, policies *calc.PolicySet, opt Options) (*PaidAudit, error) {
	if paid.Len() != set.Len() {
		return nil, fmt.Errorf("audit paid: %d paid rows for %d claims", paid.Len(), set.Len())
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type part struct {
		paid, rules calc.Tally
		diffs       []PaidDifference
		drift       []Drift
		notPaid     []int
		err         error
	}
	const chunk = 1024
	persons := len(set.Persons)
	parts := make([]part, (persons+chunk-1)/chunk)
	next := make(chan int, workers)
	go func() {
		for k := range parts {
			next <- k
		}
		close(next)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var (
				s     calc.Settlement
				taken []Paid // what was paid on the chunk's claims, by row from its first
			)
			for k := range next {
				pt := &parts[k]
				if pt.err != nil {
					continue
				}
				lo, hi := k*chunk, min((k+1)*chunk, persons)
				// The chunk's paid amounts first, in one pass: they lie all over the table
				// (in the paid file's order), and loads that do not wait for each other
				// overlap where, between settlements, each would wait alone.
				first, end := int(set.Start[lo]), int(set.Start[hi])
				taken = slices.Grow(taken[:0], end-first)[:end-first]
				paid.gather(taken, set.Input[first:end], set.Total[first:end])
				for p := lo; p < hi && pt.err == nil; p++ {
					pt.err = auditPerson(set, taken, first, policies, p, &s, func(d *PaidDifference) { pt.diffs = append(pt.diffs, *d) },
						func(d Drift) { pt.drift = append(pt.drift, d) }, func(r int) { pt.notPaid = append(pt.notPaid, r) },
						&pt.paid, &pt.rules)
				}
			}
		})
	}
	wg.Wait()
	a := &PaidAudit{ByKind: map[CauseKind]int{}}
	for k := range parts {
		pt := &parts[k]
		if pt.err != nil {
			return nil, pt.err
		}
		a.Paid.Merge(pt.paid)
		a.Rules.Merge(pt.rules)
		a.Differences = append(a.Differences, pt.diffs...)
		a.Drift = append(a.Drift, pt.drift...)
		for _, r := range pt.notPaid {
			a.NotPaid = append(a.NotPaid, Unmatched{ClaimID: set.ClaimID(r)})
		}
	}
	a.Claims = a.Paid.Claims
	for i := range a.Differences {
		a.ByKind[a.Differences[i].Kind()]++
	}
	return a, nil
}

// auditPerson settles person p's claims under the rules and beside them books the amounts
// paid into a second ledger, the one the other system settled against. paid[r-first] is
// what was paid on row r.
func auditPerson(set *ClaimTable, paid []Paid, first int, policies *calc.PolicySet, p int, s *calc.Settlement,
	diff func(*PaidDifference), drift func(Drift), notPaid func(r int), paidT, rulesT *calc.Tally) error {
	id := set.Persons[p].ID
	var (
		rules, asPaid calc.Ledger
		year          int
		dr            Drift // this person-year's drift
		policy        *calc.Policy
	)
	flush := func() {
		if dr.Claims > 0 {
			drift(dr)
		}
		dr = Drift{}
	}
	for r := int(set.Start[p]); r < int(set.Start[p+1]); r++ {
		if y := set.Discharged[r].Year(); y != year {
			flush()
			year = y
			dr.PersonID, dr.Year = id, y
		}
		person, err := set.PersonAt(p, r)
		if err != nil {
			return err
		}
		rules, asPaid = rules.ForYear(year), asPaid.ForYear(year)
		if policy == nil || !policy.Covers(set.Discharged[r]) {
			if policy = policies.At(set.Discharged[r]); policy == nil {
				return fmt.Errorf("claim %s: %w on %s", set.ClaimID(r), calc.ErrNoPolicy, set.Discharged[r])
			}
		}
		c := set.Claim(p, r)
		before, rulesBefore := asPaid, rules
		if err := calc.SettleInto(s, policy, person, &rules, &c); err != nil {
			return err
		}
		pd := &paid[r-first]
		if !pd.Found {
			// The other system booked nothing for it: its ledger goes on without it.
			notPaid(r)
			continue
		}
		rulesT.Add(s)
		paidT.Claims++
		paidT.Total += c.Total
		for l := range calc.NumLines {
			paidT.Lines[l] += pd.Lines[l]
		}
		paidT.OutOfPocket += pd.OutOfPocket
		same := sameAmounts(s, pd)
		if same && before == rulesBefore {
			// Paid as the rules give against the rules' ledger: the amounts took from the
			// ledger what the rules took.
			asPaid = rules
			continue
		}
		ps := paidSettlement(&c, year, pd)
		if asPaid, err = asPaid.Add(&ps); err != nil {
			return err
		}
		if same {
			continue
		}
		d := PaidDifference{ClaimID: c.ID, PersonID: id, Year: year, Paid: pd.Lines, PaidOOP: pd.OutOfPocket, RulesOOP: s.OutOfPocket}
		for l := range calc.NumLines {
			d.Rules[l] = s.Lines[l].Amount
		}
		d.Root = calc.NumLines
		for l := range calc.NumLines {
			if d.Paid[l] != d.Rules[l] {
				if d.Root == calc.NumLines {
					d.Root = l
				} else {
					d.Follows = append(d.Follows, l)
				}
			}
		}
		if d.Root == calc.NumLines {
			// Only out-of-pocket differs, which a paid file whose rows sum to the total
			// cannot hold; said rather than hidden.
			d.Root = calc.Backstop
		}
		d.Causes = explain(policy, person, before, rulesBefore != before, &c, pd, d.Root)
		dr.Claims++
		for l := range calc.NumLines {
			dr.Delta[l] += d.Paid[l] - d.Rules[l]
		}
		dr.OOPDelta += d.PaidOOP - d.RulesOOP
		diff(&d)
	}
	flush()
	return nil
}

// paidSettlement is what an amount paid takes from a ledger: the lines as paid, and as
// critical-illness burden the in-policy cost left after basic insurance as paid.
func paidSettlement(c *calc.Claim, year int, pd *Paid) calc.Settlement {
	s := calc.Settlement{ClaimID: c.ID, PersonID: c.PersonID, Year: year, Kind: c.Kind, Level: c.Level,
		Total: c.Total, InPolicy: c.InPolicy, OutOfPocket: pd.OutOfPocket}
	for l := range calc.NumLines {
		s.Lines[l].Amount = pd.Lines[l]
	}
	s.Lines[calc.Critical].Base = max(c.InPolicy-pd.Lines[calc.Basic], 0)
	return s
}

func sameAmounts(s *calc.Settlement, pd *Paid) bool {
	for l := range calc.NumLines {
		if s.Lines[l].Amount != pd.Lines[l] {
			return false
		}
	}
	return s.OutOfPocket == pd.OutOfPocket
}

// hypothesis is a rule the other system may have settled a claim by: how it changes the
// policy and person the claim is settled under, and the rule in words, written only for
// a hypothesis that reproduces what was paid (most are tried and dropped).
type hypothesis struct {
	kind   CauseKind
	detail func() string
	change func(q *calc.Policy, who *calc.Person)
}

// text is a detail that needs no writing.
func text(s string) func() string { return func() string { return s } }

// explain returns the causes that reproduce what was paid on claim c, each tried against
// ledger, the one the amounts paid on the person-year's earlier claims built; drifted says
// that ledger differs from the rules' because an earlier claim differs.
func explain(p *calc.Policy, person *calc.Person, ledger calc.Ledger, drifted bool, c *calc.Claim, pd *Paid, root calc.Line) []Cause {
	var s calc.Settlement
	reproduces := func(p *calc.Policy, person *calc.Person) bool {
		l := ledger
		return calc.SettleInto(&s, p, person, &l, c) == nil && sameAmounts(&s, pd)
	}
	if drifted {
		if reproduces(p, person) {
			return []Cause{{Kind: KindKnockOn, Detail: "follows from an earlier claim of the person's year whose paid amounts differ: the rules give what was paid against the ledger those amounts built"}}
		}
		// The rule broken on this claim is on the first line where what was paid differs
		// from what the rules give against that ledger, which may come after the root.
		for l := range calc.NumLines {
			if s.Lines[l].Amount != pd.Lines[l] {
				root = l
				break
			}
		}
	}
	var (
		causes []Cause
		q      calc.Policy
		who    calc.Person
		bands  []calc.Band
	)
	for _, h := range hypotheses(p, person, c, root) {
		// A copy of the policy that h may change, its bands too.
		q, who = *p, *person
		bands = append(bands[:0], p.Critical.Bands...)
		q.Critical.Bands = bands
		h.change(&q, &who)
		if reproduces(&q, &who) {
			causes = append(causes, Cause{Kind: h.kind, Detail: h.detail()})
		}
	}
	if len(causes) == 0 {
		return []Cause{{Kind: KindNone, Detail: "no rule tried reproduces what was paid"}}
	}
	slices.SortStableFunc(causes, func(a, b Cause) int { return cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)) })
	return causes
}

func kindRank(k CauseKind) int { return slices.Index(Kinds(), k) }

// hypotheses lists the rules to try for a claim whose root line is root.
func hypotheses(p *calc.Policy, person *calc.Person, c *calc.Claim, root calc.Line) []hypothesis {
	var hs []hypothesis
	add := func(kind CauseKind, detail func() string, change func(q *calc.Policy, who *calc.Person)) {
		hs = append(hs, hypothesis{kind: kind, detail: detail, change: change})
	}
	k, lv := c.Kind, c.Level
	switch root {
	case calc.Basic:
		own := p.Basic.Deductible[k][lv]
		seen := map[calc.Money]bool{own: true}
		for _, other := range calc.Levels() {
			d := p.Basic.Deductible[k][other]
			if seen[d] {
				continue
			}
			seen[d] = true
			add(KindDeductible, func() string {
				return fmt.Sprintf("basic took the %s deductible %s of level %s instead of %s's %s", k, d, other, lv, own)
			},
				func(q *calc.Policy, _ *calc.Person) { q.Basic.Deductible[k][lv] = d })
		}
		ownRate := p.Basic.Rate[k][lv]
		seenRate := map[calc.Rate]bool{ownRate: true}
		for _, ok := range calc.Kinds() {
			for _, ol := range calc.Levels() {
				r := p.Basic.Rate[ok][ol]
				if seenRate[r] {
					continue
				}
				seenRate[r] = true
				add(KindRate, func() string {
					return fmt.Sprintf("basic paid at the rate %s (%s, %s) instead of %s", r, ok, ol, ownRate)
				},
					func(q *calc.Policy, _ *calc.Person) { q.Basic.Rate[k][lv] = r })
			}
		}
		capHypotheses(p, person, root, c, add)
	case calc.Critical:
		for i, b := range p.Critical.Bands {
			for j, o := range p.Critical.Bands {
				if i == j || o.Rate == b.Rate {
					continue
				}
				add(KindRate, func() string {
					return fmt.Sprintf("the critical-illness band from %s paid at %s, the rate of the band from %s, instead of %s", b.From, o.Rate, o.From, b.Rate)
				},
					func(q *calc.Policy, _ *calc.Person) { q.Critical.Bands[i].Rate = o.Rate })
			}
		}
		capHypotheses(p, person, root, c, add)
	case calc.Commercial:
		if !person.RegisteredPoor {
			add(KindNotEligible, text("commercial insurance paid to a person not registered poor"),
				func(q *calc.Policy, who *calc.Person) {
					who.RegisteredPoor = true
					q.Backstop.OOPCeiling = calc.RateOne
				})
			add(KindNotEligible, text("commercial insurance and the backstop paid to a person not registered poor"),
				func(_ *calc.Policy, who *calc.Person) { who.RegisteredPoor = true })
		}
		if p.Commercial.InPolicyRate != p.Commercial.OutOfPolicyRate {
			add(KindRate, func() string {
				return fmt.Sprintf("commercial paid the in-policy remainder at the out-of-policy rate %s", p.Commercial.OutOfPolicyRate)
			},
				func(q *calc.Policy, _ *calc.Person) { q.Commercial.InPolicyRate = p.Commercial.OutOfPolicyRate })
			add(KindRate, func() string {
				return fmt.Sprintf("commercial paid the out-of-policy remainder at the in-policy rate %s", p.Commercial.InPolicyRate)
			},
				func(q *calc.Policy, _ *calc.Person) { q.Commercial.OutOfPolicyRate = p.Commercial.InPolicyRate })
		}
		capHypotheses(p, person, root, c, add)
	case calc.Aid:
		if person.Aid == calc.AidNone {
			for _, cat := range calc.AidCategories() {
				add(KindNotEligible, func() string { return fmt.Sprintf("aid paid at the %s rate to a person without an aid category", cat) },
					func(_ *calc.Policy, who *calc.Person) { who.Aid = cat })
			}
		} else {
			for _, cat := range calc.AidCategories() {
				if cat == person.Aid || p.Aid.Rate[cat] == p.Aid.Rate[person.Aid] {
					continue
				}
				add(KindRate, func() string {
					return fmt.Sprintf("aid paid at the %s rate %s instead of the %s rate %s", cat, p.Aid.Rate[cat], person.Aid, p.Aid.Rate[person.Aid])
				},
					func(q *calc.Policy, who *calc.Person) { q.Aid.Rate[who.Aid] = p.Aid.Rate[cat] })
			}
			capHypotheses(p, person, root, c, add)
		}
	case calc.Backstop:
		if !person.RegisteredPoor {
			add(KindNotEligible, text("the backstop paid to a person not registered poor"),
				func(q *calc.Policy, who *calc.Person) {
					who.RegisteredPoor = true
					q.Commercial.InPolicyRate, q.Commercial.OutOfPolicyRate = 0, 0
				})
		}
	}
	return hs
}

// capHypotheses adds, for the root line's annual cap, the cap not applied and, in its
// place, each smaller cap the policy sets.
func capHypotheses(p *calc.Policy, person *calc.Person, root calc.Line, c *calc.Claim, add func(CauseKind, func() string, func(*calc.Policy, *calc.Person))) {
	type namedCap struct {
		name string
		cap  calc.Money
	}
	caps := []namedCap{{"basic annual cap", p.Basic.AnnualCap}, {"outpatient_chronic basic sub-cap", p.Basic.ChronicAnnualCap},
		{"critical-illness annual cap", p.Critical.AnnualCap}, {"commercial annual cap", p.Commercial.AnnualCap}}
	for _, cat := range calc.AidCategories() {
		caps = append(caps, namedCap{cat.String() + " aid annual cap", p.Aid.AnnualCap[cat]})
	}
	// own is the line's cap, set sets it in q.
	var (
		own  calc.Money
		set  func(q *calc.Policy, who *calc.Person, m calc.Money)
		name string
	)
	chronic := c.Kind == calc.OutpatientChronic // not c in the closures: c would escape
	switch root {
	case calc.Basic:
		own, name = p.Basic.AnnualCap, "basic annual cap"
		if chronic {
			own, name = min(own, p.Basic.ChronicAnnualCap), "outpatient_chronic basic sub-cap"
		}
		set = func(q *calc.Policy, _ *calc.Person, m calc.Money) {
			if m == calc.NoCap {
				q.Basic.AnnualCap, q.Basic.ChronicAnnualCap = m, m
				return
			}
			if chronic {
				q.Basic.ChronicAnnualCap = m
			} else {
				q.Basic.AnnualCap = m
			}
		}
	case calc.Critical:
		own, name = p.Critical.AnnualCap, "critical-illness annual cap"
		set = func(q *calc.Policy, _ *calc.Person, m calc.Money) { q.Critical.AnnualCap = m }
	case calc.Commercial:
		own, name = p.Commercial.AnnualCap, "commercial annual cap"
		set = func(q *calc.Policy, _ *calc.Person, m calc.Money) { q.Commercial.AnnualCap = m }
	case calc.Aid:
		own, name = p.Aid.AnnualCap[person.Aid], person.Aid.String()+" aid annual cap"
		set = func(q *calc.Policy, who *calc.Person, m calc.Money) { q.Aid.AnnualCap[who.Aid] = m }
	default:
		return
	}
	if own != calc.NoCap {
		add(KindCapNotApplied, func() string { return fmt.Sprintf("the %s of %s was not applied", name, own) },
			func(q *calc.Policy, who *calc.Person) { set(q, who, calc.NoCap) })
	}
	seen := map[calc.Money]bool{calc.NoCap: true}
	for _, o := range caps {
		if seen[o.cap] || o.cap <= 0 || o.cap >= own {
			continue
		}
		seen[o.cap] = true
		add(KindCapEarly, func() string {
			return fmt.Sprintf("the line was cut at the %s of %s, a smaller cap than its own", o.name, o.cap)
		},
			func(q *calc.Policy, who *calc.Person) { set(q, who, o.cap) })
	}
}
