package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fileerr"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestAuditFromFilesOnePath: the audit from files of POST /v1/audits (ops.AuditUploaded)
// and of hpcalc audit --claims --paid give the same report, byte for byte as JSON, on the
// shipped fixtures with a planted fault, on both databases: with the shipped persons and
// providers files, with the stored register and providers instead (read after the
// claims, claimants only), and with a dated persons file, given as a file or stored as
// the register's versions. A claim of a person the register does not hold is refused
// at its line, as the persons file's check refuses it.
func TestAuditFromFilesOnePath(t *testing.T) {
	claims := shippedFile(t, fixtures.ClaimsFile)
	paid := faultyPaid(t)
	persons, providers := shippedFile(t, fixtures.PersonsFile), shippedFile(t, fixtures.ProvidersFile)
	rc := newRegisterChange(t)
	cli := func(t *testing.T, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"audit", "--claims", claims, "--paid", paid, "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("hpcalc audit %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	open := func(t *testing.T, path string) io.Reader {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(b)
	}
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := loadFixtures(ctx, s); err != nil {
			t.Fatal(err)
		}
		o := ops.New(s)
		uploaded := func(t *testing.T, claimsFile string, persons, providers io.Reader) (string, error) {
			t.Helper()
			a, err := o.AuditUploaded(ctx, ops.PaidFiles{ClaimsName: "claims", Claims: open(t, claimsFile), PaidName: "paid", Paid: open(t, paid)}, persons, providers)
			if err != nil {
				return "", err
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetIndent("", "  ")
			if err := enc.Encode(ops.NewPaidAuditReport(a)); err != nil {
				t.Fatal(err)
			}
			return b.String(), nil
		}
		shipped := cli(t)
		for _, tt := range []struct {
			name               string
			persons, providers func(t *testing.T) io.Reader
		}{
			{"files", func(t *testing.T) io.Reader { return open(t, persons) }, func(t *testing.T) io.Reader { return open(t, providers) }},
			{"stored register and providers", func(*testing.T) io.Reader { return nil }, func(*testing.T) io.Reader { return nil }},
			{"persons file, stored providers", func(t *testing.T) io.Reader { return open(t, persons) }, func(*testing.T) io.Reader { return nil }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := uploaded(t, claims, tt.persons(t), tt.providers(t))
				if err != nil {
					t.Fatal(err)
				}
				if got != shipped {
					t.Errorf("POST /v1/audits' report differs from hpcalc audit's:\n%s\nwant\n%s", got, shipped)
				}
			})
		}

		t.Run("dated persons", func(t *testing.T) {
			want := cli(t, "--persons", rc.persons)
			if want == shipped {
				t.Fatal("the register change changes nothing: the case tests nothing")
			}
			got, err := uploaded(t, claims, open(t, rc.persons), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("with the dated persons file: POST /v1/audits' report differs from hpcalc audit's:\n%s\nwant\n%s", got, want)
			}
			versions, err := csvdata.ReadPersonVersions("persons", open(t, rc.persons))
			if err != nil {
				t.Fatal(err)
			}
			// The changed person's versions, over the one loadFixtures stored: in a file an
			// empty valid_from holds from the beginning, in an upsert it means today.
			var changed []calc.PersonVersion
			for _, v := range versions {
				if v.ID == rc.id {
					if v.From == calc.NoDate {
						v.From = calc.Beginning
					}
					changed = append(changed, v)
				}
			}
			if err := s.UpsertPersonVersions(ctx, changed); err != nil {
				t.Fatal(err)
			}
			if got, err = uploaded(t, claims, nil, nil); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("with the dated register stored: POST /v1/audits' report differs from hpcalc audit's:\n%s\nwant\n%s", got, want)
			}
		})

		t.Run("unknown person", func(t *testing.T) {
			b, err := os.ReadFile(claims)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(b), "\n")
			f := strings.Split(lines[4], ",")
			f[1] = "NOBODY" // person_id, the second column
			lines[4] = strings.Join(f, ",")
			bad := shippedFile(t, fixtures.ClaimsFile)
			if err := os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = uploaded(t, bad, nil, nil)
			var fe *fileerr.Error
			if !errors.As(err, &fe) || fe.File != "claims" || len(fe.Problems) != 1 || fe.Problems[0].Line != 5 || fe.Problems[0].Column != 2 ||
				fe.Problems[0].Field != "person_id" || !strings.Contains(fe.Problems[0].Rule, "unknown person NOBODY") {
				t.Errorf("a claim of a person not stored: %v; want claims line 5, column 2, person_id, unknown person NOBODY", err)
			}
		})
	})
}
