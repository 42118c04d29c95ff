package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/ops"
)

const importHelp = `
Import opens the ledgers of a county that goes live in the middle of a year: it stores the
claims of --claims as settled with what the system before hpcalc actually paid on each,
read from --paid (the columns replay --out writes: claim_id,basic,critical,commercial,aid,
backstop,out_of_pocket), marked as imported, and builds each person-year's ledger
(deductibles met, caps used) from those amounts in discharge order, so that claims settled
afterwards continue the year. Audits compare imported claims like any other: what was paid
against what the rules give.

The persons and providers must be stored already (PUT /v1/persons, /v1/providers), and a
published policy must be in force on every discharge day. Everything is stored in one
transaction, or nothing: a bad row of either file, amounts that do not sum to the claim's
total or are negative, a claim without a paid row or a paid row without a claim, an
unknown person or provider, a claim already stored or of a person-year that already has
stored claims are each reported with the file, line, column and rule.`

// paidImporter is what the import command needs of ops.
type paidImporter interface {
	ImportPaid(ctx context.Context, in ops.PaidImport, progress func(ops.Progress)) (ops.ImportStats, error)
}

var _ paidImporter = (*ops.Service)(nil)

func runImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", importHelp, stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	claimsFile := fs.String("claims", "", "claims `FILE` (CSV, header "+strings.Join(csvdata.ClaimColumns, ",")+"), required")
	paidFile := fs.String("paid", "", "paid `FILE` (CSV, header claim_id,basic,critical,commercial,aid,backstop,out_of_pocket), required")
	quiet := fs.Bool("quiet", false, "print no progress")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *claimsFile == "" || *paidFile == "" {
		fmt.Fprintln(fs.Output(), "--claims and --paid are required")
		fs.Usage()
		return errUsage
	}
	claims, err := os.Open(*claimsFile)
	if err != nil {
		return fmt.Errorf("--claims: %w", err)
	}
	defer claims.Close()
	paid, err := os.Open(*paidFile)
	if err != nil {
		return fmt.Errorf("--paid: %w", err)
	}
	defer paid.Close()
	ctx := context.Background()
	s, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	var nextNote time.Time
	progress := func(p ops.Progress) {
		if *quiet {
			return
		}
		// The end of each stage, and a report every few seconds within one.
		if p.Done == p.Total && p.Total > 0 || p.Done > 0 && time.Now().After(nextNote) {
			fmt.Fprintf(stderr, "hpcalc import: %s: %s of %s, %s\n", p.Stage, groupInt(p.Done), groupInt(p.Total), time.Since(start).Round(time.Millisecond))
			nextNote = time.Now().Add(5 * time.Second)
		}
	}
	var o paidImporter = ops.New(s)
	stats, err := o.ImportPaid(ctx, ops.PaidImport{ClaimsName: *claimsFile, Claims: claims, PaidName: *paidFile, Paid: paid}, progress)
	if err != nil {
		return err
	}
	if stats.Claims == 0 {
		fmt.Fprintf(stdout, "%s has no claims: nothing was imported.\n", *claimsFile)
		return nil
	}
	t := stats.Tally
	var lines []string
	for _, l := range calc.Lines() {
		lines = append(lines, fmt.Sprintf("%s %s", l, t.Lines[l].Grouped()))
	}
	fmt.Fprintf(stdout, "Imported into the %s database %s claims of %s persons as paid, under %s, in %s; opened %s person-year ledgers: total cost %s; %s; out-of-pocket %s.\n",
		s.Dialect(), groupInt(stats.Claims), groupInt(stats.Claimants), strings.Join(stats.Versions, " and "),
		time.Since(start).Round(time.Millisecond), groupInt(stats.Ledgers), t.Total.Grouped(), strings.Join(lines, ", "), t.OutOfPocket.Grouped())
	return nil
}
