// Package batch is the bulk engine for audit replays and what-if runs: it holds a period's
// claims in a compact, column-oriented form grouped by person and sorted by discharge
// date, and settles them under a set of policy versions with fresh ledgers, persons in
// parallel on every core.
//
// batch does no I/O; it must never import store, ops, api or cmd.
package batch

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hpcalc/hpcalc/calc"
)

// ClaimTable is a period's claims by person, in columns indexed by row. Person p's claims
// are rows Start[p] to Start[p+1]-1, in settlement order (calc.CompareClaims).
type ClaimTable struct {
	Persons []calc.Person
	Start   []int32 // len(Persons)+1 offsets into the columns
	// Histories holds, by person number, the register versions of the persons whose
	// attributes changed (or hold on some days only): their claims are settled with the
	// version in force on each discharge day (PersonAt). Nil when no person has any.
	Histories map[int32]calc.History

	// The claims' ids back to back, in row order: row r's id is IDs[IDEnd[r-1]:IDEnd[r]]
	// (ClaimID). One string and offsets, not a string per claim: a province's million
	// strings were as many pointers for the garbage collector to follow at each of a
	// what-if's cycles, a tenth of its CPU.
	IDs   string
	IDEnd []uint32
	// Provider[r] is row r's provider, as its index in Providers, each provider id once
	// (ProviderID), for the same reason.
	Provider   []int32
	Providers  []string
	Level      []calc.Level
	Kind       []calc.Kind
	Admitted   []calc.Date
	Discharged []calc.Date
	Total      []calc.Money
	InPolicy   []calc.Money
	Input      []int32 // the row's index in the claims given to NewClaimTable

	// Household, if not nil, numbers each person's household from 0 to NumHouseholds-1
	// (a Builder's persons number them), so that a what-if need not find households by id.
	Household     []int32
	NumHouseholds int
}

// Len is the number of claims.
func (s *ClaimTable) Len() int { return len(s.IDEnd) }

// ClaimID is row r's claim id.
func (s *ClaimTable) ClaimID(r int) string {
	start := uint32(0)
	if r > 0 {
		start = s.IDEnd[r-1]
	}
	return s.IDs[start:s.IDEnd[r]]
}

// ProviderID is row r's provider id.
func (s *ClaimTable) ProviderID(r int) string { return s.Providers[s.Provider[r]] }

// NewClaimTable groups claims by person and orders each person's claims for settlement.
// It returns an error naming the first claim of an unknown person.
func NewClaimTable(persons map[string]calc.Person, claims []calc.Claim) (*ClaimTable, error) {
	order := make([]int32, len(claims))
	for i := range order {
		order[i] = int32(i)
	}
	settlementOrder := func(a, b int32) int {
		return calc.CompareByPerson(&claims[a], &claims[b])
	}
	// Claims read from a database usually come in this order already.
	if !slices.IsSortedFunc(order, settlementOrder) {
		slices.SortFunc(order, settlementOrder)
	}
	n := len(claims)
	s := &ClaimTable{
		IDEnd: make([]uint32, n), Provider: make([]int32, n), Level: make([]calc.Level, n), Kind: make([]calc.Kind, n),
		Admitted: make([]calc.Date, n), Discharged: make([]calc.Date, n), Total: make([]calc.Money, n),
		InPolicy: make([]calc.Money, n), Input: order,
	}
	var ids strings.Builder
	provider := map[string]int32{}
	for row, i := range order {
		c := &claims[i]
		if row == 0 || c.PersonID != claims[order[row-1]].PersonID {
			p, ok := persons[c.PersonID]
			if !ok {
				return nil, fmt.Errorf("claim %s: unknown person %s", c.ID, c.PersonID)
			}
			s.Persons = append(s.Persons, p)
			s.Start = append(s.Start, int32(row))
		}
		ids.WriteString(c.ID)
		s.IDEnd[row] = uint32(ids.Len())
		pr, ok := provider[c.ProviderID]
		if !ok {
			pr = int32(len(s.Providers))
			provider[c.ProviderID] = pr
			s.Providers = append(s.Providers, c.ProviderID)
		}
		s.Provider[row], s.Level[row], s.Kind[row] = pr, c.Level, c.Kind
		s.Admitted[row], s.Discharged[row], s.Total[row], s.InPolicy[row] = c.AdmittedOn, c.DischargedOn, c.Total, c.InPolicy
	}
	s.Start = append(s.Start, int32(n))
	s.IDs = ids.String()
	return s, nil
}

// UseHistories settles the claims of every person of the table that h holds with the
// version in force on each discharge day (see Histories).
func (s *ClaimTable) UseHistories(h map[string]calc.History) {
	for p := range s.Persons {
		if x, ok := h[s.Persons[p].ID]; ok {
			if s.Histories == nil {
				s.Histories = map[int32]calc.History{}
			}
			s.Histories[int32(p)] = x
		}
	}
}

// PersonAt returns person p, whose claim is row r, as the register had them on the
// claim's discharge day. Errors: calc.ErrNotRegistered, naming the claim, when no version
// of the person holds that day.
func (s *ClaimTable) PersonAt(p, r int) (*calc.Person, error) {
	if s.Histories != nil {
		if h, ok := s.Histories[int32(p)]; ok {
			if x := h.At(s.Discharged[r]); x != nil {
				return x, nil
			}
			return nil, fmt.Errorf("claim %s: person %s is %w %s", s.ClaimID(r), s.Persons[p].ID, calc.ErrNotRegistered, s.Discharged[r])
		}
	}
	return &s.Persons[p], nil
}

// Claim returns row r as a claim.
func (s *ClaimTable) Claim(p, r int) calc.Claim {
	return calc.Claim{ID: s.ClaimID(r), PersonID: s.Persons[p].ID, ProviderID: s.ProviderID(r), Level: s.Level[r], Kind: s.Kind[r],
		AdmittedOn: s.Admitted[r], DischargedOn: s.Discharged[r], Total: s.Total[r], InPolicy: s.InPolicy[r]}
}

// Totals are a run's sums, overall and by provider level, claim kind and aid category.
type Totals struct {
	All     calc.Tally
	ByLevel [calc.NumLevels]calc.Tally
	ByKind  [calc.NumKinds]calc.Tally
	ByAid   [calc.NumAidCategories]calc.Tally
}

// cells are a worker's sums by level, kind and aid category together: one addition per
// settlement, spread over the groupings when the workers' sums are merged.
type cells [calc.NumLevels][calc.NumKinds][calc.NumAidCategories]calc.Tally

func (t *Totals) merge(c *cells) {
	for l := range c {
		for k := range c[l] {
			for a := range c[l][k] {
				x := c[l][k][a]
				t.All.Merge(x)
				t.ByLevel[l].Merge(x)
				t.ByKind[k].Merge(x)
				t.ByAid[a].Merge(x)
			}
		}
	}
}

// Result is a run: its totals, and per person what the five lines paid and what the
// person paid.
type Result struct {
	Totals
	OutOfPocket []calc.Money                // by person
	Lines       [][calc.NumLines]calc.Money // by person: what each line paid
	// Moved holds, claim by claim, what was paid for the claims of the persons whose
	// household changed (see ClaimTable.Movers), so that a what-if counts each claim in
	// the household the person belonged to on its discharge day; nil when there are none.
	Moved []MovedClaim
}

// MovedClaim is what was paid for one claim of a person whose household changed.
type MovedClaim struct {
	Person, Row int32
	Lines       [calc.NumLines]calc.Money
	OutOfPocket calc.Money
}

// Movers returns the persons whose register versions put them in more than one household
// (or in another than Persons[p] says), each with where their claims start in a list of
// the claims of all of them in person and row order; nil when there are none.
func (s *ClaimTable) Movers() map[int32]int32 {
	var movers []int32
	for p, h := range s.Histories {
		for i := range h {
			if h[i].HouseholdID != s.Persons[p].HouseholdID {
				movers = append(movers, p)
				break
			}
		}
	}
	if len(movers) == 0 {
		return nil
	}
	slices.Sort(movers)
	at := make(map[int32]int32, len(movers))
	n := int32(0)
	for _, p := range movers {
		at[p] = n
		n += s.Start[p+1] - s.Start[p]
	}
	return at
}

// Public is what the five lines together paid for person p's claims.
func (r *Result) Public(p int) calc.Money {
	var sum calc.Money
	for _, m := range r.Lines[p] {
		sum += m
	}
	return sum
}

// Options of a run.
type Options struct {
	Workers int // goroutines; 0 means one per core
	// Each, if not nil, is called for every settlement with the person and row; calls
	// come from several goroutines at once, and s is reused after the call.
	Each func(p, r int, s *calc.Settlement)
	// TopHouseholds, if more than 0, makes RunWhatIf list only that many households each
	// way: those whose claims would cost the public purse most more and most less.
	TopHouseholds int
	// Histories are, for RunAudit, the register versions of the persons whose attributes
	// changed (store.Histories): claims are re-settled with the version in force on their
	// discharge day, and a claim settled with another version that says otherwise is
	// reported as a register change.
	Histories map[string]calc.History
	// Progress, if not nil, is called after each chunk of persons is settled with how many
	// persons of how many are done; calls come from several goroutines at once, with done
	// rising. If it returns an error the run stops as soon as every worker has finished its
	// chunk, and returns that error: a caller cancels a long run this way.
	Progress func(done, total int) error
}

// Run settles every claim of set under policies, each under the version in force on its
// discharge day, with a fresh ledger per person per calendar year. It returns an error
// naming the first claim that cannot be settled; persons are settled in parallel, so
// which claim is "first" may vary between runs when several fail.
func Run(set *ClaimTable, policies *calc.PolicySet, opt Options) (*Result, error) {
	res, err := runEach(set, []*calc.PolicySet{policies}, opt)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// runEach is Run under each of several policy sets at once, a Result for each: every
// claim is read once and settled under each set in turn. A what-if settling its claims
// under the base and the scenario in two runs read each claim twice, and the reading
// (each claim's columns, its person, its year) cost as much as a settlement. opt.Each is
// called with the settlements of the first set only.
func runEach(set *ClaimTable, sets []*calc.PolicySet, opt Options) ([]*Result, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	persons := len(set.Persons)
	movers := set.Movers()
	var moved []MovedClaim // the movers' claims, in each result's Moved
	if movers != nil {
		n := 0
		for p := range movers {
			n += int(set.Start[p+1] - set.Start[p])
		}
		moved = make([]MovedClaim, n)
		for p, at := range movers {
			for r := set.Start[p]; r < set.Start[p+1]; r++ {
				moved[at+r-set.Start[p]] = MovedClaim{Person: p, Row: r}
			}
		}
	}
	results := make([]*Result, len(sets))
	for i := range results {
		results[i] = &Result{OutOfPocket: make([]calc.Money, persons), Lines: make([][calc.NumLines]calc.Money, persons),
			Moved: slices.Clone(moved)}
	}
	// Persons are handed out in chunks, so that a worker with heavy persons does not hold
	// up the others.
	const chunk = 1024
	var (
		next    = make(chan int, workers)
		mu      sync.Mutex
		first   error
		wg      sync.WaitGroup
		settled atomic.Int64 // persons done, for Progress
		stopped atomic.Bool  // a worker failed or Progress said stop: the others stop too
	)
	go func() {
		for lo := 0; lo < persons; lo += chunk {
			next <- lo
		}
		close(next)
	}()
	// each is what a worker keeps for one policy set.
	type each struct {
		t      cells
		s      calc.Settlement
		policy *calc.Policy
		ledger calc.Ledger
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]each, len(sets))
			for lo := range next {
				if stopped.Load() {
					return
				}
				for p := lo; p < min(lo+chunk, persons); p++ {
					for i := range mine {
						mine[i].ledger = calc.Ledger{}
					}
					movedAt, moved := int32(0), false // p's claims in each result's Moved, if p moved
					if movers != nil {
						movedAt, moved = movers[int32(p)]
					}
					for r := int(set.Start[p]); r < int(set.Start[p+1]); r++ {
						person, err := set.PersonAt(p, r)
						if err != nil {
							mu.Lock()
							first = cmp.Or(first, err)
							mu.Unlock()
							return
						}
						day := set.Discharged[r]
						year := day.Year()
						c := set.Claim(p, r)
						for i := range mine {
							e, res := &mine[i], results[i]
							e.ledger = e.ledger.ForYear(year)
							if e.policy == nil || !e.policy.Covers(day) {
								if e.policy = sets[i].At(day); e.policy == nil {
									mu.Lock()
									first = cmp.Or(first, fmt.Errorf("claim %s: %w on %s", set.ClaimID(r), calc.ErrNoPolicy, day))
									mu.Unlock()
									return
								}
							}
							s := &e.s
							if err := calc.SettleInto(s, e.policy, person, &e.ledger, &c); err != nil {
								mu.Lock()
								first = cmp.Or(first, err)
								mu.Unlock()
								return
							}
							e.t[s.Level][s.Kind][s.Aid].Add(s)
							res.OutOfPocket[p] += s.OutOfPocket
							for l := range calc.NumLines {
								res.Lines[p][l] += s.Lines[l].Amount
							}
							if moved {
								m := &res.Moved[int(movedAt)+r-int(set.Start[p])]
								m.OutOfPocket = s.OutOfPocket
								for l := range calc.NumLines {
									m.Lines[l] = s.Lines[l].Amount
								}
							}
							if i == 0 && opt.Each != nil {
								opt.Each(p, r, s)
							}
						}
					}
				}
				if opt.Progress != nil {
					done := settled.Add(int64(min(lo+chunk, persons) - lo))
					if err := opt.Progress(int(done), persons); err != nil {
						mu.Lock()
						first = cmp.Or(first, err)
						mu.Unlock()
						stopped.Store(true)
						return
					}
				}
			}
			mu.Lock()
			for i := range mine {
				results[i].Totals.merge(&mine[i].t)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if first != nil {
		// Drain the feeder so that its goroutine ends.
		for range next {
		}
		return nil, first
	}
	return results, nil
}
