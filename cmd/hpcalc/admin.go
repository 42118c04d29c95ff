package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hpcalc/hpcalc/policyfile"
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
	s.ReadPolicy = policyfile.Parse
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
Token manages API tokens. Roles: clinic (settles, quotes and reverses for its --provider
ids, reads their settlements), auditor (reads everything, reports, replays), finance
(reports, what-if), admin (publishes policies, upserts persons and providers, manages
tokens).

Usage:
  hpcalc token create --role ROLE [--provider ID ...] [--note TEXT]
      make a token and print it once; the database keeps only its SHA-256
  hpcalc token list
      list the tokens on file (id, role, providers, note, created, revoked), not the tokens
  hpcalc token revoke ID
      revoke the token with ID (as token list shows it): it stops authenticating at once,
      and on running servers on the same database within a quarter of a second

Each takes --database-url (env DATABASE_URL), as serve does.`

func runToken(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, strings.TrimSpace(tokenHelp))
		return errUsage
	}
	switch args[0] {
	case "create":
		return runTokenCreate(args[1:], stdout, stderr)
	case "list":
		return runTokenList(args[1:], stdout, stderr)
	case "revoke":
		return runTokenRevoke(args[1:], stdout, stderr)
	case "-h", "--help", "-help", "help":
		fmt.Fprintln(stdout, strings.TrimSpace(tokenHelp))
		return nil
	}
	fmt.Fprintf(stderr, "hpcalc token: unknown command %q\n\n%s\n", args[0], strings.TrimSpace(tokenHelp))
	return errUsage
}

func runTokenCreate(args []string, stdout, stderr io.Writer) error {
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
	if err := parseFlags(fs, args, stdout); err != nil {
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

func runTokenList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token list", tokenHelp, stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := sf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.Tokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\trole\tproviders\tnote\tcreated\trevoked")
	for _, t := range list {
		revoked := "-"
		if t.RevokedAt != nil {
			revoked = t.RevokedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, strings.Join(t.Providers, ","), t.Note,
			t.CreatedAt.UTC().Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

func runTokenRevoke(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token revoke", tokenHelp, stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	// The id may come before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	} else if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") && (n < 2 || args[n-2] != "--database-url" && args[n-2] != "-database-url") {
		id, args = args[n-1], args[:n-1]
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if id == "" {
		return errors.New("token revoke takes one token ID, as token list shows it")
	}
	ctx := context.Background()
	s, err := sf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	t, err := s.RevokeToken(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Revoked token %s (%s) at %s.\n", t.ID, t.Role, t.RevokedAt.UTC().Format(time.RFC3339))
	return nil
}
