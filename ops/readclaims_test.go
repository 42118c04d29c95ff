package ops_test

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/fixtures/synth"
	"github.com/hpcalc/hpcalc/ops"
)

// onlyReader hides every method of a reader but Read, as a pipe or a stream does.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestReadClaimTableEitherWay: files that can be read again (read claims first) and
// streams (read persons first) give the same ClaimTable, or the same error: for files in
// id order, out of it, with a bad row in either file, and a claimant missing from the
// persons file. A file that claims first cannot read is read again from where it was.
func TestReadClaimTableEitherWay(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.WriteScale(dir, synth.ScaleOptions{Persons: 6000, Seed: synth.ShippedSeed}); err != nil {
		t.Fatal(err)
	}
	lines := func(name string) []string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	persons, claims := lines("persons.csv"), lines("claims.csv")
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	checks := csvdata.ClaimChecks{Policies: d.Policies}
	shuffled := func(l []string) []string {
		out := append([]string(nil), l...)
		rng := rand.New(rand.NewPCG(3, 4))
		rng.Shuffle(len(out)-1, func(i, j int) { out[i+1], out[j+1] = out[j+1], out[i+1] })
		return out
	}
	edited := func(l []string, i int, from, to string) []string {
		out := append([]string(nil), l...)
		out[i] = strings.Replace(out[i], from, to, 1)
		return out
	}
	claimant := strings.Split(claims[len(claims)/2], ",")[1]
	withoutClaimant := []string{}
	for _, p := range persons {
		if !strings.HasPrefix(p, claimant+",") {
			withoutClaimant = append(withoutClaimant, p)
		}
	}
	for _, tt := range []struct {
		name            string
		persons, claims []string
		wantErr         bool
	}{
		{"InIDOrder", persons, claims, false},
		{"PersonsShuffled", shuffled(persons), claims, false},
		{"ClaimsShuffled", persons, shuffled(claims), false},
		{"BadClaim", persons, edited(claims, len(claims)-3, ",20", ",x20"), true},
		{"BadPerson", edited(persons, len(persons)/2, ",true,", ",maybe,"), claims, true},
		{"BadBoth", edited(persons, 9, ",true,", ",maybe,"), edited(claims, 5, ",20", ",x20"), true},
		{"ClaimantMissing", withoutClaimant, claims, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			write := func(name string, l []string) *os.File {
				path := filepath.Join(sub, name)
				// A first line that is not the file's: the reading starts after it.
				if err := os.WriteFile(path, []byte("skip me\n"+strings.Join(l, "\n")+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				if _, err := f.Seek(int64(len("skip me\n")), io.SeekStart); err != nil {
					t.Fatal(err)
				}
				return f
			}
			pf, cf := write("persons.csv", tt.persons), write("claims.csv", tt.claims)
			personsFirst := 0
			got, gotErr := ops.ReadClaimTable("persons.csv", pf, "claims.csv", cf, checks,
				ops.ReadOptions{BeforePersonsFirst: func() { personsFirst++ }})
			pf2, cf2 := write("persons2.csv", tt.persons), write("claims2.csv", tt.claims)
			want, wantErr := ops.ReadClaimTable("persons.csv", onlyReader{pf2}, "claims.csv", onlyReader{cf2}, checks, ops.ReadOptions{})
			// Only files without problems and with persons in id order are read claims first.
			if wantPersonsFirst := map[bool]int{false: 0, true: 1}[tt.name != "InIDOrder" && tt.name != "ClaimsShuffled"]; personsFirst != wantPersonsFirst {
				t.Errorf("read persons first %d times, want %d", personsFirst, wantPersonsFirst)
			}
			if (wantErr != nil) != tt.wantErr {
				t.Fatalf("persons first: error %v", wantErr)
			}
			if wantErr != nil {
				if gotErr == nil || gotErr.Error() != wantErr.Error() {
					t.Fatalf("error\n%v\nwant\n%v", gotErr, wantErr)
				}
				return
			}
			if gotErr != nil {
				t.Fatal(gotErr)
			}
			if got.Len() < 1000 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%d claims of %d persons differ from the %d of %d read persons first",
					got.Len(), len(got.Persons), want.Len(), len(want.Persons))
			}
		})
	}
}
