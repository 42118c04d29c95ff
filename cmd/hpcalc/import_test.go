package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures"
)

// TestImport imports the first half of the shipped year with the amounts replay --out
// writes for it, then refuses the same files again, naming the line, and audits the
// stored claims: the imported amounts are the rules', so nothing differs.
func TestImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "hpcalc.db")
	s, err := (&storeFlags{databaseURL: db}).open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadFixtures(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var half []calc.Claim
	for _, c := range d.Claims.Claims {
		if c.DischargedOn <= calc.NewDate(2018, 6, 30) {
			half = append(half, c)
		}
	}
	claims, paid := filepath.Join(dir, "half.csv"), filepath.Join(dir, "paid.csv")
	f, err := os.Create(claims)
	if err != nil {
		t.Fatal(err)
	}
	if err := csvdata.WriteClaims(f, half); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if code, out, errOut := runCLI(t, "replay", "--claims", claims, "--out", paid); code != 0 {
		t.Fatalf("replay: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "import", "--database-url", db, "--claims", claims, "--paid", paid)
	if code != 0 || !strings.Contains(out, "Imported into the sqlite database "+groupInt(len(half))+" claims") ||
		!strings.Contains(errOut, "hpcalc import: settlements: ") {
		t.Fatalf("import: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "import", "--database-url", db, "--claims", claims, "--paid", paid, "--quiet")
	if code != 1 || !regexp.MustCompile(regexp.QuoteMeta(claims)+`:\d+:1: claim_id: claim C\d+ is already stored`).MatchString(errOut) ||
		!strings.Contains(errOut, "stopped reading after 20 problems") {
		t.Fatalf("import again: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "audit", "--database-url", db, "--from", "2018-01-01", "--to", "2018-12-31", "--format", "json")
	if code != 0 || !strings.Contains(out, `"differences": []`) {
		t.Fatalf("audit: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut = runCLI(t, "import", "--database-url", db, "--claims", claims); code != 2 || !strings.Contains(errOut, "--paid are required") {
		t.Errorf("without --paid: %d %s", code, errOut)
	}
}
