package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/ops"
)

// auditFiles are the flags of an audit from files.
type auditFiles struct {
	claims, paid, persons, providers, out string
}

func (a *auditFiles) register(fs *flag.FlagSet) {
	fs.StringVar(&a.claims, "claims", "", "claims CSV `FILE` to audit, header "+strings.Join(csvdata.ClaimColumns, ",")+" (with --paid)")
	fs.StringVar(&a.paid, "paid", "", "CSV `FILE` of what was paid on each claim, header "+strings.Join(csvdata.PaidColumns, ",")+" (yuan; with --claims)")
	fs.StringVar(&a.persons, "persons", "", "with --paid: persons CSV `FILE` (default: the shipped persons)")
	fs.StringVar(&a.providers, "providers", "", "with --paid: providers CSV `FILE` the claims are checked against")
	fs.StringVar(&a.out, "out", "", "with --paid: write the report to `FILE` instead of stdout")
}

func runAuditFiles(f *auditFiles, policyFiles []string, format string, stdout io.Writer) error {
	if f.claims == "" || f.paid == "" {
		return errors.New("an audit from files needs both --claims FILE and --paid FILE")
	}
	switch format {
	case "table", "json", "csv", "xlsx":
	default:
		return fmt.Errorf("--format %q: want table, json, csv or xlsx", format)
	}
	paid, paidName, err := openData(f.paid, "")
	if err != nil {
		return err
	}
	defer paid.Close()
	// The persons and claims files are read at once, as replay reads them; the persons'
	// index goes once the claims are in the table.
	// The paid amounts are held whole, as the claims are: the paid file counts in full.
	limit := limitMemory(f.claims, f.persons, f.paid)
	defer limit.Restore()
	in, err := loadReplayInput(policyFiles, f.persons, f.providers, f.claims, limit.PersonsFirst)
	if err != nil {
		return err
	}
	a, err := ops.AuditPaidTable(in.set, ops.PaidFiles{Policies: in.policies, PaidName: paidName, Paid: paid})
	if err != nil {
		return err
	}
	in.set = nil // the report needs only a
	write := func(w io.Writer) error {
		switch format {
		case "json":
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(ops.NewPaidAuditReport(a))
		case "csv":
			return writePaidAuditCSV(w, a)
		case "xlsx":
			return ops.PaidAuditBook(a).WriteXLSX(w)
		}
		writePaidAuditTable(w, a, in.policyDesc)
		return nil
	}
	if f.out != "" {
		return writeFileAtomic(f.out, write)
	}
	var out bytes.Buffer
	if err := write(&out); err != nil {
		return err
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

func writePaidAuditCSV(w io.Writer, a *batch.PaidAudit) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(ops.PaidAuditColumns())
	for i := range a.Differences {
		_ = cw.Write(ops.PaidAuditRow(&a.Differences[i]))
	}
	cw.Flush()
	return cw.Error()
}

func writePaidAuditTable(w io.Writer, a *batch.PaidAudit, policies string) {
	fmt.Fprintf(w, "Audit of what was paid, under %s: %s\n\n", policies, a.Summary())
	fmt.Fprintf(w, "%-16s %16s %16s %14s\n", "", "paid", "rules", "paid − rules")
	row := func(label string, paid, rules calc.Money) {
		fmt.Fprintf(w, "%-16s %16s %16s %14s\n", label, paid.Grouped(), rules.Grouped(), signed(paid-rules))
	}
	row("total cost", a.Paid.Total, a.Rules.Total)
	for _, l := range calc.Lines() {
		row(fmt.Sprintf("%d %s", int(l)+1, l), a.Paid.Lines[l], a.Rules.Lines[l])
	}
	row("out-of-pocket", a.Paid.OutOfPocket, a.Rules.OutOfPocket)
	for _, u := range a.NotPaid {
		fmt.Fprintf(w, "\nclaim %s is in the claims file but not in the paid file", u.ClaimID)
	}
	for _, u := range a.NotClaimed {
		fmt.Fprintf(w, "\nclaim %s is in the paid file but not in the claims file", u.ClaimID)
	}
	if len(a.NotPaid)+len(a.NotClaimed) > 0 {
		fmt.Fprintln(w)
	}
	if len(a.Differences) == 0 {
		fmt.Fprintln(w, "\nEvery claim in both files was paid as the rules give.")
		return
	}
	fmt.Fprintf(w, "\nDiffering claims by cause:")
	for _, k := range batch.Kinds() {
		if n := a.ByKind[k]; n > 0 {
			fmt.Fprintf(w, " %s %d", k, n)
		}
	}
	fmt.Fprintf(w, "\n\nClaims paid otherwise than the rules give (paid − rules):\n")
	for i := range a.Differences {
		d := &a.Differences[i]
		var parts []string
		for _, l := range calc.Lines() {
			if delta := d.Delta(l); delta != 0 {
				parts = append(parts, fmt.Sprintf("%s %s", l, signed(delta)))
			}
		}
		fmt.Fprintf(w, "  %s (%s): %s; out-of-pocket %s — %s\n", d.ClaimID, d.PersonID, strings.Join(parts, ", "),
			signed(d.PaidOOP-d.RulesOOP), ops.CauseText(d))
	}
	fmt.Fprintf(w, "\nPerson-years that drifted (paid − rules):\n")
	for _, d := range a.Drift {
		var parts []string
		for _, l := range calc.Lines() {
			if d.Delta[l] != 0 {
				parts = append(parts, fmt.Sprintf("%s %s", l, signed(d.Delta[l])))
			}
		}
		fmt.Fprintf(w, "  %s %d, %d claims: %s; out-of-pocket %s\n", d.PersonID, d.Year, d.Claims, strings.Join(parts, ", "), signed(d.OOPDelta))
	}
}
