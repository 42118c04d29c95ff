package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
)

// TestLocales checks that every language has every label, and that every label the
// templates and the code ask for exists: a missing one would show as its key.
func TestLocales(t *testing.T) {
	locales, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	zh := locales[defaultLang]
	for code, l := range locales {
		for k := range zh.msgs {
			if _, ok := l.msgs[k]; !ok {
				t.Errorf("locales/%s.json lacks %q", code, k)
			}
		}
		for k := range l.msgs {
			if _, ok := zh.msgs[k]; !ok {
				t.Errorf("locales/%s.json has %q, which locales/%s.json lacks", code, k, defaultLang)
			}
		}
	}
	used := map[string]bool{}
	literal := regexp.MustCompile(`\bt "([a-zA-Z0-9_.]+)"`)
	err = fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(p)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Keys in Go code: string literals that look like a label key of a known section.
	code := regexp.MustCompile(`"((?:err|notice|desk|nav|signin|slip|reverse|role|aid|line|kind|level)\.[a-zA-Z0-9_]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue // the package's documentation shows keys of desks to come
			}
			for _, m := range code.FindAllStringSubmatch(line, -1) {
				used[m[1]] = true
			}
		}
	}
	// Keys the templates build from values.
	for _, l := range calc.Lines() {
		used["line."+l.String()] = true
	}
	for _, k := range calc.Kinds() {
		used["kind."+k.String()] = true
	}
	for _, l := range calc.Levels() {
		used["level."+l.String()] = true
	}
	for _, a := range append(calc.AidCategories(), calc.AidNone) {
		used["aid."+aidName(a)] = true
	}
	for _, r := range store.Roles {
		used["role."+r] = true
	}
	for _, d := range deskList() {
		used["desk."+d.id] = true
	}
	for code := range locales {
		used["lang."+code] = true
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := zh.msgs[k]; !ok {
			t.Errorf("label %q is used but not in locales/%s.json", k, defaultLang)
		}
	}
	if len(keys) < 100 {
		t.Errorf("found only %d label keys in use: the scan is broken", len(keys))
	}
}

// TestSlipNames checks the Chinese names of the five lines that the slip prints.
func TestSlipNames(t *testing.T) {
	locales, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"基本医疗保险", "大病保险", "商业补充保险", "民政医疗救助", "政府兜底"}
	for i, l := range calc.Lines() {
		if got := locales["zh"].T("line." + l.String()); got != want[i] {
			t.Errorf("line %s is %q in Chinese, want %q", l, got, want[i])
		}
	}
}
