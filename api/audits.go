package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/labstack/echo/v4"
)

// paidAuditor is what the audit from files needs of ops.
type paidAuditor interface {
	AuditUploaded(ctx context.Context, in ops.PaidFiles, persons, providers io.Reader) (*batch.PaidAudit, error)
}

var _ paidAuditor = (*ops.Service)(nil)

// maxAuditBody is the largest multipart body of an audit from files: a county's year of
// claims (about 90 bytes a claim) and their paid file (about 60) many times over.
const maxAuditBody = 256 << 20

// auditParts are the parts of an audit from files, by form name, and whether each is
// required.
var auditParts = []filePart{{"claims", true}, {"paid", true}, {"persons", false}, {"providers", false}}

// auditFiles answers POST /v1/audits, a multipart/form-data body with the files claims
// and paid (and persons and providers, else the stored register and providers): the
// claims replayed from scratch under the published policies and compared with what was
// paid, as JSON, or as a workbook (xlsx or CSV) by the Accept header.
func (s *server) auditFiles(c echo.Context) error {
	req := c.Request()
	files, err := readFileParts(c, auditParts, maxAuditBody, "an audit", "the audit needs the claims and paid files")
	if err != nil {
		return err
	}
	defer req.MultipartForm.RemoveAll()
	in := ops.PaidFiles{ClaimsName: "claims", Claims: files["claims"], PaidName: "paid", Paid: files["paid"]}
	a, err := s.audits.AuditUploaded(req.Context(), in, files["persons"], files["providers"])
	var ce *csvdata.Error
	if errors.As(err, &ce) {
		fields := make([]fieldError, len(ce.Problems))
		for i, pr := range ce.Problems {
			fields[i] = fieldError{Field: ce.File + "." + fieldOr(pr.Field, "row"), Rule: pr.Rule, Line: pr.Line, Column: pr.Column}
		}
		detail := "the " + ce.File + " file is invalid; nothing was audited"
		if ce.Truncated {
			detail += fmt.Sprintf("; reading stopped after %d problems", csvdata.MaxErrors)
		}
		return fail(kindInvalid, detail, fields...)
	}
	if err != nil {
		return invalidInput(err, "the audit input")
	}
	if as := preferred(req.Header.Get(echo.HeaderAccept)); as != asJSON {
		return writeBook(c, as, ops.PaidAuditBook(a))
	}
	return writeJSON(c, http.StatusOK, ops.NewPaidAuditReport(a))
}

// filePart is a file part of a multipart/form-data body, by form name, and whether it is
// required.
type filePart struct {
	name     string
	required bool
}

// readFileParts reads a multipart/form-data body of at most max bytes with the file parts
// parts, and returns each part sent, open, by name. The files are closed and removed when
// the request ends (req.MultipartForm.RemoveAll is the caller's, once it is done). what
// names the operation in the 413's detail, missing is the 422's detail.
func readFileParts(c echo.Context, parts []filePart, max int64, what, missing string) (map[string]io.Reader, error) {
	req := c.Request()
	if mediaType(c) != "multipart/form-data" {
		return nil, fail(kindMediaType, "send the files as multipart/form-data, not "+mediaType(c))
	}
	if req.ContentLength > max {
		return nil, fail(kindTooLarge, fmt.Sprintf("the body is %d bytes; %s accepts at most %d", req.ContentLength, what, max))
	}
	req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, max)
	// Parts over 32 MiB in all wait in temporary files, removed when the request ends.
	if err := req.ParseMultipartForm(32 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fail(kindTooLarge, fmt.Sprintf("the body is over %d bytes", max))
		}
		return nil, fail(kindBadRequest, "the multipart body could not be read: "+err.Error())
	}
	files := map[string]io.Reader{}
	var absent []fieldError
	for _, p := range parts {
		fh := req.MultipartForm.File[p.name]
		switch {
		case len(fh) == 0 && p.required:
			absent = append(absent, fieldError{Field: p.name, Rule: "is required: a CSV file part named " + p.name})
			continue
		case len(fh) == 0:
			continue
		case len(fh) > 1:
			absent = append(absent, fieldError{Field: p.name, Rule: "is sent more than once"})
			continue
		}
		f, err := fh[0].Open()
		if err != nil {
			req.MultipartForm.RemoveAll()
			return nil, fmt.Errorf("open part %s: %w", p.name, err)
		}
		context.AfterFunc(req.Context(), func() { f.Close() })
		files[p.name] = f
	}
	if len(absent) > 0 {
		req.MultipartForm.RemoveAll()
		return nil, fail(kindInvalid, missing, absent...)
	}
	return files, nil
}
