package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fileerr"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// defaultLang is the language of a user who has not chosen one.
const defaultLang = "zh"

// locale is one language's labels, read from locales/<code>.json.
type locale struct {
	code string
	msgs map[string]string
}

// T returns the label of key in this language, formatted with args as fmt.Sprintf does
// when the label has verbs.
// A missing key shows as itself; TestLocales keeps every key used present in every
// language.
func (l *locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		m = key
	}
	if len(args) > 0 && strings.Contains(m, "%") {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// Reason writes an explanation of the engine (calc.Settlement.Reason) in this language:
// each step's text is the label "reason.<code>", its money grouped, its rates in percent
// and its words the labels "reason.word.<word>". TestReasonsEnglish keeps the English
// equal to calc's own Explain.
func (l *locale) Reason(steps []calc.Step) string {
	var b []byte
	args := make([]any, 0, 5)
	for _, st := range steps {
		args = args[:0]
		for _, a := range st.Args {
			args = append(args, l.arg("reason.word.", a))
		}
		b = append(b, l.T("reason."+st.Code, args...)...)
	}
	return string(b)
}

// arg writes a value of a reason or a rule: money grouped, a rate in percent, a date as
// ISO, a word by its label (words + the word).
func (l *locale) arg(words string, a any) any {
	switch v := a.(type) {
	case calc.Money:
		return v.Grouped()
	case calc.Rate:
		return string(v.AppendPercent(nil))
	case calc.Date:
		return v.String()
	case calc.Word:
		return l.T(words + string(v))
	}
	return a
}

// Rule writes a broken rule of calc (calc.FieldError's or fileerr.Problem's Code and
// Args) in this language, from the label "rule.<code>"; a rule without a code (a reader's
// own, in English) is english as it is.
func (l *locale) Rule(code string, args []any, english string) string {
	if code == "" {
		return english
	}
	if _, ok := l.msgs["rule."+code]; !ok {
		return english
	}
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = l.arg("rule.word.", a)
	}
	return l.T("rule."+code, out...)
}

// fileError writes the problems of a file or document (a *fileerr.Error) with calc's
// rules in this language; another error as it is.
func (l *locale) fileError(err error) string {
	var fe *fileerr.Error
	if !errors.As(err, &fe) {
		return err.Error()
	}
	var b strings.Builder
	for i, p := range fe.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(fe.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(l.Rule(p.Code, p.Args, p.Rule))
	}
	return b.String()
}

// pageSet is every page parsed for one language.
type pageSet struct {
	locale *locale
	pages  map[string]*template.Template
}

// chinaTime is the zone the console shows times in: China has one.
var chinaTime = time.FixedZone("CST", 8*3600)

func funcs(l *locale) template.FuncMap {
	return template.FuncMap{
		"t":    l.T,
		"yuan": func(m calc.Money) string { return m.Grouped() },
		"wan":  func(m calc.Money) string { return m.Wan() },
		"time": func(t time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04:05") },
		"date": func(d calc.Date) string { return d.String() },
	}
}

// loadLocales reads every locales/*.json.
func loadLocales() (map[string]*locale, error) {
	names, err := fs.Glob(localeFS, "locales/*.json")
	if err != nil {
		return nil, err
	}
	out := map[string]*locale{}
	for _, n := range names {
		raw, err := localeFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		l := &locale{code: strings.TrimSuffix(path.Base(n), ".json")}
		if err := json.Unmarshal(raw, &l.msgs); err != nil {
			return nil, fmt.Errorf("console: %s: %w", n, err)
		}
		out[l.code] = l
	}
	if out[defaultLang] == nil {
		return nil, fmt.Errorf("console: no locales/%s.json", defaultLang)
	}
	return out, nil
}

// loadPages parses every page for every language: a page is templates/<name>.html,
// rendered inside layout.html when it defines "content", on its own (its "page") otherwise.
func loadPages() (map[string]*pageSet, error) {
	locales, err := loadLocales()
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageSet{}
	for code, l := range locales {
		set := &pageSet{locale: l, pages: map[string]*template.Template{}}
		for _, f := range files {
			name := strings.TrimSuffix(path.Base(f), ".html")
			if name == "layout" {
				continue
			}
			t, err := template.New(name).Funcs(funcs(l)).ParseFS(templateFS, "templates/layout.html", f)
			if err != nil {
				return nil, fmt.Errorf("console: template %s: %w", name, err)
			}
			set.pages[name] = t
		}
		out[code] = set
	}
	return out, nil
}

// lang is the locale of the request: its cookie's, else Chinese.
func (c *Console) lang(ec echo.Context) *locale {
	return c.pageSet(ec).locale
}

func (c *Console) pageSet(ec echo.Context) *pageSet {
	if ck, err := ec.Cookie(langCookie); err == nil {
		if s, ok := c.pages[ck.Value]; ok {
			return s
		}
	}
	return c.pages[defaultLang]
}

// navItem is one desk in the navigation.
type navItem struct {
	Path, Label string // Label is a label key
	Active      bool
}

// view is what every page template gets; Data is the page's own.
type view struct {
	Lang      string
	Langs     []string
	Title     string // a label key
	Nav       []navItem
	Session   *store.Session
	Providers string // the session's providers, for the header
	CSRF      string
	Path      string
	Data      any
}

// render writes page name with data, inside the layout, in the user's language.
func (c *Console) render(ec echo.Context, status int, name, title string, data any) error {
	csrf := ""
	if s, ok := c.session(ec); ok {
		csrf = s.CSRF
	}
	return c.renderWith(ec, status, name, title, data, csrf)
}

func (c *Console) renderWith(ec echo.Context, status int, name, title string, data any, csrf string) error {
	set := c.pageSet(ec)
	t, ok := set.pages[name]
	if !ok {
		return fmt.Errorf("console: no page %q", name)
	}
	v := view{Lang: set.locale.code, Title: title, CSRF: csrf, Path: ec.Request().URL.RequestURI(), Data: data}
	v.Langs = c.langs
	if s, ok := c.session(ec); ok {
		v.Session = &s
		v.Providers = strings.Join(s.Providers, ", ")
		for _, d := range c.desks {
			if c.mayUse(d.route, s.Role) {
				v.Nav = append(v.Nav, navItem{Path: d.path, Label: "desk." + d.id,
					Active: strings.HasPrefix(ec.Request().URL.Path, d.path)})
			}
		}
	}
	root := "page" // a page of its own, such as the slip
	if t.Lookup("content") != nil {
		root = "layout"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, root, v); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	return ec.HTMLBlob(status, buf.Bytes())
}

// fragment renders the named template of page name to a string, for the script's
// requests.
func (c *Console) fragment(ec echo.Context, page, name string, data any) (string, error) {
	t := c.pageSet(ec).pages[page]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("console: render %s/%s: %w", page, name, err)
	}
	return buf.String(), nil
}
