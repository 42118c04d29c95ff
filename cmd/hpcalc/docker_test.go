package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
)

// TestDockerfileAsDocumented checks the Dockerfile against go.mod and the README: the
// Go of its build stage is the module's, its default command is the one the README
// names, and the README's way to the first admin token, run with the image's environment
// (its /data in a temporary directory), makes a token in the database that command
// serves.
func TestDockerfileAsDocumented(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile, readme, gomod := read("Dockerfile"), read("README.md"), read("go.mod")

	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	builder := regexp.MustCompile(`(?m)^FROM golang:(\S+) AS build$`).FindStringSubmatch(dockerfile)
	if goVersion == nil || builder == nil || !strings.HasPrefix(builder[1], goVersion[1]) {
		t.Errorf("build stage %v, module's Go %v", builder, goVersion)
	}
	if !strings.Contains(dockerfile, "CGO_ENABLED=0 go build") || !strings.Contains(dockerfile, "USER nonroot") {
		t.Error("the Dockerfile does not build a static binary run as non-root")
	}

	var cmd []string
	m := regexp.MustCompile(`(?m)^CMD (\[.*\])$`).FindStringSubmatch(dockerfile)
	if m == nil || json.Unmarshal([]byte(m[1]), &cmd) != nil || len(cmd) == 0 {
		t.Fatalf("no CMD in exec form: %v", m)
	}
	_, docker, _ := strings.Cut(readme, "\n## Docker\n")
	if !strings.Contains(docker, "Its default command is `"+strings.Join(cmd, " ")+"`") {
		t.Errorf("README's Docker section does not name the default command %q:\n%s", cmd, docker)
	}
	tokenRun := regexp.MustCompile(`docker run --rm -v \S+:/data hpcalc (token create --role admin)\b`).FindStringSubmatch(docker)
	if tokenRun == nil {
		t.Fatalf("README's Docker section does not show how to make an admin token:\n%s", docker)
	}

	// The image's environment, its /data here.
	data := t.TempDir()
	env := regexp.MustCompile(`(?m)^ENV ((?:.*\\\n)*.*)$`).FindStringSubmatch(dockerfile)
	if env == nil {
		t.Fatal("no ENV in the Dockerfile")
	}
	vars := map[string]string{}
	for _, kv := range strings.Fields(strings.ReplaceAll(env[1], "\\\n", " ")) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = strings.Replace(v, "/data", data, 1)
		t.Setenv(k, vars[k])
	}
	if !strings.HasPrefix(vars["DATABASE_URL"], data+"/") {
		t.Fatalf("DATABASE_URL %q is not in the volume /data", vars["DATABASE_URL"])
	}
	if code, out, errOut := runCLI(t, strings.Fields(tokenRun[1])...); code != 0 || !strings.HasPrefix(out, "hp_") {
		t.Fatalf("%s: exit %d, %q %q", tokenRun[1], code, out, errOut)
	}
	// The default command's flags read the same environment: serve finds the admin token.
	fs := newFlagSet("serve", "", nil, nil)
	var sf storeFlags
	sf.register(fs)
	if sf.databaseURL != vars["DATABASE_URL"] {
		t.Fatalf("serve would use %q, not the image's DATABASE_URL %q", sf.databaseURL, vars["DATABASE_URL"])
	}
	s, err := store.Open(context.Background(), sf.databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	defer s.Close()
	tokens, err := s.Tokens(context.Background())
	if err != nil || len(tokens) != 1 || tokens[0].Role != store.RoleAdmin {
		t.Errorf("tokens in the served database: %+v, %v", tokens, err)
	}
}
