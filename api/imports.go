package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// paidImporter is what the import of a county's history needs of ops.
type paidImporter interface {
	ImportPaid(ctx context.Context, in ops.PaidImport, progress func(ops.Progress)) (ops.ImportStats, error)
}

var _ paidImporter = (*ops.Service)(nil)

// importParts are the parts of an import: the claims and what was paid on them.
var importParts = []filePart{{"claims", true}, {"paid", true}}

// importJSON is what an import stored.
type importJSON struct {
	Claims      int             `json:"claims"`
	Claimants   int             `json:"persons"`
	Ledgers     int             `json:"ledgers"`
	Versions    []string        `json:"policy_versions"`
	Total       money           `json:"total"`
	Lines       []tallyLineJSON `json:"lines"`
	OutOfPocket money           `json:"out_of_pocket"`
}

// importPaid answers POST /v1/imports, a multipart/form-data body with the files claims
// and paid: the claims stored as settled with what the system before hpcalc paid on each,
// opening the person-year ledgers (ops.ImportPaid). 201 with what was stored; 422 naming
// the file, line, column and rule of bad input; 409 for claims that overlap stored ones.
func (s *server) importPaid(c echo.Context) error {
	req := c.Request()
	files, err := readFileParts(c, importParts, maxAuditBody, "an import", "the import needs the claims and paid files")
	if err != nil {
		return err
	}
	defer req.MultipartForm.RemoveAll()
	st, err := s.imports.ImportPaid(req.Context(), ops.PaidImport{ClaimsName: "claims", Claims: files["claims"], PaidName: "paid", Paid: files["paid"]}, nil)
	var ce *csvdata.Error
	if errors.As(err, &ce) {
		fields := make([]fieldError, len(ce.Problems))
		for i, pr := range ce.Problems {
			fields[i] = fieldError{Field: ce.File + "." + fieldOr(pr.Field, "row"), Rule: pr.Rule, Line: pr.Line, Column: pr.Column}
		}
		k, detail := kindInvalid, "the "+ce.File+" file is invalid; nothing was imported"
		if errors.Is(err, store.ErrConflict) {
			k, detail = kindConflict, "claims of the "+ce.File+" file are stored already; nothing was imported"
		}
		if ce.Truncated {
			detail += fmt.Sprintf("; only the first %d problems are listed", len(ce.Problems))
		}
		return fail(k, detail, fields...)
	}
	if err != nil {
		return invalidInput(err, "the import")
	}
	t := st.Tally
	out := importJSON{Claims: st.Claims, Claimants: st.Claimants, Ledgers: st.Ledgers, Versions: st.Versions,
		Total: money(t.Total), OutOfPocket: money(t.OutOfPocket), Lines: []tallyLineJSON{}}
	if out.Versions == nil {
		out.Versions = []string{}
	}
	for _, l := range calc.Lines() {
		out.Lines = append(out.Lines, tallyLineJSON{Name: l.String(), Amount: money(t.Lines[l]), Wan: t.Lines[l].Wan()})
	}
	return writeJSON(c, http.StatusCreated, out)
}
