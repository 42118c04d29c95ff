package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
)

// Import is a data set for ImportSettled: persons, providers, and claims as submitted.
type Import struct {
	Persons   []calc.Person
	Providers []calc.Provider
	Claims    []calc.Claim // in any order; each is settled in its person's discharge order
}

// ImportStats is what ImportSettled stored.
type ImportStats struct {
	Persons   int        // persons stored
	Providers int        // providers stored; those already stored with the same values are not counted
	Claims    int        // claims stored, each with its settlement
	Claimants int        // persons with at least one claim
	Ledgers   int        // person-year ledgers stored
	Versions  []string   // the published policy versions the claims were settled under
	Tally     calc.Tally // the settlements' sums
}

// ImportProgress is how far ImportSettled has come: Done of Total rows of Stage, one of
// "persons", "providers", "claims", "settlements" (settled and stored) and "ledgers".
type ImportProgress struct {
	Stage       string
	Done, Total int
}

// importProgressEvery is how many rows pass between two progress reports of one stage.
const importProgressEvery = 100_000

// ImportSettled stores a data set as if every claim had been sent to Settle, one at a
// time in each person's discharge order, but in one transaction and in bulk (COPY in
// PostgreSQL, multi-row INSERTs in SQLite): it is how a province-sized synthetic data set
// (hpcalc fixtures scale) gets into a database in minutes rather than hours of Settle
// calls. It stores the persons, the providers, the claims as submitted, each claim's
// settlement under the published policy in force on its discharge day, and the final
// person-year ledgers. The settlements rows are those Settle stores (the same columns
// and the same detail, ledger after included), so that Settlement, Tally, the audit and
// LedgerFromSettlements read them back alike; only their ids and stamps differ:
//
//   - a settlement's id is "S" and its claim id, so that the same data set imported twice
//     gives the same ids; Settle's ids are "S" and 24 random hex digits, which could only
//     meet one of these for a claim id of 24 hex digits, with a chance of 2⁻⁹⁶;
//   - claims are received at the store clock's s.Now() when the import begins, and the
//     settlement of row k (persons in id order, each person's claims in discharge order)
//     is stamped k nanoseconds later, so that a person's settlements read back in the
//     order they were settled, as the audit's causes and LedgerFromSettlements expect.
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
//     with the id of an imported one but other values (errors.Is ErrConflict). The rule
//     is that simple so that no imported person can have a ledger or settlement already:
//     the import settles everyone from a fresh ledger. A provider stored with the same
//     values is left as it is (providers are shared reference data: serve
//     --load-fixtures stores the same ones).
//
// The checks run inside the transaction. In PostgreSQL a Settle committed meanwhile by
// another process is not seen by them, but the claims' and persons' keys still make the
// import fail whole rather than store a claim or person twice.
//
// progress, if not nil, is called from the calling goroutine as each stage starts (Done
// 0) and ends (Done = Total), and every 100,000 rows in between. Memory: the claims are held in a batch.Set
// (about 120 bytes a claim with its strings) and every person's ledger while the
// settlements are streamed to the database.
func (s *Store) ImportSettled(ctx context.Context, in Import, progress func(ImportProgress)) (ImportStats, error) {
	if progress == nil {
		progress = func(ImportProgress) {}
	}
	set, byID, err := importSet(&in)
	if err != nil {
		return ImportStats{}, err
	}
	in.Claims = nil // the set holds them now
	var stats ImportStats
	started := s.Now().UTC()
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		imp := &importer{s: s, tx: tx, set: set, in: &in, byID: byID, started: started, progress: progress}
		var err error
		stats, err = imp.run(ctx)
		return err
	})
	if err != nil {
		return ImportStats{}, err
	}
	s.cache.apply(string(changedPersons))
	s.cache.apply(string(changedProviders))
	if s.dialect.name == "postgres" {
		// A bulk load leaves the planner without statistics until autovacuum comes round;
		// the audit's join over a million claims needs them. The import has committed, so
		// a failure here is not the import's.
		for _, table := range []string{"persons", "providers", "claims", "settlements", "ledgers"} {
			if _, err := s.db.ExecContext(ctx, "ANALYZE "+table); err != nil {
				s.log.Load().Warn("import: analyze after the import failed", "table", table, "err", err)
			}
		}
	}
	return stats, nil
}

// problems collects an input's broken rules; the first few are reported, with a count.
type problems struct {
	what  string
	list  []string
	count int
}

const maxProblems = 5

func (p *problems) add(format string, args ...any) {
	p.count++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) err(kind error) error {
	if p.count == 0 {
		return nil
	}
	msg := strings.Join(p.list, "; ")
	if p.count > len(p.list) {
		msg += fmt.Sprintf("; and %d more", p.count-len(p.list))
	}
	return fmt.Errorf("import %s: %w: %s", p.what, kind, msg)
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
// claims grouped by person in settlement order, and the indexes of its persons ordered by
// id.
func importSet(in *Import) (*batch.Set, []int32, error) {
	pp := problems{what: "persons"}
	for i := range in.Persons {
		p := &in.Persons[i]
		switch {
		case p.ID == "":
			pp.add("person %d: person_id must not be empty", i+1)
		case p.HouseholdID == "":
			pp.add("person %s: household_id must not be empty", p.ID)
		case p.Aid >= calc.NumAidCategories:
			pp.add("person %s: aid_category: unknown category %d", p.ID, p.Aid)
		}
	}
	byPerson, a, b := sortedBy(len(in.Persons), func(i int32) string { return in.Persons[i].ID })
	if a >= 0 {
		pp.add("person_id %s appears twice (persons %d and %d)", in.Persons[a].ID, a+1, b+1)
	}
	if err := pp.err(calc.ErrInvalid); err != nil {
		return nil, nil, err
	}

	vp := problems{what: "providers"}
	for i := range in.Providers {
		p := &in.Providers[i]
		switch {
		case p.ID == "":
			vp.add("provider %d: provider_id must not be empty", i+1)
		case p.Level >= calc.NumLevels:
			vp.add("provider %s: level: unknown level %d", p.ID, p.Level)
		}
	}
	if _, a, b := sortedBy(len(in.Providers), func(i int32) string { return in.Providers[i].ID }); a >= 0 {
		vp.add("provider_id %s appears twice (providers %d and %d)", in.Providers[a].ID, a+1, b+1)
	}
	if err := vp.err(calc.ErrInvalid); err != nil {
		return nil, nil, err
	}

	// The persons with claims, found by binary search in the persons ordered by id:
	// a map of every person would take far more memory than the claims.
	cp := problems{what: "claims"}
	claimants := map[string]calc.Person{}
	for i := range in.Claims {
		c := &in.Claims[i]
		if err := c.Validate(); err != nil {
			cp.add("%v", err)
			continue
		}
		if _, ok := claimants[c.PersonID]; ok {
			continue
		}
		k, found := slices.BinarySearchFunc(byPerson, c.PersonID, func(j int32, id string) int { return strings.Compare(in.Persons[j].ID, id) })
		if !found {
			cp.add("claim %s: person_id: unknown person %s: not among the imported persons", c.ID, c.PersonID)
			continue
		}
		claimants[c.PersonID] = in.Persons[byPerson[k]]
	}
	if _, a, _ := sortedBy(len(in.Claims), func(i int32) string { return in.Claims[i].ID }); a >= 0 {
		cp.add("claim_id %s appears twice", in.Claims[a].ID)
	}
	if err := cp.err(calc.ErrInvalid); err != nil {
		return nil, nil, err
	}
	set, err := batch.NewSet(claimants, in.Claims)
	if err != nil {
		return nil, nil, fmt.Errorf("import claims: %w", err) // cannot happen: every person was found
	}
	return set, byPerson, nil
}

// importer is one ImportSettled's transaction.
type importer struct {
	s        *Store
	tx       *sqlx.Tx
	set      *batch.Set
	in       *Import
	byID     []int32 // indexes of in.Persons ordered by id
	started  time.Time
	progress func(ImportProgress)
	policies *calc.PolicySet
}

func (imp *importer) run(ctx context.Context) (ImportStats, error) {
	stats := ImportStats{Claims: imp.set.Len(), Claimants: len(imp.set.Persons)}
	var err error
	if stats.Versions, err = imp.checkPolicies(ctx); err != nil {
		return ImportStats{}, err
	}
	if err := imp.checkEmpty(ctx); err != nil {
		return ImportStats{}, err
	}
	newProviders, err := imp.checkProviders(ctx)
	if err != nil {
		return ImportStats{}, err
	}
	if err := imp.writePersons(ctx); err != nil {
		return ImportStats{}, err
	}
	stats.Persons = len(imp.in.Persons)
	if err := imp.writeProviders(ctx, newProviders); err != nil {
		return ImportStats{}, err
	}
	stats.Providers = len(newProviders)
	if err := imp.writeClaims(ctx); err != nil {
		return ImportStats{}, err
	}
	ledgers, extra, tally, err := imp.settle(ctx)
	if err != nil {
		return ImportStats{}, err
	}
	stats.Tally = tally
	if stats.Ledgers, err = imp.writeLedgers(ctx, ledgers, extra); err != nil {
		return ImportStats{}, err
	}
	for _, change := range []rune{changedPersons, changedProviders} {
		if err := imp.s.cache.notify(ctx, imp.tx, string(change)); err != nil {
			return ImportStats{}, err
		}
	}
	return stats, nil
}

// checkPolicies reads the published policies and checks that one covers every discharge
// day; it returns the versions the claims fall under, in the order of their periods.
func (imp *importer) checkPolicies(ctx context.Context) ([]string, error) {
	ps, err := imp.s.policies(ctx, imp.tx)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	imp.policies = ps
	used := map[string]bool{}
	cp := problems{what: "claims"}
	var policy *calc.Policy
	for r, day := range imp.set.Discharged {
		if policy == nil || !policy.Covers(day) {
			if policy = ps.At(day); policy == nil {
				cp.add("claim %s: discharged_on: no published policy is in force on %s", imp.set.ID[r], day)
				continue
			}
			used[policy.Version] = true
		}
	}
	if err := cp.err(calc.ErrNoPolicy); err != nil {
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

// CheckImportable refuses, as ImportSettled would (ErrConflict), a database that already
// holds claims: a caller can say so before it draws or reads a million claims.
func (s *Store) CheckImportable(ctx context.Context) error {
	return refuseClaims(ctx, s.db)
}

func refuseClaims(ctx context.Context, q sqlx.QueryerContext) error {
	var claimID string
	err := sqlx.GetContext(ctx, q, &claimID, `SELECT claim_id FROM claims LIMIT 1`)
	switch {
	case err == nil:
		return fmt.Errorf("import: %w: the database already holds claims (claim %s among them); import stores only into a database without claims", ErrConflict, claimID)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("import: read claims: %w", err)
	}
	return nil
}

// checkEmpty refuses a database that holds claims or any of the imported persons.
func (imp *importer) checkEmpty(ctx context.Context) error {
	if err := refuseClaims(ctx, imp.tx); err != nil {
		return err
	}
	rows, err := imp.tx.QueryxContext(ctx, `SELECT person_id FROM persons`)
	if err != nil {
		return fmt.Errorf("import: read persons: %w", err)
	}
	defer rows.Close()
	var (
		clash []string
		n     int
	)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("import: read persons: %w", err)
		}
		if _, found := slices.BinarySearchFunc(imp.byID, id, func(j int32, id string) int { return strings.Compare(imp.in.Persons[j].ID, id) }); found {
			n++
			if len(clash) < 3 {
				clash = append(clash, id)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("import: read persons: %w", err)
	}
	if n > 0 {
		slices.Sort(clash)
		return fmt.Errorf("import persons: %w: %d of the imported persons are already stored (%s among them); import stores only persons the database does not hold",
			ErrConflict, n, strings.Join(clash, ", "))
	}
	return nil
}

// checkProviders refuses an imported provider stored with other values and a claim
// whose provider is neither imported nor stored or whose level is not its provider's; it
// returns the providers to store.
func (imp *importer) checkProviders(ctx context.Context) ([]calc.Provider, error) {
	var rows []struct {
		ID    string `db:"provider_id"`
		Name  string `db:"name"`
		Level string `db:"level"`
	}
	if err := imp.tx.SelectContext(ctx, &rows, `SELECT provider_id, name, level FROM providers`); err != nil {
		return nil, fmt.Errorf("import: read providers: %w", err)
	}
	known := make(map[string]calc.Level, len(rows)+len(imp.in.Providers))
	stored := make(map[string]calc.Provider, len(rows))
	for _, r := range rows {
		level, err := calc.ParseLevel(r.Level)
		if err != nil {
			return nil, fmt.Errorf("import: read provider %s: %w", r.ID, err)
		}
		stored[r.ID] = calc.Provider{ID: r.ID, Name: r.Name, Level: level}
		known[r.ID] = level
	}
	vp := problems{what: "providers"}
	var fresh []calc.Provider
	for _, p := range imp.in.Providers {
		known[p.ID] = p.Level
		prev, ok := stored[p.ID]
		switch {
		case !ok:
			fresh = append(fresh, p)
		case prev != p:
			var fields []string
			if prev.Name != p.Name {
				fields = append(fields, "name")
			}
			if prev.Level != p.Level {
				fields = append(fields, "level")
			}
			vp.add("provider %s is already stored with another %s", p.ID, strings.Join(fields, " and "))
		}
	}
	if err := vp.err(ErrConflict); err != nil {
		return nil, err
	}
	cp := problems{what: "claims"}
	set := imp.set
	for r := range set.Len() {
		switch level, ok := known[set.Provider[r]]; {
		case !ok:
			cp.add("claim %s: provider_id: unknown provider %s: neither imported nor stored", set.ID[r], set.Provider[r])
		case level != set.Level[r]:
			cp.add("claim %s: level: level %s differs from provider %s's level %s", set.ID[r], set.Level[r], set.Provider[r], level)
		}
	}
	if err := cp.err(calc.ErrInvalid); err != nil {
		return nil, err
	}
	return fresh, nil
}

func (imp *importer) writePersons(ctx context.Context) error {
	persons := imp.in.Persons
	w, err := imp.s.bulk(ctx, imp.tx, "persons", []string{"person_id", "household_id", "registered_poor", "aid_category"})
	if err != nil {
		return fmt.Errorf("import persons: %w", err)
	}
	imp.progress(ImportProgress{Stage: "persons", Total: len(persons)})
	for i := range persons {
		p := &persons[i]
		if err := w.add(ctx, p.ID, p.HouseholdID, p.RegisteredPoor, p.Aid.String()); err != nil {
			return fmt.Errorf("import persons: person %s: %w", p.ID, err)
		}
		if (i+1)%importProgressEvery == 0 && i+1 < len(persons) {
			imp.progress(ImportProgress{Stage: "persons", Done: i + 1, Total: len(persons)})
		}
	}
	if err := w.close(ctx); err != nil {
		return fmt.Errorf("import persons: %w", err)
	}
	imp.progress(ImportProgress{Stage: "persons", Done: len(persons), Total: len(persons)})
	return nil
}

func (imp *importer) writeProviders(ctx context.Context, providers []calc.Provider) error {
	w, err := imp.s.bulk(ctx, imp.tx, "providers", []string{"provider_id", "name", "level"})
	if err != nil {
		return fmt.Errorf("import providers: %w", err)
	}
	imp.progress(ImportProgress{Stage: "providers", Total: len(providers)})
	for _, p := range providers {
		if err := w.add(ctx, p.ID, p.Name, p.Level.String()); err != nil {
			return fmt.Errorf("import providers: provider %s: %w", p.ID, err)
		}
	}
	if err := w.close(ctx); err != nil {
		return fmt.Errorf("import providers: %w", err)
	}
	imp.progress(ImportProgress{Stage: "providers", Done: len(providers), Total: len(providers)})
	return nil
}

// writeClaims stores the claims as submitted, from the set (persons in id order, each
// person's claims in discharge order).
func (imp *importer) writeClaims(ctx context.Context) error {
	set := imp.set
	w, err := imp.s.bulk(ctx, imp.tx, "claims", []string{"person_id", "claim_id", "provider_id", "level", "kind",
		"admitted_on", "discharged_on", "total", "in_policy", "received_at"})
	if err != nil {
		return fmt.Errorf("import claims: %w", err)
	}
	received := imp.started.UTC().Format(stampLayout) // as Settle stamps it
	n := set.Len()
	imp.progress(ImportProgress{Stage: "claims", Total: n})
	for p := range set.Persons {
		person := set.Persons[p].ID
		for r := int(set.Start[p]); r < int(set.Start[p+1]); r++ {
			if err := w.add(ctx, person, set.ID[r], set.Provider[r], set.Level[r].String(), set.Kind[r].String(),
				set.Admitted[r].String(), set.Discharged[r].String(), moneyText(set.Total[r]), moneyText(set.InPolicy[r]), received); err != nil {
				return fmt.Errorf("import claims: claim %s: %w", set.ID[r], err)
			}
			if (r+1)%importProgressEvery == 0 && r+1 < n {
				imp.progress(ImportProgress{Stage: "claims", Done: r + 1, Total: n})
			}
		}
	}
	if err := w.close(ctx); err != nil {
		return fmt.Errorf("import claims: %w", err)
	}
	imp.progress(ImportProgress{Stage: "claims", Done: n, Total: n})
	return nil
}

// yearLedger is a person's ledger of a year before their last.
type yearLedger struct {
	person int
	ledger calc.Ledger
}

// settle settles the set with batch.Run, persons in parallel, and streams each
// settlement's row to the database as it comes. Run calls Each for one person's claims
// in discharge order from one goroutine (rows r of set, persons p), so the person's
// running ledger, kept in ledgers[p], is the ledger after each settlement, as Settle
// would read and write it. It returns every person's ledger of their last year, the
// ledgers of earlier years, and the settlements' sums.
func (imp *importer) settle(ctx context.Context) ([]calc.Ledger, []yearLedger, calc.Tally, error) {
	set := imp.set
	w, err := imp.s.bulk(ctx, imp.tx, "settlements", []string{"person_id", "settlement_id", "claim_id", "reverses", "year",
		"discharged_on", "policy_version", "kind", "total", "basic", "critical", "commercial", "aid", "backstop",
		"out_of_pocket", "burden", "detail", "reason", "created_at"})
	if err != nil {
		return nil, nil, calc.Tally{}, fmt.Errorf("import settlements: %w", err)
	}
	var (
		ledgers = make([]calc.Ledger, len(set.Persons))
		extraMu sync.Mutex
		extra   []yearLedger
		rows    = make(chan []any, 4096)
		stop    atomic.Bool // the writer failed: settle no further
		runErr  error
		tally   calc.Tally
	)
	each := func(p, r int, st *calc.Settlement) {
		if stop.Load() {
			return
		}
		l := &ledgers[p]
		if l.Claims > 0 && l.Year != st.Year {
			extraMu.Lock()
			extra = append(extra, yearLedger{p, *l})
			extraMu.Unlock()
		}
		next, err := l.ForYear(st.Year).Add(st)
		if err != nil {
			panic(err) // cannot happen: the ledger is of the settlement's year
		}
		*l = next
		d, err := json.Marshal(detail{Settlement: *st, Ledger: *l})
		if err != nil {
			panic(err) // plain structs of numbers and strings always marshal
		}
		rows <- []any{st.PersonID, "S" + st.ClaimID, st.ClaimID, nil, st.Year, set.Discharged[r].String(), st.PolicyVersion,
			st.Kind.String(), moneyText(st.Total), moneyText(st.Lines[calc.Basic].Amount), moneyText(st.Lines[calc.Critical].Amount),
			moneyText(st.Lines[calc.Commercial].Amount), moneyText(st.Lines[calc.Aid].Amount), moneyText(st.Lines[calc.Backstop].Amount),
			moneyText(st.OutOfPocket), moneyText(st.Lines[calc.Critical].Base), string(d), "",
			imp.started.Add(time.Duration(r)).Format(stampLayout)}
	}
	go func() {
		defer close(rows)
		res, err := batch.Run(set, imp.policies, batch.Options{Each: each})
		if err != nil {
			runErr = fmt.Errorf("import settlements: %w", err)
			return
		}
		tally = res.All
	}()
	n := set.Len()
	imp.progress(ImportProgress{Stage: "settlements", Total: n})
	var (
		werr error
		done int
	)
	for row := range rows {
		if werr != nil {
			continue // drain, so that Run ends
		}
		if werr = w.add(ctx, row...); werr != nil {
			werr = fmt.Errorf("import settlements: claim %s: %w", row[2], werr)
			stop.Store(true)
			continue
		}
		if done++; done%importProgressEvery == 0 && done < n {
			imp.progress(ImportProgress{Stage: "settlements", Done: done, Total: n})
		}
	}
	if err := cmp.Or(runErr, werr); err != nil {
		return nil, nil, calc.Tally{}, err
	}
	if err := w.close(ctx); err != nil {
		return nil, nil, calc.Tally{}, fmt.Errorf("import settlements: %w", err)
	}
	imp.progress(ImportProgress{Stage: "settlements", Done: n, Total: n})
	return ledgers, extra, tally, nil
}

// writeLedgers stores the person-year ledgers and returns how many.
func (imp *importer) writeLedgers(ctx context.Context, last []calc.Ledger, earlier []yearLedger) (int, error) {
	w, err := imp.s.bulk(ctx, imp.tx, "ledgers", []string{"person_id", "year", "claims", "basic_inpatient", "basic_chronic",
		"critical_burden", "critical_paid", "commercial_paid", "aid_paid", "backstop_paid", "out_of_pocket", "total"})
	if err != nil {
		return 0, fmt.Errorf("import ledgers: %w", err)
	}
	n := len(last) + len(earlier)
	imp.progress(ImportProgress{Stage: "ledgers", Total: n})
	done := 0
	write := func(p int, l *calc.Ledger) error {
		id := imp.set.Persons[p].ID
		if err := w.add(ctx, id, l.Year, l.Claims, moneyText(l.BasicInpatient), moneyText(l.BasicChronic), moneyText(l.CriticalBurden),
			moneyText(l.CriticalPaid), moneyText(l.CommercialPaid), moneyText(l.AidPaid), moneyText(l.BackstopPaid),
			moneyText(l.OutOfPocket), moneyText(l.Total)); err != nil {
			return fmt.Errorf("import ledgers: ledger %s %d: %w", id, l.Year, err)
		}
		if done++; done%importProgressEvery == 0 && done < n {
			imp.progress(ImportProgress{Stage: "ledgers", Done: done, Total: n})
		}
		return nil
	}
	for p := range last {
		if err := write(p, &last[p]); err != nil {
			return 0, err
		}
	}
	for i := range earlier {
		if err := write(earlier[i].person, &earlier[i].ledger); err != nil {
			return 0, err
		}
	}
	if err := w.close(ctx); err != nil {
		return 0, fmt.Errorf("import ledgers: %w", err)
	}
	imp.progress(ImportProgress{Stage: "ledgers", Done: n, Total: n})
	return n, nil
}

// moneyText is m as Settle hands it to the database: dec(m), which database/sql turns
// into decimal.Decimal's String, without trailing zeros after the point ("1234.5",
// "1000", "0"). SQLite keeps that text as it is; PostgreSQL reads it into NUMERIC(14,2).
// It is written by hand because a million settlements have nine amounts each.
func moneyText(m calc.Money) string {
	var buf [32]byte
	b := m.Append(buf[:0]) // always two decimals: "1234.50"
	b = bytes.TrimRight(b, "0")
	b = bytes.TrimSuffix(b, []byte("."))
	return string(b)
}

// bulkWriter stores the rows of one table inside a transaction, many at a time.
type bulkWriter interface {
	add(ctx context.Context, row ...any) error
	close(ctx context.Context) error // stores what is pending; the writer is unusable after
}

// bulk returns a writer of rows of table: COPY ... FROM STDIN in PostgreSQL, multi-row
// INSERTs in SQLite.
func (s *Store) bulk(ctx context.Context, tx *sqlx.Tx, table string, columns []string) (bulkWriter, error) {
	if s.dialect.name == "postgres" {
		// lib/pq runs a prepared COPY ... FROM STDIN as a COPY stream: each Exec adds a row.
		stmt, err := tx.PrepareContext(ctx, "COPY "+table+" ("+strings.Join(columns, ", ")+") FROM STDIN")
		if err != nil {
			return nil, fmt.Errorf("copy into %s: %w", table, err)
		}
		return &copyWriter{stmt: stmt, table: table}, nil
	}
	// SQLite binds at most 32,766 parameters a statement; a few hundred rows a statement
	// already spread its parsing thin.
	per := max(1, min(500, 32_766/len(columns)))
	return &insertWriter{tx: tx, table: table, columns: columns, per: per, args: make([]any, 0, per*len(columns))}, nil
}

type copyWriter struct {
	stmt  *sql.Stmt
	table string
}

func (w *copyWriter) add(ctx context.Context, row ...any) error {
	if _, err := w.stmt.ExecContext(ctx, row...); err != nil {
		return fmt.Errorf("copy into %s: %w", w.table, err)
	}
	return nil
}

func (w *copyWriter) close(ctx context.Context) error {
	_, err := w.stmt.ExecContext(ctx) // ends the COPY and reports its errors
	if cerr := w.stmt.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy into %s: %w", w.table, err)
	}
	return nil
}

type insertWriter struct {
	tx      *sqlx.Tx
	table   string
	columns []string
	per     int // rows a full statement inserts
	args    []any
	full    *sql.Stmt // prepared on first use
}

func (w *insertWriter) query(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + w.table + " (" + strings.Join(w.columns, ", ") + ") VALUES ")
	one := "(" + strings.Repeat("?, ", len(w.columns)-1) + "?)"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

func (w *insertWriter) add(ctx context.Context, row ...any) error {
	w.args = append(w.args, row...)
	if len(w.args) < w.per*len(w.columns) {
		return nil
	}
	if w.full == nil {
		st, err := w.tx.PrepareContext(ctx, w.query(w.per))
		if err != nil {
			return fmt.Errorf("insert into %s: %w", w.table, err)
		}
		w.full = st
	}
	_, err := w.full.ExecContext(ctx, w.args...)
	clear(w.args) // let the strings go
	w.args = w.args[:0]
	if err != nil {
		return fmt.Errorf("insert into %s: %w", w.table, err)
	}
	return nil
}

func (w *insertWriter) close(ctx context.Context) error {
	var err error
	if len(w.args) > 0 {
		_, err = w.tx.ExecContext(ctx, w.query(len(w.args)/len(w.columns)), w.args...)
		w.args = nil
	}
	if w.full != nil {
		if cerr := w.full.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("insert into %s: %w", w.table, err)
	}
	return nil
}
