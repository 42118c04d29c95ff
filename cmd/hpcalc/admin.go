package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hpcalc/hpcalc/store"
)

const migrateHelp = `
Migrate applies the database schema's migrations that are not applied yet, and says which.
Serve does the same at start; run this to prepare a database ahead of a deployment.`

func runMigrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", migrateHelp, stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := store.Open(ctx, sf.databaseURL)
	if err != nil {
		return err
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "The schema is up to date.")
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "Applied %s.\n", m)
	}
	return nil
}

const tokenHelp = `
Token create makes a new API token and prints it once; the database keeps only its SHA-256.
Roles: clinic (settles, quotes and reverses for its --provider ids, reads their
settlements), auditor (reads everything, reports), finance (reports, policies), admin
(publishes policies, upserts persons and providers).

Usage: hpcalc token create --role ROLE [--provider ID ...] [--note TEXT]`

func runToken(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintln(stdout, strings.TrimSpace(tokenHelp))
			return nil
		}
		fmt.Fprintln(stderr, strings.TrimSpace(tokenHelp))
		return errUsage
	}
	fs := newFlagSet("token create", tokenHelp, stdout, stderr)
	var (
		sf        storeFlags
		role      string
		note      string
		providers repeated
	)
	sf.register(fs)
	fs.StringVar(&role, "role", "", "the token's role: "+strings.Join(store.Roles, ", "))
	fs.Var(&providers, "provider", "a provider `ID` a clinic token acts for; repeat for several")
	fs.StringVar(&note, "note", "", "a note to recognise the token by")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	token, err := s.CreateToken(ctx, store.Token{Role: role, Providers: providers, Note: note})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
