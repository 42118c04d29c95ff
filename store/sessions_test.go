package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

func TestSessions(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clock := time.Date(2018, 3, 15, 2, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return clock }
		if err := s.UpsertProviders(ctx, []calc.Provider{{ID: "TWN01", Name: "t", Level: calc.Township}}); err != nil {
			t.Fatal(err)
		}
		plain, err := s.CreateToken(ctx, store.Token{Role: store.RoleClinic, Providers: []string{"TWN01"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.OpenSession(ctx, "hp_unknown", "ua", ""); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("unknown token: %v, want ErrBadToken", err)
		}
		secret, opened, err := s.OpenSession(ctx, plain, "ua", "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, secret, 30*time.Minute)
		if err != nil || got.Role != store.RoleClinic || got.CSRF != opened.CSRF || got.CSRF == "" || !got.MayActFor("TWN01") || got.MayActFor("CTY01") {
			t.Fatalf("session %+v, %v", got, err)
		}
		clock = clock.Add(20 * time.Minute) // seen: the idle time starts again
		if _, err := s.Session(ctx, secret, 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(25 * time.Minute)
		if _, err := s.Session(ctx, secret, 30*time.Minute); err != nil {
			t.Errorf("25 minutes after the last request: %v", err)
		}
		clock = clock.Add(31 * time.Minute)
		if _, err := s.Session(ctx, secret, 30*time.Minute); !errors.Is(err, store.ErrNoSession) {
			t.Errorf("31 idle minutes: %v, want ErrNoSession", err)
		}
		secret, _, err = s.OpenSession(ctx, plain, "ua", "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EndSession(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, secret, time.Hour); !errors.Is(err, store.ErrNoSession) {
			t.Errorf("ended session: %v, want ErrNoSession", err)
		}
		secret, _, err = s.OpenSession(ctx, plain, "ua", "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeToken(ctx, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, secret, time.Hour); !errors.Is(err, store.ErrNoSession) {
			t.Errorf("session of a revoked token: %v, want ErrNoSession", err)
		}
	})
}

// TestSiblingSessions checks the list of a user's sessions and that a user ends only
// sessions of their own token.
func TestSiblingSessions(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clock := time.Date(2018, 3, 15, 2, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return clock }
		mine, err := s.CreateToken(ctx, store.Token{Role: store.RoleAuditor})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreateToken(ctx, store.Token{Role: store.RoleAuditor})
		if err != nil {
			t.Fatal(err)
		}
		first, _, err := s.OpenSession(ctx, mine, "Firefox", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
		second, opened, err := s.OpenSession(ctx, mine, "Chromium", "2001:db8::2")
		if err != nil {
			t.Fatal(err)
		}
		other, otherSession, err := s.OpenSession(ctx, theirs, "Edge", "192.0.2.3")
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.SiblingSessions(ctx, first, 30*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range list {
			got = append(got, x.UserAgent+" "+x.IP)
			if x.CSRF != "" {
				t.Error("the list of sessions carries a CSRF token")
			}
		}
		if want := []string{"Chromium 2001:db8::2", "Firefox 192.0.2.1"}; !slices.Equal(got, want) {
			t.Errorf("sessions %q, want %q, the last seen first", got, want)
		}
		if list[0].ID != opened.ID || list[0].CreatedAt.IsZero() || list[0].LastSeen.IsZero() {
			t.Errorf("first listed %+v, want id %s and its times", list[0], opened.ID)
		}
		// Another token's session is not mine to end.
		if err := s.EndSiblingSession(ctx, first, otherSession.ID); !errors.Is(err, store.ErrNoSession) {
			t.Errorf("ending another token's session: %v, want ErrNoSession", err)
		}
		if _, err := s.Session(ctx, other, time.Hour); err != nil {
			t.Errorf("the other token's session after a refused end: %v", err)
		}
		if err := s.EndSiblingSession(ctx, first, opened.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, second, time.Hour); !errors.Is(err, store.ErrNoSession) {
			t.Errorf("an ended sibling session: %v, want ErrNoSession", err)
		}
		if list, err := s.SiblingSessions(ctx, first, 30*time.Minute); err != nil || len(list) != 1 {
			t.Errorf("after ending one: %d sessions, %v", len(list), err)
		}
		// An idle one is left off the list.
		clock = clock.Add(40 * time.Minute)
		if _, _, err := s.OpenSession(ctx, mine, "new", ""); err != nil {
			t.Fatal(err)
		}
		if list, err := s.SiblingSessions(ctx, first, 30*time.Minute); err != nil || len(list) != 1 || list[0].UserAgent != "new" {
			t.Errorf("with one idle: %+v, %v", list, err)
		}
		if _, err := s.SiblingSessions(ctx, "not-a-session", time.Hour); !errors.Is(err, store.ErrNoSession) {
			t.Errorf("sessions of no session: %v, want ErrNoSession", err)
		}
	})
}

func TestProviderDay(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		shipped := loadShipped(t, s)
		if err := s.UpsertPersons(ctx, []calc.Person{{ID: "P1", HouseholdID: "H1", RegisteredPoor: true}}); err != nil {
			t.Fatal(err)
		}
		day := calc.NewDate(2018, 3, 15)
		settle := func(id, provider string, d calc.Date) store.SettlementRecord {
			st, _, err := ops.New(s).Settle(ctx, calc.Claim{ID: id, PersonID: "P1", ProviderID: provider, Kind: calc.Inpatient,
				AdmittedOn: d - 3, DischargedOn: d, Total: 100000, InPolicy: 90000})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		a := settle("A", "TWN01", day)
		settle("B", "CTY01", day)
		settle("C", "TWN01", day+1)
		rev, err := ops.New(s).Reverse(ctx, a.ID, "wrong bill")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ProviderDay(ctx, "TWN01", day)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != a.ID || got[0].ReversedBy != rev.ID || got[0].Total != 100000 || got[0].OutOfPocket != a.Settlement.OutOfPocket {
			t.Errorf("TWN01 on %s: %+v", day, got)
		}
		providers, err := s.Providers(ctx)
		if err != nil || len(providers) != len(shipped.Providers) || !slices.IsSortedFunc(providers, func(a, b calc.Provider) int { return strings.Compare(a.ID, b.ID) }) {
			t.Errorf("providers %+v, %v", providers, err)
		}
		for _, p := range providers {
			if p != shipped.Providers[p.ID] {
				t.Errorf("provider %+v, shipped %+v", p, shipped.Providers[p.ID])
			}
		}
	})
}
