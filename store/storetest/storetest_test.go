package storetest_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPostgresSkipsAreLoud reads every test file of the module: a test that reads
// HPCALC_TEST_DATABASE_URL itself must skip, saying PostgreSQL was NOT TESTED, when it is
// not set, and none may merely log it, so that `go test -v` lists every PostgreSQL case
// left out as a SKIP.
func TestPostgresSkipsAreLoud(t *testing.T) {
	getenv := regexp.MustCompile(`os\.Getenv\((storetest\.EnvURL|"HPCALC_TEST_DATABASE_URL")\)`)
	skip := regexp.MustCompile(`\.Skipf?\(.*NOT (TESTED|BENCHMARKED)`)
	logged := regexp.MustCompile(`\.Logf?\(.*NOT TESTED`)
	root := filepath.Join("..", "..")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "storetest_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if getenv.Match(b) && !skip.Match(b) {
			t.Errorf("%s reads the PostgreSQL test URL but never skips saying NOT TESTED", path)
		}
		if loc := logged.FindIndex(b); loc != nil {
			t.Errorf("%s only logs that PostgreSQL is not tested: %s", path, b[loc[0]:loc[1]])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("read %d test files; is the module root %s?", n, root)
	}
}
