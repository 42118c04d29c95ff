package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// loadShipped publishes the shipped policy and stores the shipped persons and providers.
func loadShipped(t testing.TB, s *store.Store) *fixtures.Data {
	t.Helper()
	ctx := context.Background()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PublishPolicy(ctx, d.Policies.Policies()[0], doc); err != nil {
		t.Fatal(err)
	}
	var persons []calc.Person
	for _, p := range d.Persons {
		persons = append(persons, p)
	}
	var providers []calc.Provider
	for _, p := range d.Providers {
		providers = append(providers, p)
	}
	if err := s.UpsertPersons(ctx, persons); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertProviders(ctx, providers); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMigrateTwice(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		applied, err := s.Migrate(context.Background())
		if err != nil || len(applied) != 0 {
			t.Errorf("second Migrate applied %v, %v; want nothing", applied, err)
		}
	})
}

// TestSettleShippedClaims settles every shipped claim in discharge order and checks the
// tally against the published figures and each settlement against the engine's replay.
func TestSettleShippedClaims(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		want, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range replay.Order(d.Claims.Claims) {
			got, created, err := ops.New(s).Settle(ctx, d.Claims.Claims[i])
			if err != nil || !created {
				t.Fatalf("claim %s: %v (created %v)", d.Claims.Claims[i].ID, err, created)
			}
			if got.Settlement != want.Settlements[i] {
				t.Fatalf("claim %s: stored %+v, replay %+v", d.Claims.Claims[i].ID, got.Settlement, want.Settlements[i])
			}
		}
		tally, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		if tally != want.Tally {
			t.Errorf("tally %+v, want %+v", tally, want.Tally)
		}
		pub := fixtures.Published2018
		if tally.Total != pub.Total || tally.Lines[calc.Backstop] != pub.Lines[calc.Backstop] || tally.Lines[calc.Critical] != pub.Lines[calc.Critical] {
			t.Errorf("tally %+v does not give the published figures", tally)
		}
	})
}

func testClaim(id, person string, total calc.Money) calc.Claim {
	d := calc.NewDate(2018, 6, 1)
	return calc.Claim{ID: id, PersonID: person, ProviderID: "PRV01", Level: calc.Provincial, Kind: calc.Inpatient,
		AdmittedOn: d - 5, DischargedOn: d, Total: total, InPolicy: total * 8 / 10}
}

func TestSettleIdempotentAndConflicts(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		loadShipped(t, s)
		c := testClaim("X1", "P00001", 20000*calc.Yuan)
		first, created, err := ops.New(s).Settle(ctx, c)
		if err != nil || !created {
			t.Fatalf("first: %v, created %v", err, created)
		}
		again, created, err := ops.New(s).Settle(ctx, c)
		if err != nil || created || again.ID != first.ID || again.Settlement != first.Settlement {
			t.Fatalf("again: %+v, created %v, %v; want the stored settlement", again.ID, created, err)
		}
		changed := c
		changed.Total += 100
		changed.Kind = calc.OutpatientChronic
		_, _, err = ops.New(s).Settle(ctx, changed)
		var ce *store.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) || strings.Join(ce.Fields, ",") != "kind,total" {
			t.Fatalf("changed body: %v, want a conflict naming kind and total", err)
		}
		l, err := s.Ledger(ctx, "P00001", 2018)
		if err != nil || l != first.Ledger || l.Claims != 1 {
			t.Errorf("ledger %+v, %v; want the first settlement's %+v", l, err, first.Ledger)
		}
	})
}

func TestSettleRefusesAndStoresNothing(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		loadShipped(t, s)
		bad := testClaim("B1", "P00001", 100*calc.Yuan)
		bad.InPolicy = bad.Total + 1
		late := testClaim("B2", "P00001", 100*calc.Yuan)
		late.DischargedOn = calc.NewDate(2019, 1, 5)
		for _, tt := range []struct {
			claim calc.Claim
			want  error
		}{
			{testClaim("B0", "NOBODY", 100*calc.Yuan), store.ErrNotFound},
			{bad, calc.ErrInvalid},
			{late, calc.ErrNoPolicy},
		} {
			if _, _, err := ops.New(s).Settle(ctx, tt.claim); !errors.Is(err, tt.want) {
				t.Errorf("claim %s: %v, want %v", tt.claim.ID, err, tt.want)
			}
			if _, err := s.SettlementForClaim(ctx, tt.claim.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("claim %s: something was stored (%v)", tt.claim.ID, err)
			}
		}
		if l, err := s.Ledger(ctx, "P00001", 2018); err != nil || l.Claims != 0 {
			t.Errorf("ledger after refusals: %+v, %v", l, err)
		}
	})
}

func TestReverse(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		a, _, err := ops.New(s).Settle(ctx, testClaim("R1", "P00002", 40000*calc.Yuan))
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := ops.New(s).Settle(ctx, testClaim("R2", "P00002", 30000*calc.Yuan))
		if err != nil {
			t.Fatal(err)
		}
		rev, err := ops.New(s).Reverse(ctx, a.ID, "bill corrected")
		if err != nil {
			t.Fatal(err)
		}
		if rev.Reverses != a.ID || rev.Reason != "bill corrected" {
			t.Errorf("reversal %+v", rev)
		}
		// R2 comes after R1 and is re-settled: the year is as if R1 never was.
		r2 := testClaim("R2", "P00002", 30000*calc.Yuan)
		_, want, err := calc.Settle(d.Policies.At(r2.DischargedOn), d.Persons["P00002"], calc.Ledger{}, r2)
		if err != nil {
			t.Fatal(err)
		}
		if l, err := s.Ledger(ctx, "P00002", 2018); err != nil || l != want || rev.Ledger != want {
			t.Errorf("ledger after reversal %+v, %v; want %+v", l, err, want)
		}
		if _, err := ops.New(s).Reverse(ctx, a.ID, "again"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second reversal: %v, want ErrConflict", err)
		}
		if _, err := ops.New(s).Reverse(ctx, rev.ID, "undo"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("reversing a reversal: %v, want ErrConflict", err)
		}
		if _, err := ops.New(s).Reverse(ctx, "S-missing", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reversing nothing: %v, want ErrNotFound", err)
		}
		tally, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil || tally.Claims != 1 || tally.Total != b.Settlement.Total || tally.Lines[calc.Critical] != want.CriticalPaid {
			t.Errorf("tally net of the reversal: %+v, %v", tally, err)
		}
		derived, err := s.LedgerFromSettlements(ctx, "P00002", 2018)
		if err != nil || derived != want {
			t.Errorf("ledger from settlements %+v, %v; want %+v", derived, err, want)
		}
	})
}

func TestPublishPolicyConflicts(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		p := d.Policies.Policies()[0]
		if err := s.PublishPolicy(ctx, p, []byte("x")); !errors.Is(err, store.ErrConflict) {
			t.Errorf("same version again: %v, want ErrConflict", err)
		}
		q := p.Clone()
		q.Version = "overlapping"
		if err := s.PublishPolicy(ctx, q, []byte("x")); !errors.Is(err, store.ErrConflict) || !errors.Is(err, calc.ErrOverlap) {
			t.Errorf("overlapping period: %v, want ErrConflict and ErrOverlap", err)
		}
	})
}

// TestConcurrentSettlement: 32 clients settle 2,000 claims of 20 persons at once, each
// claim sent twice. Every claim gets exactly one settlement, every ledger equals the sum of
// its person's settlements, and no cap is exceeded.
func TestConcurrentSettlement(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		const persons, claims, clients = 20, 2000, 32
		var jobs []calc.Claim
		for i := range claims {
			c := testClaim(fmt.Sprintf("K%04d", i), fmt.Sprintf("P%05d", 1+i%persons), calc.Money(1000+i*37)*calc.Yuan)
			c.DischargedOn = calc.NewDate(2018, 1, 1) + calc.Date(i%300)
			c.AdmittedOn = c.DischargedOn - 2
			jobs = append(jobs, c, c)
		}
		work := make(chan calc.Claim)
		var (
			mu      sync.Mutex
			created = map[string]string{}
			errs    []error
			wg      sync.WaitGroup
		)
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range work {
					st, isNew, err := ops.New(s).Settle(ctx, c)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else if isNew {
						if prev, dup := created[c.ID]; dup {
							errs = append(errs, fmt.Errorf("claim %s settled twice: %s and %s", c.ID, prev, st.ID))
						}
						created[c.ID] = st.ID
					}
					mu.Unlock()
				}
			}()
		}
		for _, c := range jobs {
			work <- c
		}
		close(work)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d errors, first: %v", len(errs), errs[0])
		}
		if len(created) != claims {
			t.Fatalf("%d claims settled, want %d", len(created), claims)
		}
		policy := d.Policies.Policies()[0]
		for i := 1; i <= persons; i++ {
			id := fmt.Sprintf("P%05d", i)
			kept, err := s.Ledger(ctx, id, 2018)
			if err != nil {
				t.Fatal(err)
			}
			derived, err := s.LedgerFromSettlements(ctx, id, 2018)
			if err != nil {
				t.Fatal(err)
			}
			if kept != derived || kept.Claims != claims/persons {
				t.Errorf("%s: kept ledger %+v, from settlements %+v", id, kept, derived)
			}
			p := d.Persons[id]
			if kept.BasicPaid() > policy.Basic.AnnualCap || kept.CommercialPaid > policy.Commercial.AnnualCap ||
				kept.AidPaid > policy.Aid.AnnualCap[p.Aid] || kept.CriticalPaid > policy.Critical.AnnualCap {
				t.Errorf("%s: a cap is exceeded: %+v", id, kept)
			}
		}
	})
}

func TestTokens(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		loadShipped(t, s)
		plain, err := s.CreateToken(ctx, store.Token{Role: store.RoleClinic, Providers: []string{"TWN01", "CTY01"}, Note: "desk 1"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Authenticate(ctx, plain)
		if err != nil || got.Role != store.RoleClinic || strings.Join(got.Providers, ",") != "TWN01,CTY01" || got.Note != "desk 1" {
			t.Errorf("Authenticate = %+v, %v", got, err)
		}
		if _, err := s.Authenticate(ctx, plain+"x"); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("wrong token: %v, want ErrBadToken", err)
		}
		for _, bad := range []store.Token{{Role: "root"}, {Role: store.RoleClinic}, {Role: store.RoleClinic, Providers: []string{"NOPE"}}} {
			if _, err := s.CreateToken(ctx, bad); err == nil {
				t.Errorf("CreateToken(%+v) accepted", bad)
			}
		}
	})
}

// TestRevokeToken: a revoked token stops authenticating at once, though it was
// remembered, stays listed with when it was revoked, and cannot be revoked twice.
func TestRevokeToken(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		loadShipped(t, s)
		plain, info, err := s.IssueToken(ctx, store.Token{Role: store.RoleAuditor, Note: "audit office"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateToken(ctx, store.Token{Role: store.RoleFinance})
		if err != nil {
			t.Fatal(err)
		}
		if len(info.ID) != 16 || info.Role != store.RoleAuditor || info.Note != "audit office" || info.RevokedAt != nil || info.CreatedAt.IsZero() {
			t.Fatalf("IssueToken info %+v", info)
		}
		if _, err := s.Authenticate(ctx, plain); err != nil { // now remembered
			t.Fatal(err)
		}
		revoked, err := s.RevokeToken(ctx, info.ID)
		if err != nil || revoked.RevokedAt == nil || revoked.ID != info.ID {
			t.Fatalf("RevokeToken = %+v, %v", revoked, err)
		}
		if _, err := s.Authenticate(ctx, plain); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("revoked token authenticates: %v", err)
		}
		if _, err := s.Authenticate(ctx, other); err != nil {
			t.Errorf("another token stopped authenticating: %v", err)
		}
		if _, err := s.RevokeToken(ctx, info.ID); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second revocation: %v, want ErrConflict", err)
		}
		for _, id := range []string{"0000000000000000", "", "%", "ABCDEF0123456789", info.ID[:15], info.ID + "0"} {
			if _, err := s.RevokeToken(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RevokeToken(%q): %v, want ErrNotFound", id, err)
			}
		}
		list, err := s.Tokens(ctx)
		if err != nil || len(list) != 2 || list[0].ID != info.ID || list[0].RevokedAt == nil || list[1].RevokedAt != nil {
			t.Errorf("Tokens = %+v, %v", list, err)
		}
	})
}

// TestRevokeTokenOnOtherReplica: a token revoked through one store stops authenticating
// through another on the same PostgreSQL schema well within the 30 s it is remembered.
func TestRevokeTokenOnOtherReplica(t *testing.T) {
	ctx := context.Background()
	a, b, _ := storetest.PostgresReplicas(t, storetest.PostgresURL(t))
	plain, info, err := b.IssueToken(ctx, store.Token{Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	waitCacheOn(t, a) // coming on empties what a remembers: first, so that a then remembers the token
	if _, err := a.Authenticate(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RevokeToken(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := a.Authenticate(ctx, plain); errors.Is(err, store.ErrBadToken) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica a still honours the revoked token after 5 s")
		}
	}
}

// TestRevokeTokenOnSQLiteFromAnotherProcess: a token revoked through one store stops
// authenticating through another store on the same SQLite file (a running server and
// hpcalc token revoke) within a second, though SQLite tells the other store nothing.
func TestRevokeTokenOnSQLiteFromAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hpcalc.db")
	open := func() *store.Store {
		s, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		s.ReadPolicy = policyfile.Parse
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	server, cli := open(), open()
	plain, info, err := cli.IssueToken(ctx, store.Token{Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Authenticate(ctx, plain); err != nil { // now remembered by server
		t.Fatal(err)
	}
	if _, err := cli.RevokeToken(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		_, err := server.Authenticate(ctx, plain)
		if errors.Is(err, store.ErrBadToken) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(revoked) > time.Second {
			t.Fatal("the server still honours the revoked token a second after its revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPoliciesNeedReadPolicy: a store opened without ReadPolicy says so when it must read
// a stored policy document, rather than settle without a policy.
func TestPoliciesNeedReadPolicy(t *testing.T) {
	s := storetest.SQLite(t)
	loadShipped(t, s)
	s.ReadPolicy = nil
	if _, err := s.Policies(context.Background()); err == nil || !strings.Contains(err.Error(), "ReadPolicy") {
		t.Errorf("policies without ReadPolicy: %v; want an error naming ReadPolicy", err)
	}
}
