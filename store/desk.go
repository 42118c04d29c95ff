package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/shopspring/decimal"
)

// Providers lists every provider, by id.
func (s *Store) Providers(ctx context.Context) (_ []calc.Provider, err error) {
	defer s.classify(&err)
	var rows []struct {
		ID    string `db:"provider_id"`
		Name  string `db:"name"`
		Level string `db:"level"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT provider_id, name, level FROM providers ORDER BY provider_id`); err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	out := make([]calc.Provider, 0, len(rows))
	for _, r := range rows {
		level, err := calc.ParseLevel(r.Level)
		if err != nil {
			return nil, fmt.Errorf("list providers: provider %s: %w", r.ID, err)
		}
		out = append(out, calc.Provider{ID: r.ID, Name: r.Name, Level: level})
	}
	return out, nil
}

// DaySettlement is one settlement of a provider's day, as the discharge desk lists it.
type DaySettlement struct {
	ID          string
	ClaimID     string
	PersonID    string
	Kind        calc.Kind
	Total       calc.Money
	OutOfPocket calc.Money
	CreatedAt   time.Time
	ReversedBy  string // the id of its reversal, "" while it stands
}

// providerDayQuery finds the provider's claims of the day through claims_provider_day
// and their settlements through settlements_claim_settled, whatever the statistics say
// (TestHotQueryPlans). A settlement's discharge day is its claim's. CROSS JOIN is an
// inner join to PostgreSQL but keeps claims outside for SQLite, which would otherwise take
// "reverses IS NULL" for a one-row lookup in the unique index on reverses and walk every
// settlement ever stored.
const providerDayQuery = `SELECT s.settlement_id, s.claim_id, s.person_id, s.kind, s.total, s.out_of_pocket, s.created_at, r.settlement_id
		FROM claims c CROSS JOIN settlements s
		LEFT JOIN settlements r ON r.reverses = s.settlement_id
		WHERE c.provider_id = ? AND c.discharged_on = ? AND s.claim_id = c.claim_id AND s.reverses IS NULL
		ORDER BY s.created_at, s.settlement_id`

// ProviderDay lists the settlements (not reversals) of claims of provider discharged on
// day, in the order they were made.
func (s *Store) ProviderDay(ctx context.Context, provider string, day calc.Date) (_ []DaySettlement, err error) {
	defer s.classify(&err)
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(providerDayQuery), provider, day.String())
	if err != nil {
		return nil, fmt.Errorf("settlements of %s on %s: %w", provider, day, err)
	}
	defer rows.Close()
	var out []DaySettlement
	for rows.Next() {
		var (
			d        DaySettlement
			kind     string
			total    decimal.Decimal
			oop      decimal.Decimal
			created  int64
			reversed sql.NullString
		)
		if err := rows.Scan(&d.ID, &d.ClaimID, &d.PersonID, &kind, &total, &oop, &created, &reversed); err != nil {
			return nil, fmt.Errorf("settlements of %s on %s: %w", provider, day, err)
		}
		var ms moneyScanner
		d.Total, d.OutOfPocket = ms.fen(total), ms.fen(oop)
		k, err := calc.ParseKind(kind)
		if err == nil {
			err = ms.err
		}
		d.CreatedAt = stampTime(created)
		if err != nil {
			return nil, fmt.Errorf("settlements of %s on %s: %w", provider, day, err)
		}
		d.Kind, d.ReversedBy = k, reversed.String
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("settlements of %s on %s: %w", provider, day, err)
	}
	return out, nil
}
