package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
)

const auditHelp = `
Audit re-settles from scratch every stored claim discharged in a period that was not
reversed, compares each line with what was paid, and reports the counts, the totals per
line as paid and as replayed, and every claim whose amounts differ, with the differences
and their likely cause: another policy version was in force at settlement, an earlier
claim of the same person was reversed, or the claim was settled out of discharge order.

--policy in-force replays each claim under the version in force on its discharge day;
--policy VERSION replays every claim under that published version. Progress goes to
stderr, every 100,000 claims read (none with --quiet).

With --claims FILE and --paid FILE, audit files instead of stored claims: the claims are
replayed from scratch, like replay settles them (--persons, --providers and --policy FILE
replacing the shipped files), and compared with what another system paid on each claim
(the paid file's columns are those replay --out writes). A claim in one file and not the
other is reported. Each differing claim names its root, the first line in cascade order
whose paid amount differs (later lines follow from it), and the rule that reproduces what
was paid, found by settling the claim under that rule: the deductible of another level,
another rate or band rate, a cap not applied or applied early, a line paid to someone not
eligible, a knock-on of an earlier claim of the person whose paid amounts differ, or none.
--format xlsx writes a workbook (to --out, or stdout).`

// auditor is what the audit command needs of ops.
type auditor interface {
	Versions(ctx context.Context, name string) (ops.Versions, error)
	Audit(ctx context.Context, from, to calc.Date, v ops.Versions, progress func(ops.Progress)) (*batch.Audit, error)
}

var _ auditor = (*ops.Service)(nil)

func runAudit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", auditHelp, stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	from := fs.String("from", "", "first discharge day, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last discharge day, YYYY-MM-DD (required)")
	var policies repeated
	fs.Var(&policies, "policy", "in-force, or the published `VERSION` to replay every claim under (default in-force); with --paid, a policy FILE, repeated for several versions")
	format := fs.String("format", "table", "output: table, json or csv (the differing claims); with --paid also xlsx")
	quiet := fs.Bool("quiet", false, "print no progress")
	var files auditFiles
	files.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if files.claims != "" || files.paid != "" {
		return runAuditFiles(&files, policies, *format, stdout)
	}
	policy := new(string)
	switch len(policies) {
	case 0:
		*policy = ops.InForce
	case 1:
		*policy = policies[0]
	default:
		return fmt.Errorf("--policy given %d times: an audit of stored claims takes one version, or in-force", len(policies))
	}
	fromDay, err := calc.ParseDate(*from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	toDay, err := calc.ParseDate(*to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if toDay < fromDay {
		return fmt.Errorf("--to %s is before --from %s", toDay, fromDay)
	}
	if *format != "table" && *format != "json" && *format != "csv" {
		return fmt.Errorf("--format %q: want table, json or csv", *format)
	}
	ctx := context.Background()
	s, err := sf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var o auditor = ops.New(s)
	versions, err := o.Versions(ctx, *policy)
	if errors.Is(err, ops.ErrUnknownVersion) {
		return fmt.Errorf("--policy %q: no such published version", *policy)
	}
	if err != nil {
		return err
	}
	progress := stderr
	if *quiet {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "audit: reading the claims discharged %s to %s...\n", fromDay, toDay)
	start := time.Now()
	a, err := o.Audit(ctx, fromDay, toDay, versions, func(p ops.Progress) {
		fmt.Fprintf(progress, "audit: read and re-settled %s of %s claims (%s)\n", groupInt(p.Done), groupInt(p.Total), time.Since(start).Round(100*time.Millisecond))
	})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	switch *format {
	case "json":
		err = writeAuditJSON(&out, a)
	case "csv":
		err = writeAuditCSV(&out, a)
	default:
		writeAuditTable(&out, a, fromDay, toDay)
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

func writeAuditTable(w io.Writer, a *batch.Audit, from, to calc.Date) {
	fmt.Fprintf(w, "Audit of claims discharged %s to %s: %s\n\n", from, to, a.Summary())
	fmt.Fprintf(w, "%-16s %16s %16s %14s\n", "", "paid", "replayed", "difference")
	row := func(label string, paid, replayed calc.Money) {
		fmt.Fprintf(w, "%-16s %16s %16s %14s\n", label, paid.Grouped(), replayed.Grouped(), signed(replayed-paid))
	}
	row("total cost", a.Stored.Total, a.Replayed.Total)
	for _, l := range calc.Lines() {
		row(fmt.Sprintf("%d %s", int(l)+1, l), a.Stored.Lines[l], a.Replayed.Lines[l])
	}
	row("out-of-pocket", a.Stored.OutOfPocket, a.Replayed.OutOfPocket)
	if len(a.Differences) == 0 {
		fmt.Fprintln(w, "\nEvery claim replays to what was paid.")
		return
	}
	fmt.Fprintf(w, "\nClaims whose replay differs (replayed − paid):\n")
	for _, d := range a.Differences {
		var parts []string
		for _, l := range calc.Lines() {
			if delta := d.Delta(l); delta != 0 {
				parts = append(parts, fmt.Sprintf("%s %s", l, signed(delta)))
			}
		}
		fmt.Fprintf(w, "  %s (%s): %s; out-of-pocket %s — %s\n", d.ClaimID, d.PersonID, strings.Join(parts, ", "),
			signed(d.ReplayedOOP-d.StoredOutOfPocket), strings.Join(d.Causes, "; "))
	}
}

func writeAuditCSV(w io.Writer, a *batch.Audit) error {
	cw := csv.NewWriter(w)
	header := []string{"claim_id", "person_id", "paid_version", "replayed_version"}
	for _, l := range calc.Lines() {
		header = append(header, l.String()+"_paid", l.String()+"_replayed")
	}
	header = append(header, "out_of_pocket_paid", "out_of_pocket_replayed", "causes")
	_ = cw.Write(header)
	for _, d := range a.Differences {
		row := []string{d.ClaimID, d.PersonID, d.StoredVersion, d.ReplayedVersion}
		for _, l := range calc.Lines() {
			row = append(row, d.Stored[l].String(), d.Replayed[l].String())
		}
		row = append(row, d.StoredOutOfPocket.String(), d.ReplayedOOP.String(), strings.Join(d.Causes, "; "))
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func writeAuditJSON(w io.Writer, a *batch.Audit) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ops.NewAuditReport(a))
}
