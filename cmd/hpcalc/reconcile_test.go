package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
)

// TestReconcile settles two claims of a person out of discharge order and reconciles: a
// dry run lists the changes and stores nothing, --apply books them, and a second --apply
// books nothing.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "hpcalc.db")
	s, err := (&storeFlags{databaseURL: db}).open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadFixtures(ctx, s); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id    string
		month int
		in    calc.Money
	}{{"LATE", 5, 20000 * calc.Yuan}, {"EARLY", 2, 40000 * calc.Yuan}} {
		d := calc.NewDate(2018, 1, 15) + calc.Date(30*(c.month-1))
		claim := calc.Claim{ID: c.id, PersonID: "P00001", ProviderID: "TWN01", Level: calc.Township, Kind: calc.Inpatient,
			AdmittedOn: d - 3, DischargedOn: d, Total: c.in, InPolicy: c.in}
		if _, _, err := ops.New(s).Settle(ctx, claim); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	args := []string{"reconcile", "--database-url", db, "--from", "2018-01-01", "--to", "2018-12-31"}
	code, out, errOut := runCLI(t, args...)
	if code != 0 || !strings.Contains(out, "1 person-years re-settled in order; would book 2 adjustments") ||
		!strings.Contains(out, "LATE (P00001") || !strings.Contains(out, "refund owed") || !strings.Contains(out, "Nothing was stored") {
		t.Fatalf("dry run: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = runCLI(t, append(args, "--apply", "--person", "P00001")...); code != 0 || !strings.Contains(out, "booked 2 adjustments") {
		t.Fatalf("apply: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = runCLI(t, append(args, "--apply", "--format", "json")...); code != 0 || !strings.Contains(out, `"adjustments": []`) {
		t.Fatalf("apply again: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut = runCLI(t, "reconcile", "--database-url", db, "--from", "2018-02-01", "--to", "2018-01-01"); code != 1 || !strings.Contains(errOut, "before --from") {
		t.Errorf("a period backwards: %d %s", code, errOut)
	}
}
