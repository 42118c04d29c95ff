package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
)

// storedClaimsQuery reads the claims of the period (the audit wants them all), each with
// its settlement through settlements_claim_settled and its reversal, if any, through the
// unique index on reverses. CROSS JOIN is an inner join to PostgreSQL, but tells SQLite
// to loop over claims outside: left to itself, without statistics, it takes
// "reverses IS NULL" for a one-row lookup and walks every settlement ever stored.
//
// The columns an audit reads come joined by spaces in one text, storedFields of them (no
// id, name, date, stamp or amount holds a space: calc.ValidID): lib/pq makes two objects
// of every text column of every row, and a million rows of nineteen columns spent more
// time allocating than anything else the audit does. The reversal's id is NULL when the
// settlement stands; imported is a boolean.
const storedClaimsQuery = `SELECT concat_ws(' ', c.claim_id, c.person_id, c.provider_id, c.level, c.kind, c.admitted_on,
		c.discharged_on, c.total, c.in_policy, st.settlement_id, st.policy_version, st.created_at, st.basic, st.critical,
		st.commercial, st.aid, st.backstop, st.out_of_pocket, st.burden), r.settlement_id, st.imported, st.person_version
		FROM claims c CROSS JOIN settlements st
		LEFT JOIN settlements r ON r.reverses = st.settlement_id
		WHERE st.claim_id = c.claim_id AND st.reverses IS NULL AND c.discharged_on >= ? AND c.discharged_on <= ?
		ORDER BY c.person_id, c.discharged_on, c.claim_id`

// storedFields is the number of columns joined in storedClaimsQuery's first.
const storedFields = 19

// StoredClaims streams, in one query, every settled claim discharged from from to to
// inclusive, with what was paid (its settlement and its adjustments) and whether it was
// reversed, ordered by person and discharge date; a person's claims come together. sc is
// reused after each returns: each copies what it keeps.
func (s *Store) StoredClaims(ctx context.Context, from, to calc.Date, each func(sc *calc.PaidClaim) error) (err error) {
	defer s.classify(&err)
	query := func() (*sql.Rows, error) {
		return s.db.QueryContext(ctx, s.db.Rebind(storedClaimsQuery), from.String(), to.String())
	}
	var (
		rows *sql.Rows
		adjs []Adjusted
	)
	if s.dialect.name == "postgres" {
		// PostgreSQL sorts the period's rows before it sends the first, seconds for a
		// million: the adjustments are read meanwhile, on another connection.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type opened struct {
			rows *sql.Rows
			err  error
		}
		ready := make(chan opened, 1)
		go func() {
			rows, err := query()
			ready <- opened{rows, err}
		}()
		adjs, err = s.AdjustmentsDischarged(ctx, from, to)
		if err != nil {
			cancel()
		}
		o := <-ready
		if o.err == nil {
			defer o.rows.Close()
		}
		if err = cmp.Or(err, o.err); err != nil {
			return fmt.Errorf("read stored claims: %w", err)
		}
		rows = o.rows
	} else {
		// SQLite's one connection: one query after the other.
		if adjs, err = s.AdjustmentsDischarged(ctx, from, to); err != nil {
			return fmt.Errorf("read stored claims: %w", err)
		}
		if rows, err = query(); err != nil {
			return fmt.Errorf("read stored claims: %w", err)
		}
		defer rows.Close()
	}
	bySettlement := make(map[string][]int, len(adjs))
	for i := range adjs {
		bySettlement[adjs[i].SettlementID] = append(bySettlement[adjs[i].SettlementID], i)
	}
	var (
		row      string
		reversal sql.RawBytes
		sc       calc.PaidClaim
		f        [storedFields]string
	)
	c := &sc.Claim
	for rows.Next() {
		if err := rows.Scan(&row, &reversal, &sc.Imported, &sc.PersonVersion); err != nil {
			return fmt.Errorf("read stored claims: %w", err)
		}
		// The ids are parts of row, which they keep: one string a row in all.
		if n := split(row, f[:]); n != storedFields {
			return fmt.Errorf("read stored claims: %d fields in %q, want %d", n, row, storedFields)
		}
		var errs [9 + calc.NumLines]error
		c.ID, c.PersonID, c.ProviderID = f[0], f[1], f[2]
		c.Level, errs[0] = calc.ParseLevel(f[3])
		c.Kind, errs[1] = calc.ParseKind(f[4])
		c.AdmittedOn, errs[2] = calc.ParseDate(f[5])
		c.DischargedOn, errs[3] = calc.ParseDate(f[6])
		c.Total, errs[4] = calc.ParseMoney(f[7])
		c.InPolicy, errs[5] = calc.ParseMoney(f[8])
		sc.SettlementID, sc.PolicyVersion = f[9], f[10]
		sc.SettledAt, errs[6] = parseStamp(f[11])
		for l := range calc.NumLines {
			sc.Paid[l], errs[7+l] = calc.ParseMoney(f[12+l])
		}
		sc.OutOfPocket, errs[7+calc.NumLines] = calc.ParseMoney(f[17])
		sc.Burden, errs[8+calc.NumLines] = calc.ParseMoney(f[18])
		if err := errors.Join(errs[:]...); err != nil {
			return fmt.Errorf("read stored claim %s: %w", c.ID, err)
		}
		sc.Reversed = reversal != nil
		sc.Adjusted = false
		for _, k := range bySettlement[sc.SettlementID] {
			a := &adjs[k].Adjustment
			for l := range calc.NumLines {
				sc.Paid[l] += a.Lines[l]
			}
			sc.OutOfPocket += a.OutOfPocket
			sc.Burden += a.Burden
			sc.Adjusted = true
		}
		if err := each(&sc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// split cuts s at each space into f and returns how many parts s has, which may be more
// than f holds (the last then holds the rest).
func split(s string, f []string) int {
	n := 0
	for ; n < len(f)-1; n++ {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			break
		}
		f[n], s = s[:i], s[i+1:]
	}
	f[n] = s
	if strings.IndexByte(s, ' ') >= 0 {
		return n + 1 + strings.Count(s, " ")
	}
	return n + 1
}

// PersonsSoon starts reading every person and returns what waits for them and returns
// them (as Persons): on PostgreSQL on a connection of its own, so that the read overlaps
// the query the caller starts next (an audit's ordered read spends seconds sorting before
// its first row); on SQLite, whose one connection that query would hold, at once. The
// returned function must be called, once only.
func (s *Store) PersonsSoon(ctx context.Context) func() (map[string]calc.Person, error) {
	if s.dialect.name != "postgres" {
		persons, err := s.Persons(ctx)
		return func() (map[string]calc.Person, error) { return persons, err }
	}
	type read struct {
		persons map[string]calc.Person
		err     error
	}
	done := make(chan read, 1)
	go func() {
		persons, err := s.Persons(ctx)
		done <- read{persons, err}
	}()
	return func() (map[string]calc.Person, error) {
		r := <-done
		return r.persons, r.err
	}
}

// Persons returns every person, by id, as the register now stands: for a person with
// more than one version, or one that does not hold always, see Histories.
func (s *Store) Persons(ctx context.Context) (_ map[string]calc.Person, err error) {
	defer s.classify(&err)
	rows, err := s.db.QueryxContext(ctx, `SELECT person_id, household_id, registered_poor, aid_category, version FROM persons`)
	if err != nil {
		return nil, fmt.Errorf("read persons: %w", err)
	}
	defer rows.Close()
	out := map[string]calc.Person{}
	for rows.Next() {
		var (
			p   calc.Person
			aid string
		)
		if err := rows.Scan(&p.ID, &p.HouseholdID, &p.RegisteredPoor, &aid, &p.Version); err != nil {
			return nil, fmt.Errorf("read persons: %w", err)
		}
		if p.Aid, err = calc.ParseAidCategory(aid); err != nil {
			return nil, fmt.Errorf("read person %s: %w", p.ID, err)
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// CountStoredClaims returns how many claims were discharged from from to to inclusive:
// what StoredClaims reads, for a progress report. Errors: the database's.
func (s *Store) CountStoredClaims(ctx context.Context, from, to calc.Date) (n int, err error) {
	defer s.classify(&err)
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM claims WHERE discharged_on >= ? AND discharged_on <= ?`),
		from.String(), to.String()); err != nil {
		return 0, fmt.Errorf("count stored claims: %w", err)
	}
	return n, nil
}

// LoadStoredClaims returns what StoredClaims streams, as one slice sized from a count
// first: growing a slice of a million claims copies most of a gigabyte. report, if not
// nil, is called with how many claims of how many counted have been read, after every
// every claims (if every > 0) and at the end, for the progress of long reads.
func (s *Store) LoadStoredClaims(ctx context.Context, from, to calc.Date, every int, report func(read, total int)) (_ []calc.PaidClaim, err error) {
	defer s.classify(&err)
	n, err := s.CountStoredClaims(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]calc.PaidClaim, 0, n)
	err = s.StoredClaims(ctx, from, to, func(sc *calc.PaidClaim) error {
		out = append(out, *sc)
		if every > 0 && report != nil && len(out)%every == 0 {
			report(len(out), max(n, len(out)))
		}
		return nil
	})
	if err == nil && report != nil {
		report(len(out), max(n, len(out)))
	}
	return out, err
}
