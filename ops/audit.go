package ops

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
)

// InForce names, for Versions, the policy versions in force on each claim's discharge day.
const InForce = "in-force"

// Versions is what an audit re-settles under: each published version on the days it was
// in force, or one published version for every claim.
type Versions struct {
	set  *calc.PolicySet
	only *calc.Policy // nil: each claim under the version in force on its discharge day
}

// Version returns the one version every claim is re-settled under, nil for in force.
func (v Versions) Version() *calc.Policy { return v.only }

// Versions chooses what an audit re-settles under: name InForce (or "") for the versions
// in force on each discharge day, or the name of one published version for every claim.
// Errors: ErrUnknownVersion (wrapped, naming the version) when no published version has
// that name; the database's errors.
func (s *Service) Versions(ctx context.Context, name string) (Versions, error) {
	set, err := s.store.Policies(ctx)
	if err != nil {
		return Versions{}, err
	}
	v := Versions{set: set}
	if name == "" || name == InForce {
		return v, nil
	}
	for _, p := range set.Policies() {
		if p.Version == name {
			v.only = p
			return v, nil
		}
	}
	return Versions{}, fmt.Errorf("policy %q: %w", name, ErrUnknownVersion)
}

// Progress is how far a long operation has come: Done of Total items of Stage.
type Progress struct {
	Stage       string
	Done, Total int
}

// auditProgressEvery is how many claims an audit reads between two progress reports.
const auditProgressEvery = 100_000

// Audit re-settles from scratch every stored claim discharged from from to to inclusive
// that was not reversed, under v, compares each line with what was paid and names the
// likely cause of every difference. It reads the claims in one ordered query and
// re-settles them person by person as they arrive, so that it holds a few thousand claims
// at a time, not the period's. progress, if not nil, is called in stage "read" with the
// claims read of those counted first, every 100,000 claims and at the
// end. Errors: the database's; calc.ErrNoPolicy (wrapped, naming the claim) for a claim
// whose discharge day no version of v covers.
func (s *Service) Audit(ctx context.Context, from, to calc.Date, v Versions, progress func(Progress)) (*batch.Audit, error) {
	if v.set == nil {
		return nil, errors.New("audit: no versions: choose them with Service.Versions")
	}
	// The register versions of the persons whose attributes changed: few, read before
	// the claims' query holds SQLite's one connection.
	histories, err := s.store.Histories(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The persons are read while the database sorts the claims.
	persons := sync.OnceValues(s.store.PersonsSoon(ctx))
	var auditor *batch.Auditor
	start := func() error {
		if auditor != nil {
			return nil
		}
		p, err := persons()
		if err != nil {
			return err
		}
		if auditor, err = batch.NewAuditor(p, v.set, v.only); err != nil {
			return err
		}
		auditor.UseHistories(histories)
		return nil
	}
	var report func(read, total int)
	if progress != nil {
		report = func(read, total int) { progress(Progress{Stage: "read", Done: read, Total: total}) }
	}
	err = s.storedPersons(ctx, from, to, report, func(claims []calc.PaidClaim) error {
		if err := start(); err != nil {
			return err
		}
		return auditor.Person(claims)
	})
	if err != nil {
		if auditor == nil {
			cancel()
			_, _ = persons()
		}
		return nil, err
	}
	if err := start(); err != nil {
		return nil, err
	}
	return auditor.Audit(), nil
}

// personChunk is stored claims of whole persons: person i's are claims[start[i]:start[i+1]].
type personChunk struct {
	claims []calc.PaidClaim
	start  []int
}

// chunkClaims is about how many claims go to the other goroutine at once: enough that
// handing over costs nothing, few enough that three chunks are a few megabytes.
var chunkClaims = 4096

// storedPersons reads the stored claims discharged from from to to inclusive in one
// ordered query (store.StoredClaims) and hands each person's claims, in the order read,
// to each, on a goroutine of its own: decoding rows and re-settling them take a core each.
// each does not keep the slice. report, if not nil, is called with the claims read of
// those counted (a count first, only then), every auditProgressEvery claims and at the
// end. It returns the first error of the read or of each, and stops reading at it.
func (s *Service) storedPersons(ctx context.Context, from, to calc.Date, report func(read, total int), each func([]calc.PaidClaim) error) error {
	var total int
	if report != nil {
		n, err := s.store.CountStoredClaims(ctx, from, to)
		if err != nil {
			return err
		}
		total = n
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full, free := make(chan *personChunk, 2), make(chan *personChunk, 3)
	for range cap(free) {
		free <- &personChunk{claims: make([]calc.PaidClaim, 0, chunkClaims+64)}
	}
	var eachErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range full {
			for i := 0; eachErr == nil && i+1 < len(c.start); i++ {
				if eachErr = each(c.claims[c.start[i]:c.start[i+1]]); eachErr != nil {
					cancel()
				}
			}
			c.claims, c.start = c.claims[:0], c.start[:0]
			free <- c
		}
	}()
	cur, read := <-free, 0
	send := func() {
		cur.start = append(cur.start, len(cur.claims))
		full <- cur
		cur = <-free
	}
	err := s.store.StoredClaims(ctx, from, to, func(sc *calc.PaidClaim) error {
		if n := len(cur.claims); n == 0 || cur.claims[n-1].Claim.PersonID != sc.Claim.PersonID {
			if n >= chunkClaims {
				send()
			}
			cur.start = append(cur.start, len(cur.claims))
		}
		cur.claims = append(cur.claims, *sc)
		if read++; report != nil && read%auditProgressEvery == 0 {
			report(read, max(total, read))
		}
		return nil
	})
	if err == nil && len(cur.claims) > 0 {
		send()
	}
	close(full)
	<-done
	if eachErr != nil {
		return eachErr
	}
	if err != nil {
		return err
	}
	if report != nil {
		report(read, max(total, read))
	}
	return nil
}

// StoredTable reads the stored claims discharged from from to to inclusive that were not
// reversed, grouped by person in settlement order, for a what-if or a sweep. Errors: the
// database's.
func (s *Service) StoredTable(ctx context.Context, from, to calc.Date) (*batch.ClaimTable, error) {
	persons, err := s.store.Persons(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := s.store.LoadStoredClaims(ctx, from, to, 0, nil)
	if err != nil {
		return nil, err
	}
	claims := make([]calc.Claim, 0, len(stored))
	for i := range stored {
		if !stored[i].Reversed {
			claims = append(claims, stored[i].Claim)
		}
	}
	set, err := batch.NewClaimTable(persons, claims)
	if err != nil {
		return nil, err
	}
	histories, err := s.store.Histories(ctx)
	if err != nil {
		return nil, err
	}
	set.UseHistories(histories)
	return set, nil
}
