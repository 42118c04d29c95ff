package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
)

// UpsertProviders inserts the providers or replaces those with the same id.
func (s *Store) UpsertProviders(ctx context.Context, providers []calc.Provider) (err error) {
	defer s.classify(&err)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(`INSERT INTO providers (provider_id, name, level) VALUES (?, ?, ?)
			ON CONFLICT (provider_id) DO UPDATE SET name = excluded.name, level = excluded.level`)
		for _, p := range providers {
			if _, err := tx.ExecContext(ctx, q, p.ID, p.Name, p.Level.String()); err != nil {
				return fmt.Errorf("upsert provider %s: %w", p.ID, err)
			}
		}
		return s.cache.notify(ctx, tx, string(changedProviders))
	})
	s.cache.apply(string(changedProviders)) // even if the commit failed: it may still have committed
	return err
}

// Person returns the person with id as the register now stands (the attributes in force
// on the last day of their timeline, see PersonHistory), or ErrNotFound.
func (s *Store) Person(ctx context.Context, id string) (_ calc.Person, err error) {
	defer s.classify(&err)
	return person(ctx, s.db, id)
}

const personQuery = `SELECT person_id, household_id, registered_poor, aid_category, version FROM persons WHERE person_id = ?`

// personRow is a row of persons.
type personRow struct {
	ID             string `db:"person_id"`
	HouseholdID    string `db:"household_id"`
	RegisteredPoor bool   `db:"registered_poor"`
	Aid            string `db:"aid_category"`
	Version        int32  `db:"version"`
}

func (r personRow) person() (calc.Person, error) {
	aid, err := calc.ParseAidCategory(r.Aid)
	if err != nil {
		return calc.Person{}, fmt.Errorf("read person %s: %w", r.ID, err)
	}
	return calc.Person{ID: r.ID, HouseholdID: r.HouseholdID, RegisteredPoor: r.RegisteredPoor, Aid: aid, Version: r.Version}, nil
}

func person(ctx context.Context, q sqlx.ExtContext, id string) (calc.Person, error) {
	var row personRow
	err := sqlx.GetContext(ctx, q, &row, q.Rebind(personQuery), id)
	if errors.Is(err, sql.ErrNoRows) {
		return calc.Person{}, refuse(ErrNotFound, "person %s was not found", id)
	}
	if err != nil {
		return calc.Person{}, fmt.Errorf("read person %s: %w", id, err)
	}
	return row.person()
}

// PersonsAfter returns at most limit persons whose ids sort after after ("" for the
// first page), in id order. Paging by the last id seen (keyset), not by offset, keeps
// every page one index range scan however deep it is, and a person upserted between
// pages neither shifts nor repeats the others.
func (s *Store) PersonsAfter(ctx context.Context, after string, limit int) (_ []calc.Person, err error) {
	defer s.classify(&err)
	if limit < 1 {
		return nil, fmt.Errorf("list persons after %q: limit %d is not positive", after, limit)
	}
	var rows []personRow
	err = s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT person_id, household_id, registered_poor, aid_category, version
		FROM persons WHERE person_id > ? ORDER BY person_id LIMIT ?`), after, limit)
	if err != nil {
		return nil, fmt.Errorf("list persons after %q: %w", after, err)
	}
	out := make([]calc.Person, len(rows))
	for i, r := range rows {
		if out[i], err = r.person(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Provider returns the provider with id, or ErrNotFound. Providers are remembered (see
// readCache): every claim names one.
func (s *Store) Provider(ctx context.Context, id string) (_ calc.Provider, err error) {
	defer s.classify(&err)
	if p, ok := s.cache.provider(id); ok {
		return p, nil
	}
	gen := s.cache.generation()
	p, err := s.provider(ctx, id)
	if err == nil {
		s.cache.keepProvider(gen, p)
	}
	return p, err
}

func (s *Store) provider(ctx context.Context, id string) (calc.Provider, error) {
	var row struct {
		ID    string `db:"provider_id"`
		Name  string `db:"name"`
		Level string `db:"level"`
	}
	st, err := s.prepared(ctx, `SELECT provider_id, name, level FROM providers WHERE provider_id = ?`)
	if err != nil {
		return calc.Provider{}, fmt.Errorf("read provider %s: %w", id, err)
	}
	err = st.GetContext(ctx, &row, id)
	if errors.Is(err, sql.ErrNoRows) {
		return calc.Provider{}, refuse(ErrNotFound, "provider %s was not found", id)
	}
	if err != nil {
		return calc.Provider{}, fmt.Errorf("read provider %s: %w", id, err)
	}
	level, err := calc.ParseLevel(row.Level)
	if err != nil {
		return calc.Provider{}, fmt.Errorf("read provider %s: %w", id, err)
	}
	return calc.Provider{ID: row.ID, Name: row.Name, Level: level}, nil
}

// PublishPolicy stores a validated policy version with the document it was read from.
// Published versions are immutable: it returns ErrConflict if the version exists or its
// period overlaps a published one.
func (s *Store) PublishPolicy(ctx context.Context, p *calc.Policy, document []byte) (err error) {
	defer s.classify(&err)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		existing, err := s.policies(ctx, tx)
		if err != nil {
			return err
		}
		all := append(existing.Policies(), p)
		for _, q := range existing.Policies() {
			if q.Version == p.Version {
				return refuse(ErrConflict, "policy version %s is already published", p.Version)
			}
		}
		if _, err := calc.NewPolicySet(all...); err != nil {
			return &Refused{Kind: ErrConflict, Reason: fmt.Sprintf("policy %s: %v", p.Version, err), Cause: err}
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO policies (version, effective_from, effective_to, document, published_at) VALUES (?, ?, ?, ?, ?)`),
			p.Version, p.From.String(), p.To.String(), string(document), s.now())
		if err != nil {
			return fmt.Errorf("publish policy %s: %w", p.Version, err)
		}
		return nil
	})
}

// Policies returns every published policy version.
func (s *Store) Policies(ctx context.Context) (_ *calc.PolicySet, err error) {
	defer s.classify(&err)
	return s.policies(ctx, s.db)
}

// errNoReadPolicy is a store opened without a way to read policy documents: a bug of its
// opener.
var errNoReadPolicy = errors.New("the store was opened without ReadPolicy (set it to policyfile.Parse)")

// policies reads the published versions. Published documents never change, so each is
// parsed once and kept.
func (s *Store) policies(ctx context.Context, q sqlx.QueryerContext) (*calc.PolicySet, error) {
	var rows []struct {
		Version  string `db:"version"`
		Document string `db:"document"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT version, document FROM policies ORDER BY effective_from`); err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	var list []*calc.Policy
	for _, r := range rows {
		if p, ok := s.parsed.Load(r.Version); ok {
			list = append(list, p.(*calc.Policy))
			continue
		}
		if s.ReadPolicy == nil {
			return nil, fmt.Errorf("read policy %s: %w", r.Version, errNoReadPolicy)
		}
		p, err := s.ReadPolicy("policy "+r.Version, []byte(r.Document))
		if err != nil {
			return nil, fmt.Errorf("read policy %s: %w", r.Version, err)
		}
		s.parsed.Store(r.Version, p)
		list = append(list, p)
	}
	return calc.NewPolicySet(list...)
}

// PolicyDocument returns the document of a published version, or ErrNotFound.
func (s *Store) PolicyDocument(ctx context.Context, version string) (_ []byte, err error) {
	defer s.classify(&err)
	var doc string
	err = s.db.GetContext(ctx, &doc, s.db.Rebind(`SELECT document FROM policies WHERE version = ?`), version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, refuse(ErrNotFound, "policy %s was not found", version)
	}
	return []byte(doc), err
}
