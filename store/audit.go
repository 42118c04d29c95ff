package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hpcalc/hpcalc/calc"
)

// storedClaimsQuery reads the claims of the period (the audit wants them all), each with
// its settlement through settlements_claim_settled and its reversal, if any, through the
// unique index on reverses. CROSS JOIN is an inner join to PostgreSQL, but tells SQLite
// to loop over claims outside: left to itself, without statistics, it takes
// "reverses IS NULL" for a one-row lookup and walks every settlement ever stored.
const storedClaimsQuery = `SELECT c.claim_id, c.person_id, c.provider_id, c.level, c.kind, c.admitted_on, c.discharged_on,
		c.total, c.in_policy, st.settlement_id, st.policy_version, st.created_at, st.basic, st.critical, st.commercial,
		st.aid, st.backstop, st.out_of_pocket, r.settlement_id, st.imported
		FROM claims c CROSS JOIN settlements st
		LEFT JOIN settlements r ON r.reverses = st.settlement_id
		WHERE st.claim_id = c.claim_id AND st.reverses IS NULL AND c.discharged_on >= ? AND c.discharged_on <= ?
		ORDER BY c.person_id, c.discharged_on, c.claim_id`

// StoredClaims streams, in one query, every settled claim discharged from from to to
// inclusive, with what was paid (its settlement and its adjustments) and whether it was
// reversed, ordered by person and discharge date.
func (s *Store) StoredClaims(ctx context.Context, from, to calc.Date, each func(*calc.PaidClaim) error) (err error) {
	defer s.classify(&err)
	adjs, err := s.AdjustmentsDischarged(ctx, from, to)
	if err != nil {
		return fmt.Errorf("read stored claims: %w", err)
	}
	bySettlement := make(map[string][]int, len(adjs))
	for i := range adjs {
		bySettlement[adjs[i].SettlementID] = append(bySettlement[adjs[i].SettlementID], i)
	}
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(storedClaimsQuery), from.String(), to.String())
	if err != nil {
		return fmt.Errorf("read stored claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sc                                      calc.PaidClaim
			level, kind, admitted, discharged, when string
			total, inPolicy                         string
			paid                                    [6]string
			reversal                                sql.NullString
		)
		c := &sc.Claim
		if err := rows.Scan(&c.ID, &c.PersonID, &c.ProviderID, &level, &kind, &admitted, &discharged, &total, &inPolicy,
			&sc.SettlementID, &sc.PolicyVersion, &when, &paid[0], &paid[1], &paid[2], &paid[3], &paid[4], &paid[5], &reversal, &sc.Imported); err != nil {
			return fmt.Errorf("read stored claims: %w", err)
		}
		var errs [5]error
		c.Level, errs[0] = calc.ParseLevel(level)
		c.Kind, errs[1] = calc.ParseKind(kind)
		c.AdmittedOn, errs[2] = calc.ParseDate(admitted)
		c.DischargedOn, errs[3] = calc.ParseDate(discharged)
		sc.SettledAt, errs[4] = time.Parse(time.RFC3339Nano, when)
		// An audit reads a million rows: amounts are parsed from their text exactly by
		// calc.ParseMoney, which is faster here than going through decimal.Decimal.
		var ms textMoney
		c.Total, c.InPolicy = ms.fen(total), ms.fen(inPolicy)
		for l := range calc.NumLines {
			sc.Paid[l] = ms.fen(paid[l])
		}
		sc.OutOfPocket = ms.fen(paid[5])
		sc.Reversed = reversal.Valid
		for _, k := range bySettlement[sc.SettlementID] {
			a := &adjs[k].Adjustment
			for l := range calc.NumLines {
				sc.Paid[l] += a.Lines[l]
			}
			sc.OutOfPocket += a.OutOfPocket
			sc.Adjusted = true
		}
		for _, err := range append(errs[:], ms.err) {
			if err != nil {
				return fmt.Errorf("read stored claim %s: %w", c.ID, err)
			}
		}
		if err := each(&sc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Persons returns every person, by id.
func (s *Store) Persons(ctx context.Context) (_ map[string]calc.Person, err error) {
	defer s.classify(&err)
	rows, err := s.db.QueryxContext(ctx, `SELECT person_id, household_id, registered_poor, aid_category FROM persons`)
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
		if err := rows.Scan(&p.ID, &p.HouseholdID, &p.RegisteredPoor, &aid); err != nil {
			return nil, fmt.Errorf("read persons: %w", err)
		}
		if p.Aid, err = calc.ParseAidCategory(aid); err != nil {
			return nil, fmt.Errorf("read person %s: %w", p.ID, err)
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// LoadStoredClaims returns what StoredClaims streams, as one slice sized from a count
// first: growing a slice of a million claims copies most of a gigabyte. report, if not
// nil, is called with how many claims of how many counted have been read, after every
// every claims (if every > 0) and at the end, for the progress of long reads.
func (s *Store) LoadStoredClaims(ctx context.Context, from, to calc.Date, every int, report func(read, total int)) (_ []calc.PaidClaim, err error) {
	defer s.classify(&err)
	var n int
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM claims WHERE discharged_on >= ? AND discharged_on <= ?`),
		from.String(), to.String()); err != nil {
		return nil, fmt.Errorf("count stored claims: %w", err)
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
