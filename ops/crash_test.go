package ops_test

import (
	"bufio"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// The crash test's child process: TestCrashChild runs only when the parent sets these.
const (
	crashDB         = "HPCALC_CRASH_DB"         // the database URL or SQLite path
	crashSettlement = "HPCALC_CRASH_SETTLEMENT" // the settlement to reverse
	crashPaused     = "PAUSED IN THE TRANSACTION"
)

// TestReversalCrash kills, with SIGKILL, a process in the middle of a reversal that
// re-settles 50 later claims (its reversal row, tally and adjustments written, the ledger
// about to be): the database keeps none of it, the person-year is as before and equal to
// its replay; the same reversal then runs whole, and the person-year is the replay of the
// 50 claims that stand. On both databases.
func TestReversalCrash(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			url := filepath.Join(t.TempDir(), "hpcalc.db")
			if kind == "postgres" {
				scratch, drop, err := store.ScratchPostgres(ctx, storetest.PostgresURL(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(drop)
				url = scratch
			}
			s, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			s.ReadPolicy = policyfile.Parse
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			d := loaded(t, s)
			person := calc.Person{ID: "CRASH1", HouseholdID: "HCRASH", RegisteredPoor: true}
			if err := s.UpsertPersons(ctx, []calc.Person{person}); err != nil {
				t.Fatal(err)
			}
			d.Persons[person.ID] = person
			claims := fiftyOneClaims(person.ID)
			var first store.SettlementRecord
			original := map[string]calc.Amounts{}
			for k, c := range claims {
				st, _, err := ops.New(s).Settle(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				if k == 0 {
					first = st
				}
				original[c.ID] = calc.AmountsOf(&st.Settlement)
			}
			before := countRows(t, s)
			ledger, err := s.Ledger(ctx, person.ID, 2018)
			if err != nil {
				t.Fatal(err)
			}

			child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
			child.Env = append(os.Environ(), crashDB+"="+url, crashSettlement+"="+first.ID)
			out, err := child.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			child.Stderr = os.Stderr
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			paused := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					t.Log("child:", sc.Text())
					if strings.Contains(sc.Text(), crashPaused) {
						paused <- true
						return
					}
				}
				paused <- false
			}()
			select {
			case ok := <-paused:
				if !ok {
					child.Wait()
					t.Fatal("the child ended without reaching the middle of the reversal")
				}
			case <-time.After(2 * time.Minute):
				child.Process.Kill()
				child.Wait()
				t.Fatal("the child did not reach the middle of the reversal in 2 minutes")
			}
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var exit *exec.ExitError
			if err := child.Wait(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child ended with %v, not killed", err)
			}

			// None of it: no reversal, no adjustment, the tally and the ledger as before.
			if rev, err := s.Reversal(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after the crash, a reversal %+v, %v", rev, err)
			}
			if after := countRows(t, s); after != before {
				t.Errorf("after the crash the rows are %+v, before %+v", after, before)
			}
			adjs, err := s.AdjustmentsDischarged(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
			if err != nil || len(adjs) != 0 {
				t.Errorf("after the crash, %d adjustments, %v", len(adjs), err)
			}
			if l, err := s.Ledger(ctx, person.ID, 2018); err != nil || l != ledger {
				t.Errorf("after the crash the ledger is %+v, %v; was %+v", l, err, ledger)
			}
			checkReplay(t, s, d, person, 2018, claims, original)

			// All of it, once run whole: the lock is free and nothing is left in the way.
			rev, err := ops.New(s).Reverse(ctx, first.ID, "after the crash")
			if err != nil {
				t.Fatal(err)
			}
			if len(rev.Adjustments) == 0 {
				t.Error("the reversal booked no adjustment: the test tests too little")
			}
			checkReplay(t, s, d, person, 2018, claims[1:], original)
		})
	}
}

// fiftyOneClaims are 51 provincial claims of a person, a week apart, the first large, so
// that reversing it re-settles the 50 after it and changes many.
func fiftyOneClaims(personID string) []calc.Claim {
	var out []calc.Claim
	for k := range 51 {
		day := calc.NewDate(2018, 1, 1) + calc.Date(k*7)
		in := 20000 * calc.Yuan
		if k == 0 {
			in = 100000 * calc.Yuan
		}
		out = append(out, calc.Claim{ID: fmt.Sprintf("%s-%02d", personID, k), PersonID: personID, ProviderID: "PRV01", Level: calc.Provincial,
			Kind: calc.Inpatient, AdmittedOn: day - 2, DischargedOn: day, Total: in + 1000*calc.Yuan, InPolicy: in})
	}
	return out
}

// TestCrashChild is TestReversalCrash's child process: it reverses the settlement it is
// given and stops for good at the ledger's write, the last statement before the commit,
// saying so on stdout, for the parent to kill it there.
func TestCrashChild(t *testing.T) {
	url, id := os.Getenv(crashDB), os.Getenv(crashSettlement)
	if url == "" || id == "" {
		t.Skip("run by TestReversalCrash only")
	}
	ctx := context.Background()
	f := &storetest.Fault{Before: func(query string) {
		if strings.HasPrefix(strings.TrimSpace(query), "UPDATE ledgers") {
			fmt.Println(crashPaused)
			os.Stdout.Sync()
			select {} // until killed
		}
	}}
	open := store.OpenSQLiteWith
	if strings.HasPrefix(url, "postgres") {
		open = store.OpenPostgresWith
	}
	s, err := open(ctx, url, func(c driver.Conn) driver.Conn { return f.Wrap(c) })
	if err != nil {
		t.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	_, err = ops.New(s).Reverse(ctx, id, "crash")
	t.Fatalf("the reversal ended (%v) instead of stopping before its ledger's write", err)
}
