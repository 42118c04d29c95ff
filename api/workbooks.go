package api

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/hpcalc/hpcalc/workbook"
	"github.com/labstack/echo/v4"
)

// The representations a report route can answer.
const (
	asJSON = "json"
	asCSV  = "csv"
	asXLSX = "xlsx"
)

// mediaTypes are the Accept header's names of the representations.
var mediaTypes = map[string]string{asJSON: "application/json", asCSV: "text/csv", asXLSX: workbook.MediaXLSX}

// preferred is the representation an Accept header asks for: of JSON, CSV and xlsx, the one
// listed by name with the highest quality, JSON on a tie and when none is listed (a
// wildcard gets the default, JSON).
func preferred(accept string) string {
	best, bestQ := asJSON, 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if w, err := strconv.ParseFloat(v, 64); err == nil {
					q = w
				}
			}
		}
		for _, rep := range []string{asJSON, asXLSX, asCSV} {
			if mt == mediaTypes[rep] && q > 0 && (q > bestQ || q == bestQ && rep == asJSON) {
				best, bestQ = rep, q
			}
		}
	}
	return best
}

// writeBook answers a workbook as xlsx or CSV, as a download named for what it holds.
func writeBook(c echo.Context, as string, b *workbook.Book) error {
	var buf bytes.Buffer
	media, ext := workbook.MediaXLSX, ".xlsx"
	write := b.WriteXLSX
	if as == asCSV {
		media, ext, write = workbook.MediaCSV, ".csv", b.WriteCSV
	}
	if err := write(&buf); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+b.Name+ext+`"`)
	return c.Blob(http.StatusOK, media, buf.Bytes())
}
