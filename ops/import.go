package ops

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
)

// Import is a data set for Service.Import: persons, providers, and claims as submitted.
type Import struct {
	Persons []calc.Person
	// Histories holds the register versions of the persons whose attributes changed or
	// hold on some days only, as a dated persons file gives them (csvdata.Register, the
	// reading replay and the audit from files share): each is stored as those versions,
	// numbered as given, and each of their claims is settled with the version in force on
	// its discharge day, which its settlement records. Such a person's entry in Persons
	// is the version in force on the last day (calc.History.Last). The others are stored
	// as one version, numbered 1, holding always.
	Histories map[string]calc.History
	Providers []calc.Provider
	Claims    []calc.Claim // in any order; each is settled in its person's discharge order
}

// ImportStats is what Service.Import stored.
type ImportStats struct {
	Persons   int        // persons stored
	Providers int        // providers stored; those already stored with the same values are not counted
	Claims    int        // claims stored, each with its settlement
	Claimants int        // persons with at least one claim
	Ledgers   int        // person-year ledgers stored
	Versions  []string   // the published policy versions the claims were settled under
	Tally     calc.Tally // the settlements' sums
}

// Import stores a data set as if every claim had been sent to Settle, one at a time in
// each person's discharge order, but in one transaction and in bulk: it is how a
// province-sized synthetic data set (hpcalc fixtures scale) gets into a database in
// minutes rather than hours of Settle calls. It checks the input, settles the claims
// with batch, persons in parallel, each under the published policy in force on its
// discharge day from a fresh ledger, and has store.ImportSettled write the persons, the
// providers, the claims, the settlements (the rows Settle would store, but for their ids
// and stamps: see there) and the final person-year ledgers.
//
// It stores nothing unless everything is stored. It refuses, storing nothing:
//
//   - an input that breaks a rule (errors.Is calc.ErrInvalid): an empty or repeated
//     person, provider or claim id; a person without a household or with an unknown aid
//     category; a provider with an unknown level; a claim that breaks calc's rules
//     (Claim.Validate), whose person is not among the imported persons, whose provider is
//     neither imported nor stored, or whose level is not its provider's;
//   - a discharge day no published policy covers (errors.Is calc.ErrNoPolicy);
//   - a database that already holds claims, or any of the imported persons, or a provider
//     with the id of an imported one but other values (errors.Is store.ErrConflict): so
//     that no imported person can have a ledger or settlement already, and the import
//     settles everyone from a fresh ledger.
//
// progress, if not nil, is called from the calling goroutine as each of the stages
// "persons", "providers", "claims", "settlements" (settled and stored) and "ledgers"
// starts (Done 0) and ends (Done = Total), and every 100,000 rows in between. Memory: the
// claims are held in a batch.ClaimTable (about 120 bytes a claim with its strings) and every
// person's ledger while the settlements are streamed to the database.
func (s *Service) Import(ctx context.Context, in Import, progress func(Progress)) (ImportStats, error) {
	set, err := importSet(&in)
	if err != nil {
		return ImportStats{}, err
	}
	in.Claims = nil // the set holds them now
	policies, err := s.store.Policies(ctx)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: %w", err)
	}
	versions, err := coveredBy(set, policies)
	if err != nil {
		return ImportStats{}, err
	}
	var tally calc.Tally
	settle := func(put func(row int, st *calc.Settlement, personVersion int32, after calc.Ledger, discharged calc.Date)) ([]store.PersonLedger, error) {
		// batch.Run calls Each for one person's claims in discharge order from one
		// goroutine, so ledgers[p] is the person's running ledger, as Settle keeps it.
		var (
			ledgers = make([]calc.Ledger, len(set.Persons))
			mu      sync.Mutex
			earlier []store.PersonLedger // the ledgers of years before a person's last
		)
		each := func(p, r int, st *calc.Settlement) {
			l := &ledgers[p]
			if l.Claims > 0 && l.Year != st.Year {
				mu.Lock()
				earlier = append(earlier, store.PersonLedger{PersonID: set.Persons[p].ID, Ledger: *l})
				mu.Unlock()
			}
			// Add cannot fail: the ledger is of the settlement's year.
			*l, _ = l.ForYear(st.Year).Add(st)
			// Each imported person is new: one register version, numbered 1, holding
			// always, unless their history says otherwise.
			version := int32(1)
			if set.Histories[int32(p)] != nil {
				if x, err := set.PersonAt(p, r); err == nil { // batch.Run settled r with it
					version = x.Version
				}
			}
			put(r, st, version, *l, set.Discharged[r])
		}
		res, err := batch.Run(set, policies, batch.Options{Each: each})
		if err != nil {
			return nil, fmt.Errorf("import settlements: %w", err)
		}
		tally = res.All
		out := make([]store.PersonLedger, 0, len(ledgers)+len(earlier))
		for p := range ledgers {
			if ledgers[p].Claims > 0 {
				out = append(out, store.PersonLedger{PersonID: set.Persons[p].ID, Ledger: ledgers[p]})
			}
		}
		return append(out, earlier...), nil
	}
	var report func(store.ImportProgress)
	if progress != nil {
		report = func(p store.ImportProgress) { progress(Progress{Stage: p.Stage, Done: p.Done, Total: p.Total}) }
	}
	stored, err := s.store.ImportSettled(ctx, store.Import{Persons: in.Persons, Histories: in.Histories, Providers: in.Providers,
		Claims: rowsOf(set), NumClaims: set.Len(), Settle: settle}, report)
	if err != nil {
		return ImportStats{}, err
	}
	return ImportStats{Persons: stored.Persons, Providers: stored.Providers, Claims: stored.Claims, Claimants: len(set.Persons),
		Ledgers: stored.Ledgers, Versions: versions, Tally: tally}, nil
}

// rowsOf yields the claims of set row by row: persons in id order, each person's claims
// in settlement order.
func rowsOf(set *batch.ClaimTable) iter.Seq[*calc.Claim] {
	return func(yield func(*calc.Claim) bool) {
		for p := range set.Persons {
			for r := int(set.Start[p]); r < int(set.Start[p+1]); r++ {
				c := set.Claim(p, r)
				if !yield(&c) {
					return
				}
			}
		}
	}
}

// coveredBy checks that a version of policies covers every discharge day of set; it
// returns the versions the claims fall under, in the order of their periods.
func coveredBy(set *batch.ClaimTable, ps *calc.PolicySet) ([]string, error) {
	used := map[string]bool{}
	cp := store.Problems{What: "claims"}
	var policy *calc.Policy
	for r, day := range set.Discharged {
		if policy == nil || !policy.Covers(day) {
			if policy = ps.At(day); policy == nil {
				cp.Add("claim %s: discharged_on: no published policy is in force on %s", set.ClaimID(r), day)
				continue
			}
			used[policy.Version] = true
		}
	}
	if err := cp.Err(calc.ErrNoPolicy); err != nil {
		return nil, err
	}
	var versions []string
	for _, p := range ps.Policies() {
		if used[p.Version] {
			versions = append(versions, p.Version)
		}
	}
	return versions, nil
}

// sortedBy returns the indexes 0..n-1 ordered by key, and the first two that share a key
// (-1, -1 if none). Inputs usually come ordered already, which one pass finds out.
func sortedBy(n int, key func(i int32) string) ([]int32, int32, int32) {
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	byKey := func(a, b int32) int { return cmp.Or(strings.Compare(key(a), key(b)), cmp.Compare(a, b)) }
	if !slices.IsSortedFunc(order, byKey) {
		slices.SortFunc(order, byKey)
	}
	for k := 1; k < len(order); k++ {
		if key(order[k]) == key(order[k-1]) {
			return order, order[k-1], order[k]
		}
	}
	return order, -1, -1
}

// importSet checks what can be checked of an import without the database and returns its
// claims grouped by person in settlement order.
func importSet(in *Import) (*batch.ClaimTable, error) {
	pp := store.Problems{What: "persons"}
	for i := range in.Persons {
		p := &in.Persons[i]
		switch {
		case p.ID == "":
			pp.Add("person %d: person_id must not be empty", i+1)
		case p.HouseholdID == "":
			pp.Add("person %s: household_id must not be empty", p.ID)
		case p.Aid >= calc.NumAidCategories:
			pp.Add("person %s: aid_category: unknown category %d", p.ID, p.Aid)
		}
	}
	byPerson, a, b := sortedBy(len(in.Persons), func(i int32) string { return in.Persons[i].ID })
	if a >= 0 {
		pp.Add("person_id %s appears twice (persons %d and %d)", in.Persons[a].ID, a+1, b+1)
	}
	ids := slices.Sorted(maps.Keys(in.Histories))
	for _, id := range ids {
		checkHistory(&pp, id, in.Histories[id], func(id string) *calc.Person {
			k, found := slices.BinarySearchFunc(byPerson, id, func(j int32, id string) int { return strings.Compare(in.Persons[j].ID, id) })
			if !found {
				return nil
			}
			return &in.Persons[byPerson[k]]
		})
	}
	if err := pp.Err(calc.ErrInvalid); err != nil {
		return nil, err
	}

	vp := store.Problems{What: "providers"}
	for i := range in.Providers {
		p := &in.Providers[i]
		switch {
		case p.ID == "":
			vp.Add("provider %d: provider_id must not be empty", i+1)
		case p.Level >= calc.NumLevels:
			vp.Add("provider %s: level: unknown level %d", p.ID, p.Level)
		}
	}
	if _, a, b := sortedBy(len(in.Providers), func(i int32) string { return in.Providers[i].ID }); a >= 0 {
		vp.Add("provider_id %s appears twice (providers %d and %d)", in.Providers[a].ID, a+1, b+1)
	}
	if err := vp.Err(calc.ErrInvalid); err != nil {
		return nil, err
	}

	// The persons with claims, found by binary search in the persons ordered by id:
	// a map of every person would take far more memory than the claims.
	cp := store.Problems{What: "claims"}
	claimants := map[string]calc.Person{}
	for i := range in.Claims {
		c := &in.Claims[i]
		if err := c.Validate(); err != nil {
			cp.Add("%v", err)
			continue
		}
		if _, ok := claimants[c.PersonID]; ok {
			continue
		}
		k, found := slices.BinarySearchFunc(byPerson, c.PersonID, func(j int32, id string) int { return strings.Compare(in.Persons[j].ID, id) })
		if !found {
			cp.Add("claim %s: person_id: unknown person %s: not among the imported persons", c.ID, c.PersonID)
			continue
		}
		claimants[c.PersonID] = in.Persons[byPerson[k]]
	}
	if _, a, _ := sortedBy(len(in.Claims), func(i int32) string { return in.Claims[i].ID }); a >= 0 {
		cp.Add("claim_id %s appears twice", in.Claims[a].ID)
	}
	if err := cp.Err(calc.ErrInvalid); err != nil {
		return nil, err
	}
	set, err := batch.NewClaimTable(claimants, in.Claims)
	if err != nil {
		return nil, fmt.Errorf("import claims: %w", err) // cannot happen: every person was found
	}
	set.UseHistories(in.Histories)
	for p := range set.Histories {
		for r := set.Start[p]; r < set.Start[p+1]; r++ {
			if _, err := set.PersonAt(int(p), int(r)); err != nil {
				cp.Add("%v: no version of the person's register entry holds that day", err)
			}
		}
	}
	if err := cp.Err(calc.ErrInvalid); err != nil {
		return nil, err
	}
	return set, nil
}

// checkHistory adds to pp what is wrong with person id's register versions h: versions
// numbered 1, 2, ... in order, each ending on or after its start and after the version
// before it ends (as a dated persons file has them), of a person of the import whose
// entry (person) is the version in force on the last day.
func checkHistory(pp *store.Problems, id string, h calc.History, person func(id string) *calc.Person) {
	p := person(id)
	if p == nil {
		pp.Add("person %s has register versions but is not among the imported persons", id)
		return
	}
	if len(h) == 0 {
		pp.Add("person %s: no register version", id)
		return
	}
	for i := range h {
		v := &h[i]
		switch {
		case v.ID != id:
			pp.Add("person %s: version %d is of person %s", id, i+1, v.ID)
			return
		case v.Version != int32(i+1):
			pp.Add("person %s: version %d is numbered %d: versions are numbered 1, 2, ... in date order", id, i+1, v.Version)
			return
		case v.From == calc.NoDate || v.To == calc.NoDate || v.To < v.From:
			pp.Add("person %s: version %d holds from %s to %s: each version ends on or after its start", id, i+1, v.From, v.To)
			return
		case i > 0 && v.From <= h[i-1].To:
			pp.Add("person %s: version %d starts on %s, before version %d ends (%s): versions do not overlap", id, i+1, v.From, i, h[i-1].To)
			return
		case v.HouseholdID == "" || v.Aid >= calc.NumAidCategories:
			pp.Add("person %s: version %d has no household or an unknown aid category", id, i+1)
			return
		}
	}
	if last := h.Last(); last == nil || !calc.SameAttributes(last, p) || last.Version != p.Version && p.Version != 0 {
		pp.Add("person %s: the person's entry is not the register version in force on the last day of their versions", id)
	}
}
