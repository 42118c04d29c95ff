package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestFixturesScale writes a small data set and replays it.
func TestFixturesScale(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scale")
	code, out, errOut := runCLI(t, "fixtures", "scale", "--persons", "1500", "--seed", "5", "--dir", dir)
	if code != 0 {
		t.Fatalf("fixtures scale exited %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`Wrote 1,500 persons in 376 households \(814 on dibao, 13 tekun\), 16 providers and ([0-9,]+) claims`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("fixtures scale printed:\n%s", out)
	}
	code, out, errOut = runCLI(t, "replay", "--persons", filepath.Join(dir, "persons.csv"),
		"--providers", filepath.Join(dir, "providers.csv"), "--claims", filepath.Join(dir, "claims.csv"))
	if code != 0 {
		t.Fatalf("replay of the scaled data exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Replay of "+strings.ReplaceAll(m[1], ",", "")+" claims") {
		t.Errorf("replay of the scaled data printed:\n%s", out)
	}
}

func TestFixturesScaleProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("draws 100,000 persons")
	}
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "fixtures", "scale", "--persons", "100000", "--dir", dir)
	if code != 0 {
		t.Fatalf("fixtures scale exited %d: %s", code, errOut)
	}
	for _, want := range []string{"hpcalc fixtures scale: 100,000 of 100,000 persons drawn", "hpcalc fixtures scale: writing "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "fixtures", "scale", "--persons", "100000", "--quiet", "--dir", dir); code != 0 || errOut != "" {
		t.Errorf("--quiet exited %d and printed %q", code, errOut)
	}
}

func TestFixturesScaleUsage(t *testing.T) {
	code, out, _ := runCLI(t, "fixtures", "scale", "--help")
	if code != 0 || !strings.Contains(out, "Usage: hpcalc fixtures scale [flags]") ||
		!strings.Contains(out, "--persons 1,500,000 (the default) gives about 1,000,000 claims") {
		t.Errorf("fixtures scale --help exited %d:\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "help", "fixtures"); code != 0 || !strings.Contains(out, "scale") {
		t.Errorf("help fixtures exited %d:\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fixtures"}, 2, "Usage: hpcalc fixtures <command>"},
		{[]string{"fixtures", "shrink"}, 2, `unknown command "shrink"`},
		{[]string{"fixtures", "scale", "--persons", "10"}, 2, "give --dir or --database-url"},
		{[]string{"fixtures", "scale", "--persons", "10", "--dir", t.TempDir(), "--database-url", filepath.Join(t.TempDir(), "x.db")}, 2,
			"give --dir or --database-url, not both"},
		{[]string{"fixtures", "scale", "--persons", "0", "--dir", t.TempDir()}, 2, "--persons must be from 1 to 20,000,000, not 0"},
		{[]string{"fixtures", "scale", "--persons", "-3", "--dir", t.TempDir()}, 2, "--persons must be from 1 to 20,000,000, not -3"},
		{[]string{"fixtures", "scale", "--persons", "many", "--dir", t.TempDir()}, 2, "invalid value"},
		{[]string{"fixtures", "scale", "--persons", "10", "--dir", file}, 1, "hpcalc fixtures: directory " + file},
		{[]string{"fixtures", "scale", "--persons", "10", "--dir", filepath.Join(file, "sub")}, 1, "not a directory"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
}

// scaleDatabases are the databases fixtures scale is tried on: a SQLite file, and a
// scratch schema of PostgreSQL, whose url is "" when storetest.EnvURL is not set (the
// subtest then skips, loudly, through scaleURL).
func scaleDatabases(t *testing.T) []struct{ name, url string } {
	t.Helper()
	dbs := []struct{ name, url string }{{"sqlite", filepath.Join(t.TempDir(), "scale.db")}, {"postgres", ""}}
	if url := os.Getenv(storetest.EnvURL); url != "" {
		scratch, drop, err := store.ScratchPostgres(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		dbs[1].url = scratch
	}
	return dbs
}

// scaleURL is db's url, skipping the test loudly when it is PostgreSQL's and
// storetest.EnvURL is not set.
func scaleURL(t *testing.T, db struct{ name, url string }) string {
	t.Helper()
	if db.url == "" {
		t.Skip(storetest.EnvURL + " is not set: fixtures scale into PostgreSQL NOT TESTED")
	}
	return db.url
}

// TestFixturesScaleDatabase settles a small data set into a database, which the audit
// finds as paid; the same --persons and --seed written as files have as many claims. A
// second run is refused and leaves the database as it was.
func TestFixturesScaleDatabase(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "fixtures", "scale", "--persons", "1500", "--seed", "5", "--dir", dir)
	m := regexp.MustCompile(`and ([0-9,]+) claims of ([0-9,]+) persons`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("fixtures scale --dir exited %d: %s%s", code, out, errOut)
	}
	claims, claimants := m[1], m[2]
	for _, db := range scaleDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			db.url = scaleURL(t, db)
			code, out, errOut := runCLI(t, "fixtures", "scale", "--persons", "1500", "--seed", "5", "--database-url", db.url)
			if code != 0 {
				t.Fatalf("fixtures scale --database-url exited %d: %s%s", code, out, errOut)
			}
			want := regexp.MustCompile(`^Stored in the ` + db.name + ` database 1,500 persons, 16 providers and ` + claims + ` claims of ` +
				claimants + ` persons, settled under pingxiang-2018, in [0-9.]+m?s: total cost [0-9,.]+; basic [0-9,.]+, critical [0-9,.]+, ` +
				`commercial [0-9,.]+, aid [0-9,.]+, backstop [0-9,.]+; out-of-pocket [0-9,.]+\.\n$`)
			if !want.MatchString(out) {
				t.Errorf("fixtures scale --database-url printed:\n%s", out)
			}
			for _, note := range []string{"published the shipped policy pingxiang-2018", "settlements: " + claims + " of " + claims + " stored"} {
				if !strings.Contains(errOut, note) {
					t.Errorf("stderr lacks %q:\n%s", note, errOut)
				}
			}

			code, audit, errOut := runCLI(t, "audit", "--database-url", db.url, "--from", "2018-01-01", "--to", "2018-12-31")
			if code != 0 || !strings.Contains(audit, strings.ReplaceAll(claims, ",", "")+" claims re-settled (0 reversed left out), 0 differ") {
				t.Errorf("audit of the scaled database exited %d:\n%s%s", code, audit, errOut)
			}

			// Refused before anything is drawn.
			code, _, errOut = runCLI(t, "fixtures", "scale", "--persons", "1500", "--seed", "6", "--database-url", db.url)
			if code != 1 || !strings.Contains(errOut, "already holds claims") || strings.Contains(errOut, "drew ") {
				t.Errorf("second scale into the database exited %d: %s", code, errOut)
			}
			if code, again, _ := runCLI(t, "audit", "--database-url", db.url, "--from", "2018-01-01", "--to", "2018-12-31"); code != 0 || again != audit {
				t.Errorf("after the refused run, audit exited %d:\n%s\nwant\n%s", code, again, audit)
			}
		})
	}
}

// TestFixturesScaleDatabaseQuiet checks that --quiet prints nothing on stderr, and that a
// database whose policies do not cover 2018 is refused before anything is drawn.
func TestFixturesScaleDatabaseQuiet(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scale.db")
	code, out, errOut := runCLI(t, "fixtures", "scale", "--persons", "300", "--quiet", "--database-url", db)
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "Stored in the sqlite database 300 persons") {
		t.Errorf("--quiet exited %d, printed %q and %q", code, out, errOut)
	}

	other := filepath.Join(t.TempDir(), "2019.db")
	ctx := context.Background()
	s, err := (&storeFlags{databaseURL: other}).open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("version: pingxiang-2018", "version: test-2019",
		"from: 2018-01-01", "from: 2019-01-01", "to: 2018-12-31", "to: 2019-12-31").Replace(string(doc))
	p, err := policyfile.Parse("test-2019", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PublishPolicy(ctx, p, []byte(text)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, _, errOut = runCLI(t, "fixtures", "scale", "--persons", "300", "--database-url", other)
	if code != 1 || !strings.Contains(errOut, "no published policy is in force on 2018-01-01") || strings.Contains(errOut, "drew") {
		t.Errorf("scale into a database of 2019 exited %d: %s", code, errOut)
	}
}
