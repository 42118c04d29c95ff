package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
)

// TestAudit settles the shipped claims into a database, reverses one, and audits: the
// table, JSON and CSV name the claims that now differ and why.
func TestAudit(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "hpcalc.db")
	s, err := (&storeFlags{databaseURL: db}).open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadFixtures(ctx, s); err != nil {
		t.Fatal(err)
	}
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var first store.SettlementRecord
	for n, i := range replay.Order(d.Claims.Claims) {
		st, _, err := ops.New(s).Settle(ctx, d.Claims.Claims[i])
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			first = st
		}
	}
	s.Close()

	code, out, errOut := runCLI(t, "audit", "--database-url", db, "--from", "2018-01-01", "--to", "2018-12-31")
	if code != 0 || !strings.Contains(out, "559 claims re-settled (0 reversed left out), 0 differ") || !strings.Contains(out, "Every claim replays") {
		t.Fatalf("audit of untouched claims: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "audit: read and re-settled 559 of 559 claims") {
		t.Errorf("progress on stderr:\n%s", errOut)
	}
	if code, _, errOut := runCLI(t, "audit", "--database-url", db, "--from", "2018-01-01", "--to", "2018-12-31", "--quiet"); code != 0 || errOut != "" {
		t.Errorf("--quiet: exit %d, stderr %q", code, errOut)
	}

	s, err = store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	if _, err := ops.New(s).Reverse(ctx, first.ID, "test"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errOut = runCLI(t, "audit", "--database-url", db, "--from", "2018-01-01", "--to", "2018-12-31", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Claims      int `json:"claims"`
		Reversed    int `json:"reversed"`
		Differences []struct {
			PersonID string   `json:"person_id"`
			Causes   []string `json:"causes"`
		} `json:"differences"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Claims != 558 || doc.Reversed != 1 {
		t.Errorf("claims %d, reversed %d; want 558 and 1", doc.Claims, doc.Reversed)
	}
	for _, d := range doc.Differences {
		if d.PersonID != first.Settlement.PersonID || len(d.Causes) != 1 || !strings.Contains(d.Causes[0], "reversed") {
			t.Errorf("difference %+v: want only claims of %s, caused by the reversal", d, first.Settlement.PersonID)
		}
	}
	code, out, _ = runCLI(t, "audit", "--database-url", db, "--from", "2018-01-01", "--to", "2018-12-31", "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "claim_id,person_id,paid_version,replayed_version,basic_paid") {
		t.Errorf("csv: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "audit", "--database-url", db, "--from", "2018-02-01", "--to", "2018-01-01"); code != 1 || !strings.Contains(errOut, "before --from") {
		t.Errorf("backwards period: exit %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "audit", "--database-url", db, "--from", "2018-01-01", "--to", "2018-12-31", "--policy", "nope"); code != 1 || !strings.Contains(errOut, "no such published version") {
		t.Errorf("unknown version: exit %d %q", code, errOut)
	}
}
