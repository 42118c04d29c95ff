package console

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// The API routes whose roles the admin desk's actions take.
const (
	tokensRoute    = "POST /v1/tokens"
	revokeRoute    = "DELETE /v1/tokens/{id}"
	policyRoute    = "POST /v1/policies"
	personsRoute   = "PUT /v1/persons"
	providersRoute = "PUT /v1/providers"
	importsRoute   = "POST /v1/imports"
)

func adminDesk() desk {
	return desk{id: "admin", path: "/admin", route: tokensRoute, mount: func(c *Console, e *echo.Echo) {
		e.GET("/admin", c.guard(tokensRoute, c.adminPage))
		e.POST("/admin/tokens", c.guard(tokensRoute, c.adminCreateToken))
		e.POST("/admin/tokens/revoke", c.guard(revokeRoute, c.adminRevokeToken))
		e.POST("/admin/policies", c.guard(policyRoute, c.adminPublish))
		e.POST("/admin/persons", c.guard(personsRoute, c.adminUpload(false)))
		e.POST("/admin/providers", c.guard(providersRoute, c.adminUpload(true)))
		e.POST("/admin/imports", c.guard(importsRoute, c.adminImport))
	}}
}

// maxUpload is the largest file the admin desk takes.
const maxUpload = 64 << 20

// problem is one error of an uploaded file, at its line and column.
type problem struct {
	Line, Column int
	Field, Rule  string
}

// adminData is what the admin desk shows.
type adminData struct {
	Tokens    []store.TokenInfo
	Roles     []string
	Policies  []*calc.Policy
	NewToken  string // a token just created, shown once
	TokenForm struct{ Role, Providers, Note string }
	// Section is the form the answer is about ("tokens", "policy", "persons",
	// "providers"), Error its error and Problems the errors of its file.
	Section  string
	Error    string
	Problems []problem
	Notice   string
	Count    int // rows upserted
}

func (c *Console) adminData(ec echo.Context, d *adminData) error {
	ctx := ec.Request().Context()
	var err error
	if d.Tokens, err = c.store.Tokens(ctx); err != nil {
		return err
	}
	set, err := c.store.Policies(ctx)
	if err != nil {
		return err
	}
	d.Policies = set.Policies()
	d.Roles = store.Roles
	if d.TokenForm.Role == "" {
		d.TokenForm.Role = store.RoleClinic
	}
	return nil
}

func (c *Console) adminRender(ec echo.Context, status int, d adminData) error {
	if err := c.adminData(ec, &d); err != nil {
		return err
	}
	return c.render(ec, status, "admin", "desk.admin", d)
}

func (c *Console) adminPage(ec echo.Context) error {
	d := adminData{}
	if n := ec.QueryParam("notice"); n == "revoked" {
		d.Notice = "notice.revoked"
	}
	return c.adminRender(ec, http.StatusOK, d)
}

// adminCreateToken creates a token; store checks the role and the providers.
func (c *Console) adminCreateToken(ec echo.Context) error {
	var d adminData
	d.Section = "tokens"
	d.TokenForm.Role = ec.FormValue("role")
	d.TokenForm.Providers = ec.FormValue("providers")
	d.TokenForm.Note = strings.TrimSpace(ec.FormValue("note"))
	providers := strings.FieldsFunc(d.TokenForm.Providers, func(r rune) bool { return r == ',' || r == ' ' || r == '，' })
	plain, _, err := c.store.IssueToken(ec.Request().Context(), store.Token{Role: d.TokenForm.Role, Providers: providers, Note: d.TokenForm.Note})
	if err != nil {
		d.Error = err.Error()
		return c.adminRender(ec, http.StatusUnprocessableEntity, d)
	}
	d.NewToken = plain
	d.TokenForm.Providers, d.TokenForm.Note = "", ""
	return c.adminRender(ec, http.StatusCreated, d)
}

func (c *Console) adminRevokeToken(ec echo.Context) error {
	if _, err := c.store.RevokeToken(ec.Request().Context(), ec.FormValue("id")); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return c.adminRender(ec, http.StatusConflict, adminData{Section: "tokens", Error: err.Error()})
		}
		return err
	}
	return ec.Redirect(http.StatusSeeOther, "/admin?notice=revoked")
}

// upload reads the file of the form's field "file".
func upload(ec echo.Context) (string, []byte, error) {
	fh, err := ec.FormFile("file")
	if err != nil {
		return "", nil, err
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return fh.Filename, b, err
}

// adminPublish publishes an uploaded policy document; its errors are listed with their
// line and column.
func (c *Console) adminPublish(ec echo.Context) error {
	d := adminData{Section: "policy"}
	name, body, err := upload(ec)
	if err != nil {
		d.Error = c.lang(ec).T("err.noFile")
		return c.adminRender(ec, http.StatusBadRequest, d)
	}
	p, err := policyfile.Parse(name, body)
	var pe *policyfile.Error
	switch {
	case errors.As(err, &pe):
		for _, pr := range pe.Problems {
			d.Problems = append(d.Problems, problem{Line: pr.Line, Column: pr.Column, Field: pr.Field, Rule: c.lang(ec).Rule(pr.Code, pr.Args, pr.Rule)})
		}
		d.Error = c.lang(ec).T("err.fileInvalid", name)
		return c.adminRender(ec, http.StatusUnprocessableEntity, d)
	case err != nil:
		d.Error = err.Error()
		return c.adminRender(ec, http.StatusUnprocessableEntity, d)
	}
	if err := c.store.PublishPolicy(ec.Request().Context(), p, body); err != nil {
		if errors.Is(err, store.ErrConflict) {
			d.Error = err.Error()
			return c.adminRender(ec, http.StatusConflict, d)
		}
		return err
	}
	d.Notice = "notice.published"
	return c.adminRender(ec, http.StatusCreated, d)
}

// adminUpload upserts an uploaded persons.csv or providers.csv, all rows or none; its
// errors are listed per row.
func (c *Console) adminUpload(providers bool) echo.HandlerFunc {
	return func(ec echo.Context) error {
		d := adminData{Section: "persons"}
		if providers {
			d.Section = "providers"
		}
		name, body, err := upload(ec)
		if err != nil {
			d.Error = c.lang(ec).T("err.noFile")
			return c.adminRender(ec, http.StatusBadRequest, d)
		}
		ctx := ec.Request().Context()
		var n int
		if providers {
			var list []calc.Provider
			if list, err = csvdata.ReadProviders(name, bytes.NewReader(body)); err == nil {
				n, err = len(list), c.store.UpsertProviders(ctx, list)
			}
		} else {
			// A persons file may carry valid_from,valid_to: each row is then a version of
			// its person from that day on (store.UpsertPersonVersions).
			var list []calc.PersonVersion
			if list, err = csvdata.ReadPersonVersions(name, bytes.NewReader(body)); err == nil {
				n, err = len(list), c.store.UpsertPersonVersions(ctx, list)
			}
		}
		var ce *csvdata.Error
		switch {
		case errors.As(err, &ce):
			for _, pr := range ce.Problems {
				d.Problems = append(d.Problems, problem{Line: pr.Line, Column: pr.Column, Field: pr.Field, Rule: c.lang(ec).Rule(pr.Code, pr.Args, pr.Rule)})
			}
			d.Error = c.lang(ec).T("err.fileInvalid", name)
			return c.adminRender(ec, http.StatusUnprocessableEntity, d)
		case errors.Is(err, calc.ErrInvalid):
			d.Error = err.Error()
			return c.adminRender(ec, http.StatusUnprocessableEntity, d)
		case err != nil:
			return err
		}
		d.Notice, d.Count = "notice.upserted", n
		return c.adminRender(ec, http.StatusOK, d)
	}
}

// adminImport stores the claims of an uploaded claims file with what the system before
// hpcalc paid on each (the paid file), opening the person-year ledgers, as POST /v1/imports
// does: all claims or none; the errors of both files are listed with their lines.
func (c *Console) adminImport(ec echo.Context) error {
	d := adminData{Section: "imports"}
	files := map[string]io.Reader{}
	names := map[string]string{}
	for _, part := range []string{"claims", "paid"} {
		fh, err := ec.FormFile(part)
		if err != nil {
			d.Error = c.lang(ec).T("err.noFile")
			return c.adminRender(ec, http.StatusBadRequest, d)
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		files[part], names[part] = f, fh.Filename
	}
	st, err := c.ops.ImportPaid(ec.Request().Context(), ops.PaidImport{ClaimsName: names["claims"], Claims: files["claims"],
		PaidName: names["paid"], Paid: files["paid"]}, nil)
	var ce *csvdata.Error
	switch {
	case errors.As(err, &ce):
		for _, pr := range ce.Problems {
			d.Problems = append(d.Problems, problem{Line: pr.Line, Column: pr.Column, Field: ce.File + ": " + pr.Field, Rule: pr.Rule})
		}
		d.Error = c.lang(ec).T("err.fileInvalid", ce.File)
		status := http.StatusUnprocessableEntity
		if errors.Is(err, store.ErrConflict) {
			status = http.StatusConflict
		}
		return c.adminRender(ec, status, d)
	case errors.Is(err, calc.ErrInvalid):
		d.Error = err.Error()
		return c.adminRender(ec, http.StatusUnprocessableEntity, d)
	case err != nil:
		return err
	}
	d.Notice, d.Count = "notice.imported", st.Claims
	return c.adminRender(ec, http.StatusCreated, d)
}
