package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
)

// Import is what ImportSettled stores in one transaction: persons, providers, claims
// as submitted, their settlements and the person-year ledgers. The caller (ops.Import)
// checks the input and settles the claims; store checks it against the database and
// writes the rows.
type Import struct {
	Persons []calc.Person
	// Histories holds the register versions of the persons of Persons whose attributes
	// changed or hold on some days only, checked by the caller (numbered 1, 2, ... in date
	// order, not overlapping; the person's entry in Persons the one in force on the last
	// day): they are stored as given. Every other person is stored as one version,
	// numbered 1, holding always.
	Histories map[string]calc.History
	Providers []calc.Provider
	// Claims yields the NumClaims claims, persons in id order and each person's claims in
	// settlement order (calc.CompareClaims); the k-th claim is row k. ImportSettled walks
	// it twice: to check the providers, then to store the claims.
	Claims    iter.Seq[*calc.Claim]
	NumClaims int
	// Settle is called in the transaction once the claims are stored. It settles them
	// and hands put each settlement with its row, the register version of the person it
	// was settled with (settlements.person_version), the person's ledger after it and
	// the claim's discharge day; put may be called from several goroutines at once. It
	// returns the person-year ledgers to store.
	Settle func(put func(row int, s *calc.Settlement, personVersion int32, after calc.Ledger, discharged calc.Date)) ([]PersonLedger, error)
}

// PersonLedger is a person's ledger of one year.
type PersonLedger struct {
	PersonID string
	Ledger   calc.Ledger
}

// ImportStats is what ImportSettled stored.
type ImportStats struct {
	Persons   int // persons stored
	Providers int // providers stored; those already stored with the same values are not counted
	Claims    int // claims stored, each with its settlement
	Ledgers   int // person-year ledgers stored
}

// ImportProgress is how far ImportSettled has come: Done of Total rows of Stage, one of
// "persons", "providers", "claims", "settlements" (settled and stored) and "ledgers".
type ImportProgress struct {
	Stage       string
	Done, Total int
}

// importProgressEvery is how many rows pass between two progress reports of one stage.
const importProgressEvery = 100_000

// ImportSettled stores a data set in one transaction and in bulk (COPY in PostgreSQL,
// multi-row INSERTs in SQLite), as if every claim had been sent to Settle one at a time
// in each person's discharge order. The settlements rows are those Settle stores (the
// same columns and the same detail, ledger after included), so that Settlement, Tally,
// the audit and LedgerFromSettlements read them back alike; only their ids and stamps
// differ:
//
//   - a settlement's id is "S" and its claim id, so that the same data set imported twice
//     gives the same ids; Settle's ids are "S" and 24 random hex digits, which could only
//     meet one of these for a claim id of 24 hex digits, with a chance of 2⁻⁹⁶;
//   - claims are received at the store clock's s.Now() when the import begins, and the
//     settlement of row k is stamped k nanoseconds later, so that a person's settlements
//     read back in the order they were settled, as the audit's causes and
//     LedgerFromSettlements expect.
//
// It stores nothing unless everything is stored. It refuses, storing nothing, a database
// that already holds claims, or any of the imported persons, or a provider with the id of
// an imported one but other values (errors.Is ErrConflict); and a claim whose provider is
// neither imported nor stored, or whose level is not its provider's (errors.Is
// calc.ErrInvalid). A provider stored with the same values is left as it is (providers
// are shared reference data: serve --load-fixtures stores the same ones). The checks run
// inside the transaction. In PostgreSQL a Settle committed meanwhile by another process
// is not seen by them, but the claims' and persons' keys still make the import fail whole
// rather than store a claim or person twice. Settle's error ends the import.
//
// progress, if not nil, is called from the calling goroutine as each stage starts (Done
// 0) and ends (Done = Total), and every 100,000 rows in between.
func (s *Store) ImportSettled(ctx context.Context, in Import, progress func(ImportProgress)) (_ ImportStats, err error) {
	defer s.classify(&err)
	if progress == nil {
		progress = func(ImportProgress) {}
	}
	// The imported persons by id, to look stored ones up in: a map of a province's
	// persons would take far more memory.
	byID := make([]int32, len(in.Persons))
	for i := range byID {
		byID[i] = int32(i)
	}
	slices.SortFunc(byID, func(a, b int32) int { return strings.Compare(in.Persons[a].ID, in.Persons[b].ID) })
	var stats ImportStats
	started := s.Now().UTC()
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		imp := &importer{s: s, tx: tx, in: &in, byID: byID, started: started, progress: progress}
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
		s.analyze(ctx, "persons", "person_versions", "providers", "claims", "settlements", "ledgers", "tally_sums")
	}
	return stats, nil
}

// analyze has PostgreSQL gather the statistics of tables after a bulk load. The load has
// committed, so a failure here is only logged.
func (s *Store) analyze(ctx context.Context, tables ...string) {
	for _, table := range tables {
		if _, err := s.db.ExecContext(ctx, "ANALYZE "+table); err != nil {
			s.log.Load().Warn("import: analyze after the import failed", "table", table, "err", err)
		}
	}
}

// ImportPaid stores, in one transaction and in bulk, claims that the system before
// hpcalc settled, each with a settlement of what it actually paid (calc.SettlePaid,
// marked imported) and the person-year ledgers those amounts build, so that claims
// settled afterwards continue each year (POST /v1/imports, hpcalc import). Unlike
// ImportSettled it stores into a database that holds other claims, and stores no persons
// or providers: in.Persons and in.Providers must be empty, and every claim's person and
// provider must be stored. Ids, stamps and rows are those of ImportSettled, with
// settlements' imported column true.
//
// It stores nothing unless everything is stored. It refuses, storing nothing, with a
// *ClaimsError naming the rows of the claims it refuses: claims whose person is not
// stored (errors.Is calc.ErrInvalid); claims already stored, and claims of a person-year
// that already has a ledger, that is, claims stored before (errors.Is ErrConflict): an
// import opens person-years, it never continues one. A claim whose provider is not stored,
// or whose level is not its provider's, is refused as ImportSettled refuses it. The checks
// run inside the transaction.
func (s *Store) ImportPaid(ctx context.Context, in Import, progress func(ImportProgress)) (_ ImportStats, err error) {
	defer s.classify(&err)
	if len(in.Persons) > 0 || len(in.Providers) > 0 {
		return ImportStats{}, errors.New("import paid claims: persons and providers are not imported with them")
	}
	if progress == nil {
		progress = func(ImportProgress) {}
	}
	var stats ImportStats
	started := s.Now().UTC()
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		imp := &importer{s: s, tx: tx, in: &in, started: started, progress: progress, paid: true}
		var err error
		stats, err = imp.run(ctx)
		return err
	})
	if err != nil {
		return ImportStats{}, err
	}
	s.cache.apply(string(changedPersons))
	if s.dialect.name == "postgres" {
		s.analyze(ctx, "claims", "settlements", "ledgers", "tally_sums")
	}
	return stats, nil
}

// ClaimProblem is a claim an import refuses: its row (the k-th claim Import.Claims
// yields, from 0), the field at fault and the rule it breaks.
type ClaimProblem struct {
	Row         int
	Field, Rule string
}

// ClaimsError is an import's refusal of some of its claims, by row, so that the caller
// can say where each is in the file it read. errors.Is(err, Kind) holds.
type ClaimsError struct {
	Kind     error
	Problems []ClaimProblem // the first few
	Count    int            // all of them
}

func (e *ClaimsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "import claims: %v:", e.Kind)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " row %d: %s: %s", p.Row+1, p.Field, p.Rule)
	}
	if e.Count > len(e.Problems) {
		fmt.Fprintf(&b, "; and %d more", e.Count-len(e.Problems))
	}
	return b.String()
}

// Is makes errors.Is(err, e.Kind) true.
func (e *ClaimsError) Is(target error) bool { return target == e.Kind }

func (e *ClaimsError) add(row int, field, format string, args ...any) {
	e.Count++
	if len(e.Problems) < maxClaimProblems {
		e.Problems = append(e.Problems, ClaimProblem{Row: row, Field: field, Rule: fmt.Sprintf(format, args...)})
	}
}

func (e *ClaimsError) err() error {
	if e.Count == 0 {
		return nil
	}
	return e
}

// maxClaimProblems is how many refused claims a ClaimsError lists, as many as a file's
// reader reports (csvdata.MaxErrors).
const maxClaimProblems = 20

// lookupBatch is how many keys one query of the checks of ImportPaid looks up.
const lookupBatch = 500

// checkOpen refuses, for ImportPaid, claims of unknown persons, claims already stored
// and claims of person-years already opened.
func (imp *importer) checkOpen(ctx context.Context) error {
	type yearRow struct{ year, row int }
	var (
		unknown  = ClaimsError{Kind: calc.ErrInvalid}
		conflict = ClaimsError{Kind: ErrConflict}
		ids      []string
		idRows   []int
		persons  []string                 // distinct, in the order met
		years    = map[string][]yearRow{} // each person's years with their first row
	)
	flushIDs := func() error {
		if len(ids) == 0 {
			return nil
		}
		stored := map[string]bool{}
		err := imp.lookup(ctx, `SELECT claim_id FROM claims WHERE claim_id IN `, ids, func(rows *sqlx.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			stored[id] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("import: read claims: %w", err)
		}
		for i, id := range ids {
			if stored[id] {
				conflict.add(idRows[i], "claim_id", "claim %s is already stored", id)
			}
		}
		ids, idRows = ids[:0], idRows[:0]
		return nil
	}
	flushPersons := func() error {
		if len(persons) == 0 {
			return nil
		}
		found := map[string]bool{}
		opened := map[string][]struct{ year, claims int }{}
		err := imp.lookup(ctx, `SELECT p.person_id, l.year, l.claims FROM persons p LEFT JOIN ledgers l ON l.person_id = p.person_id
			WHERE p.person_id IN `, persons, func(rows *sqlx.Rows) error {
			var (
				id            string
				year, nClaims sql.NullInt64
			)
			if err := rows.Scan(&id, &year, &nClaims); err != nil {
				return err
			}
			found[id] = true
			if year.Valid {
				opened[id] = append(opened[id], struct{ year, claims int }{int(year.Int64), int(nClaims.Int64)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import: read persons: %w", err)
		}
		for _, id := range persons {
			if !found[id] {
				for _, y := range years[id] {
					unknown.add(y.row, "person_id", "unknown person %s: not in the register (upload the persons first)", id)
				}
				continue
			}
			for _, y := range years[id] {
				for _, o := range opened[id] {
					if o.year == y.year {
						conflict.add(y.row, "person_id", "person %s's ledger of %d is already open (%d claims stored): an import only opens a person-year, it cannot continue one", id, y.year, o.claims)
					}
				}
			}
			delete(years, id)
		}
		persons = persons[:0]
		return nil
	}
	row := 0
	for c := range imp.in.Claims {
		ids, idRows = append(ids, c.ID), append(idRows, row)
		if len(ids) == lookupBatch {
			if err := flushIDs(); err != nil {
				return err
			}
		}
		y := c.DischargedOn.Year()
		ys, seen := years[c.PersonID]
		if !seen {
			if len(persons) == lookupBatch {
				if err := flushPersons(); err != nil {
					return err
				}
			}
			persons = append(persons, c.PersonID)
		}
		if !slices.ContainsFunc(ys, func(x yearRow) bool { return x.year == y }) {
			years[c.PersonID] = append(ys, yearRow{y, row})
		}
		row++
	}
	if err := cmp.Or(flushIDs(), flushPersons()); err != nil {
		return err
	}
	if err := unknown.err(); err != nil {
		return err
	}
	return conflict.err()
}

// lookup runs query, which ends in "IN ", for keys, a batch at a time, handing each row
// to scan.
func (imp *importer) lookup(ctx context.Context, query string, keys []string, scan func(*sqlx.Rows) error) error {
	for len(keys) > 0 {
		n := min(len(keys), lookupBatch)
		args := make([]any, n)
		for i, k := range keys[:n] {
			args[i] = k
		}
		rows, err := imp.tx.QueryxContext(ctx, imp.tx.Rebind(query+"(?"+strings.Repeat(", ?", n-1)+")"), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// Problems collects an input's broken rules; the first few are reported, with a count.
// ops checks an import's input with it too, so that both halves of an import report alike.
type Problems struct {
	What  string
	list  []string
	count int
}

const maxProblems = 5

// Add records one broken rule.
func (p *Problems) Add(format string, args ...any) {
	p.count++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

// Err returns nil when nothing was added, else an error wrapping kind that lists the first
// problems and counts the rest.
func (p *Problems) Err(kind error) error {
	if p.count == 0 {
		return nil
	}
	msg := strings.Join(p.list, "; ")
	if p.count > len(p.list) {
		msg += fmt.Sprintf("; and %d more", p.count-len(p.list))
	}
	return fmt.Errorf("import %s: %w: %s", p.What, kind, msg)
}

// importer is one ImportSettled's transaction.
type importer struct {
	s        *Store
	tx       *sqlx.Tx
	in       *Import
	byID     []int32 // indexes of in.Persons ordered by id
	started  time.Time
	progress func(ImportProgress)
	paid     bool // ImportPaid: claims paid by the system before hpcalc, into a database in use
}

func (imp *importer) run(ctx context.Context) (ImportStats, error) {
	stats := ImportStats{Claims: imp.in.NumClaims}
	check := imp.checkEmpty
	if imp.paid {
		check = imp.checkOpen
	}
	if err := check(ctx); err != nil {
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
	ledgers, err := imp.settle(ctx)
	if err != nil {
		return ImportStats{}, err
	}
	if stats.Ledgers, err = imp.writeLedgers(ctx, ledgers); err != nil {
		return ImportStats{}, err
	}
	for _, change := range []rune{changedPersons, changedProviders} {
		if err := imp.s.cache.notify(ctx, imp.tx, string(change)); err != nil {
			return ImportStats{}, err
		}
	}
	return stats, nil
}

// CheckImportable refuses, as ImportSettled would (ErrConflict), a database that already
// holds claims: a caller can say so before it draws or reads a million claims.
func (s *Store) CheckImportable(ctx context.Context) (err error) {
	defer s.classify(&err)
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
	vp := Problems{What: "providers"}
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
			vp.Add("provider %s is already stored with another %s", p.ID, strings.Join(fields, " and "))
		}
	}
	if err := vp.Err(ErrConflict); err != nil {
		return nil, err
	}
	cp := Problems{What: "claims"}
	for c := range imp.in.Claims {
		switch level, ok := known[c.ProviderID]; {
		case !ok:
			cp.Add("claim %s: provider_id: unknown provider %s: neither imported nor stored", c.ID, c.ProviderID)
		case level != c.Level:
			cp.Add("claim %s: level: level %s differs from provider %s's level %s", c.ID, c.Level, c.ProviderID, level)
		}
	}
	if err := cp.Err(calc.ErrInvalid); err != nil {
		return nil, err
	}
	return fresh, nil
}

func (imp *importer) writePersons(ctx context.Context) error {
	persons := imp.in.Persons
	w, err := imp.s.bulk(ctx, imp.tx, "persons", []string{"person_id", "household_id", "registered_poor", "aid_category", "version"})
	if err != nil {
		return fmt.Errorf("import persons: %w", err)
	}
	imp.progress(ImportProgress{Stage: "persons", Total: len(persons)})
	for i := range persons {
		p := &persons[i]
		version := int32(1)
		if h, ok := imp.in.Histories[p.ID]; ok {
			version = h.Last().Version
		}
		if err := w.add(ctx, p.ID, p.HouseholdID, p.RegisteredPoor, p.Aid.String(), version); err != nil {
			return fmt.Errorf("import persons: person %s: %w", p.ID, err)
		}
		if (i+1)%importProgressEvery == 0 && i+1 < len(persons) {
			imp.progress(ImportProgress{Stage: "persons", Done: i + 1, Total: len(persons)})
		}
	}
	if err := w.close(ctx); err != nil {
		return fmt.Errorf("import persons: %w", err)
	}
	// Each imported person is new: one register version, holding always, the one every
	// imported settlement records; or the versions of their history.
	if w, err = imp.s.bulk(ctx, imp.tx, "person_versions", []string{"person_id", "version", "valid_from", "valid_to",
		"household_id", "registered_poor", "aid_category", "recorded_at"}); err != nil {
		return fmt.Errorf("import persons: %w", err)
	}
	from, to, now := calc.Beginning.String(), calc.End.String(), imp.started.UTC().Format(stampLayout)
	for i := range persons {
		p := &persons[i]
		h, ok := imp.in.Histories[p.ID]
		if !ok {
			if err := w.add(ctx, p.ID, 1, from, to, p.HouseholdID, p.RegisteredPoor, p.Aid.String(), now); err != nil {
				return fmt.Errorf("import persons: person %s: %w", p.ID, err)
			}
			continue
		}
		for k := range h {
			v := &h[k]
			if err := w.add(ctx, p.ID, v.Version, v.From.String(), v.To.String(), v.HouseholdID, v.RegisteredPoor, v.Aid.String(), now); err != nil {
				return fmt.Errorf("import persons: person %s: %w", p.ID, err)
			}
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

// writeClaims stores the claims as submitted, in the order Claims yields them.
func (imp *importer) writeClaims(ctx context.Context) error {
	w, err := imp.s.bulk(ctx, imp.tx, "claims", []string{"person_id", "claim_id", "provider_id", "level", "kind",
		"admitted_on", "discharged_on", "total", "in_policy", "received_at"})
	if err != nil {
		return fmt.Errorf("import claims: %w", err)
	}
	received := stamp(imp.started) // as Settle stamps it
	n := imp.in.NumClaims
	imp.progress(ImportProgress{Stage: "claims", Total: n})
	r := 0
	for c := range imp.in.Claims {
		if err := w.add(ctx, c.PersonID, c.ID, c.ProviderID, c.Level.String(), c.Kind.String(),
			c.AdmittedOn.String(), c.DischargedOn.String(), moneyText(c.Total), moneyText(c.InPolicy), received); err != nil {
			return fmt.Errorf("import claims: claim %s: %w", c.ID, err)
		}
		if r++; r%importProgressEvery == 0 && r < n {
			imp.progress(ImportProgress{Stage: "claims", Done: r, Total: n})
		}
	}
	if err := w.close(ctx); err != nil {
		return fmt.Errorf("import claims: %w", err)
	}
	imp.progress(ImportProgress{Stage: "claims", Done: n, Total: n})
	return nil
}

// settle has Settle settle the claims and streams each settlement's row to the database
// as it comes; it returns the ledgers Settle returns.
func (imp *importer) settle(ctx context.Context) ([]PersonLedger, error) {
	columns := []string{"person_id", "settlement_id", "claim_id", "reverses", "year",
		"discharged_on", "policy_version", "person_version", "kind", "total", "basic", "critical", "commercial", "aid", "backstop",
		"out_of_pocket", "burden", "detail", "reason", "created_at"}
	if imp.paid {
		columns = append(columns, "imported")
	}
	w, err := imp.s.bulk(ctx, imp.tx, "settlements", columns)
	if err != nil {
		return nil, fmt.Errorf("import settlements: %w", err)
	}
	var (
		rows    = make(chan []any, 4096)
		stop    atomic.Bool // the writer failed: write no further
		runErr  error
		ledgers []PersonLedger
		daysMu  sync.Mutex // put may be called from several goroutines
		days    = daySums{}
	)
	put := func(r int, st *calc.Settlement, version int32, after calc.Ledger, discharged calc.Date) {
		if stop.Load() {
			return
		}
		daysMu.Lock()
		days.add(discharged, imp.s.tallyBucket(st.PersonID), rowTally(st, 1))
		daysMu.Unlock()
		d, err := encodeWorkings(st, &after, false)
		if err != nil {
			panic(err) // calc never settles with more bands than MaxBands, and after holds st
		}
		row := []any{st.PersonID, "S" + st.ClaimID, st.ClaimID, nil, st.Year, discharged.String(), st.PolicyVersion, version,
			st.Kind.String(), moneyText(st.Total), moneyText(st.Lines[calc.Basic].Amount), moneyText(st.Lines[calc.Critical].Amount),
			moneyText(st.Lines[calc.Commercial].Amount), moneyText(st.Lines[calc.Aid].Amount), moneyText(st.Lines[calc.Backstop].Amount),
			moneyText(st.OutOfPocket), moneyText(st.Lines[calc.Critical].Base), string(d), "",
			stamp(imp.started.Add(time.Duration(r)))}
		if imp.paid {
			row = append(row, st.Imported)
		}
		rows <- row
	}
	go func() {
		defer close(rows)
		ledgers, runErr = imp.in.Settle(put)
	}()
	n := imp.in.NumClaims
	imp.progress(ImportProgress{Stage: "settlements", Total: n})
	var (
		werr error
		done int
	)
	for row := range rows {
		if werr != nil {
			continue // drain, so that Settle ends
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
		return nil, err
	}
	if err := w.close(ctx); err != nil {
		return nil, fmt.Errorf("import settlements: %w", err)
	}
	if err := days.write(ctx, imp.tx); err != nil {
		return nil, fmt.Errorf("import settlements: %w", err)
	}
	imp.progress(ImportProgress{Stage: "settlements", Done: n, Total: n})
	return ledgers, nil
}

// writeLedgers stores the person-year ledgers and returns how many.
func (imp *importer) writeLedgers(ctx context.Context, ledgers []PersonLedger) (int, error) {
	w, err := imp.s.bulk(ctx, imp.tx, "ledgers", []string{"person_id", "year", "claims", "basic_inpatient", "basic_chronic",
		"critical_burden", "critical_paid", "commercial_paid", "aid_paid", "backstop_paid", "out_of_pocket", "total"})
	if err != nil {
		return 0, fmt.Errorf("import ledgers: %w", err)
	}
	n := len(ledgers)
	imp.progress(ImportProgress{Stage: "ledgers", Total: n})
	for i := range ledgers {
		id, l := ledgers[i].PersonID, &ledgers[i].Ledger
		if err := w.add(ctx, id, l.Year, l.Claims, moneyText(l.BasicInpatient), moneyText(l.BasicChronic), moneyText(l.CriticalBurden),
			moneyText(l.CriticalPaid), moneyText(l.CommercialPaid), moneyText(l.AidPaid), moneyText(l.BackstopPaid),
			moneyText(l.OutOfPocket), moneyText(l.Total)); err != nil {
			return 0, fmt.Errorf("import ledgers: ledger %s %d: %w", id, l.Year, err)
		}
		if done := i + 1; done%importProgressEvery == 0 && done < n {
			imp.progress(ImportProgress{Stage: "ledgers", Done: done, Total: n})
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

// PersonsOf returns the stored persons among ids, by id, as the register now stands (the
// version in force on the last day of each one's timeline, numbered), looking them up a
// batch at a time: an import of a county's history needs its claimants, not the whole
// register. Ids not stored are left out. The persons Histories gives have other versions
// in force on other days.
func (s *Store) PersonsOf(ctx context.Context, ids []string) (_ map[string]calc.Person, err error) {
	defer s.classify(&err)
	out := make(map[string]calc.Person, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), lookupBatch)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		var rows []personRow
		err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT person_id, household_id, registered_poor, aid_category, version
			FROM persons WHERE person_id IN (?`+strings.Repeat(", ?", n-1)+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("read persons: %w", err)
		}
		for _, r := range rows {
			if out[r.ID], err = r.person(); err != nil {
				return nil, err
			}
		}
		ids = ids[n:]
	}
	return out, nil
}
