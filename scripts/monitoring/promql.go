package monitoring

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// functions are the PromQL functions a query may call.
var functions = []string{
	"abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes",
	"clamp", "clamp_max", "clamp_min", "count_over_time", "delta", "deriv",
	"exp", "floor", "histogram_quantile", "idelta", "increase", "irate",
	"label_replace", "last_over_time", "ln", "max_over_time", "min_over_time",
	"predict_linear", "quantile_over_time", "rate", "resets", "round",
	"scalar", "sort", "sort_desc", "sqrt", "stddev_over_time",
	"sum_over_time", "time", "timestamp", "vector",
}

// aggregations are PromQL's aggregation operators; the ones in
// paramAggregations take a parameter before the expression.
var (
	aggregations      = []string{"sum", "min", "max", "avg", "count", "stddev", "stdvar", "group", "topk", "bottomk", "quantile", "count_values"}
	paramAggregations = []string{"topk", "bottomk", "quantile", "count_values"}
	keywordBinaryOps  = []string{"and", "or", "unless"}
	symbolBinaryOps   = []string{"==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "^", ">", "<"}
	matchOps          = []string{"=~", "!~", "!=", "="}
)

// Selector is one vector selector of a query: a metric and the label
// matchers its series must pass.
type Selector struct {
	Metric   string
	Matchers []Matcher
}

// Matcher is one label matcher: Op is =, !=, =~ or !~.
type Matcher struct {
	Label, Op, Value string
}

// Matches reports whether a series with labels passes every matcher (a
// regular expression matches the whole value, as in PromQL).
func (s Selector) Matches(labels map[string]string) bool {
	for _, m := range s.Matchers {
		v := labels[m.Label]
		var ok bool
		switch m.Op {
		case "=", "!=":
			ok = v == m.Value
		default:
			re, err := regexp.Compile("^(?:" + m.Value + ")$")
			ok = err == nil && re.MatchString(v)
		}
		if ok == strings.HasPrefix(m.Op, "!") {
			return false
		}
	}
	return true
}

// Selectors parses query and returns its vector selectors, in order of
// appearance.
func Selectors(query string) ([]Selector, error) {
	p := &parser{src: query}
	if err := p.expr(); err != nil {
		return nil, fmt.Errorf("%q at offset %d: %w", query, p.pos, err)
	}
	if p.skipSpace(); p.pos != len(p.src) {
		return nil, fmt.Errorf("%q at offset %d: unexpected %q", query, p.pos, p.src[p.pos:])
	}
	for _, s := range p.selectors {
		if s.Metric == "" {
			return nil, fmt.Errorf("%q: a selector names no metric", query)
		}
	}
	return p.selectors, nil
}

// Metrics parses query and returns the metric names it selects, in order
// of appearance, each once.
func Metrics(query string) ([]string, error) {
	sels, err := Selectors(query)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range sels {
		if !slices.Contains(names, s.Metric) {
			names = append(names, s.Metric)
		}
	}
	return names, nil
}

// parser reads one expression of src into the selectors it makes.
type parser struct {
	src       string
	pos       int
	selectors []Selector
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

// accept consumes s if it comes next.
func (p *parser) accept(s string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *parser) expect(s string) error {
	if !p.accept(s) {
		return fmt.Errorf("want %q", s)
	}
	return nil
}

// peekIdent returns the identifier that comes next ("" when none).
func (p *parser) peekIdent() string {
	p.skipSpace()
	end := p.pos
	for end < len(p.src) {
		c := rune(p.src[end])
		if c == '_' || c == ':' || unicode.IsLetter(c) || (end > p.pos && unicode.IsDigit(c)) {
			end++
			continue
		}
		break
	}
	return p.src[p.pos:end]
}

func (p *parser) ident() (string, error) {
	id := p.peekIdent()
	if id == "" {
		return "", fmt.Errorf("want a name")
	}
	p.pos += len(id)
	return id, nil
}

// expr reads operands joined by binary operators (precedence does not
// matter to what is checked here).
func (p *parser) expr() error {
	for {
		if err := p.unary(); err != nil {
			return err
		}
		if !p.binaryOp() {
			return nil
		}
		p.accept("bool")
		if err := p.vectorMatching(); err != nil {
			return err
		}
	}
}

func (p *parser) binaryOp() bool {
	if id := p.peekIdent(); slices.Contains(keywordBinaryOps, id) {
		p.pos += len(id)
		return true
	}
	for _, op := range symbolBinaryOps {
		if p.accept(op) {
			return true
		}
	}
	return false
}

// vectorMatching reads on(...)/ignoring(...) and group_left/right(...).
func (p *parser) vectorMatching() error {
	for _, kw := range []string{"on", "ignoring", "group_left", "group_right"} {
		if p.peekIdent() != kw {
			continue
		}
		p.pos += len(kw)
		if p.accept("(") {
			p.pos-- // labels reads the parenthesis again
			if err := p.labels(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) unary() error {
	if p.accept("-") || p.accept("+") {
		return p.unary()
	}
	if err := p.primary(); err != nil {
		return err
	}
	return p.suffix()
}

// suffix reads a range or subquery and an offset after an operand.
func (p *parser) suffix() error {
	if p.accept("[") {
		if err := p.duration(); err != nil {
			return err
		}
		if p.accept(":") {
			if p.skipSpace(); p.pos < len(p.src) && p.src[p.pos] != ']' {
				if err := p.duration(); err != nil {
					return err
				}
			}
		}
		if err := p.expect("]"); err != nil {
			return err
		}
	}
	if p.peekIdent() == "offset" {
		p.pos += len("offset")
		p.accept("-")
		return p.duration()
	}
	return nil
}

func (p *parser) primary() error {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return fmt.Errorf("unexpected end")
	}
	switch c := p.src[p.pos]; {
	case c == '(':
		p.pos++
		if err := p.expr(); err != nil {
			return err
		}
		return p.expect(")")
	case c == '"' || c == '\'':
		return p.str()
	case c == '{':
		p.selectors = append(p.selectors, Selector{})
		return p.matchers()
	case unicode.IsDigit(rune(c)) || c == '.':
		return p.number()
	}
	id, err := p.ident()
	if err != nil {
		return err
	}
	switch {
	case slices.Contains(aggregations, id):
		return p.aggregation(id)
	case slices.Contains(functions, id):
		return p.call()
	}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		return fmt.Errorf("unknown function %q", id)
	}
	p.selectors = append(p.selectors, Selector{Metric: id})
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		return p.matchers()
	}
	return nil
}

// aggregation reads an aggregation after its name: a grouping before or
// after the parenthesised (parameter and) expression.
func (p *parser) aggregation(op string) error {
	if err := p.grouping(); err != nil {
		return err
	}
	if err := p.expect("("); err != nil {
		return err
	}
	if slices.Contains(paramAggregations, op) {
		if err := p.expr(); err != nil {
			return err
		}
		if err := p.expect(","); err != nil {
			return err
		}
	}
	if err := p.expr(); err != nil {
		return err
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	return p.grouping()
}

func (p *parser) grouping() error {
	if id := p.peekIdent(); id == "by" || id == "without" {
		p.pos += len(id)
		return p.labels()
	}
	return nil
}

// call reads a function's parenthesised arguments.
func (p *parser) call() error {
	if err := p.expect("("); err != nil {
		return err
	}
	if p.accept(")") {
		return nil
	}
	for {
		if err := p.expr(); err != nil {
			return err
		}
		if !p.accept(",") {
			return p.expect(")")
		}
	}
}

// labels reads a parenthesised list of label names.
func (p *parser) labels() error {
	if err := p.expect("("); err != nil {
		return err
	}
	for !p.accept(")") {
		if _, err := p.ident(); err != nil {
			return err
		}
		if !p.accept(",") {
			return p.expect(")")
		}
	}
	return nil
}

// matchers reads {label op "value", ...} into the last selector;
// __name__="x" selects metric x.
func (p *parser) matchers() error {
	sel := &p.selectors[len(p.selectors)-1]
	if err := p.expect("{"); err != nil {
		return err
	}
	for !p.accept("}") {
		label, err := p.ident()
		if err != nil {
			return err
		}
		op := ""
		for _, o := range matchOps {
			if p.accept(o) {
				op = o
				break
			}
		}
		if op == "" {
			return fmt.Errorf("want a matcher's operator after %q", label)
		}
		p.skipSpace()
		start := p.pos
		if err := p.str(); err != nil {
			return err
		}
		value, err := unquote(p.src[start:p.pos])
		if err != nil {
			return err
		}
		if label == "__name__" && op == "=" {
			sel.Metric = value
		} else {
			sel.Matchers = append(sel.Matchers, Matcher{label, op, value})
		}
		if !p.accept(",") {
			return p.expect("}")
		}
	}
	return nil
}

func (p *parser) str() error {
	p.skipSpace()
	if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
		return fmt.Errorf("want a string")
	}
	quote := p.src[p.pos]
	for i := p.pos + 1; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case quote:
			p.pos = i + 1
			return nil
		}
	}
	return fmt.Errorf("unterminated string")
}

// unquote returns the value of a PromQL string, in double or single quotes.
func unquote(q string) (string, error) {
	if q[0] == '\'' {
		q = `"` + strings.ReplaceAll(strings.ReplaceAll(q[1:len(q)-1], `\'`, `'`), `"`, `\"`) + `"`
	}
	return strconv.Unquote(q)
}

func (p *parser) number() error {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) && (unicode.IsDigit(rune(p.src[p.pos])) || p.src[p.pos] == '.' || p.src[p.pos] == 'e') {
		p.pos++
	}
	if p.pos == start {
		return fmt.Errorf("want a number")
	}
	return nil
}

// duration reads a duration such as 5m or 1h30m.
func (p *parser) duration() error {
	p.skipSpace()
	n := 0
	for p.pos < len(p.src) {
		start := p.pos
		for p.pos < len(p.src) && unicode.IsDigit(rune(p.src[p.pos])) {
			p.pos++
		}
		if p.pos == start {
			break
		}
		unit := false
		for _, u := range []string{"ms", "s", "m", "h", "d", "w", "y"} {
			if strings.HasPrefix(p.src[p.pos:], u) {
				p.pos += len(u)
				unit = true
				break
			}
		}
		if !unit {
			return fmt.Errorf("want a duration's unit")
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("want a duration")
	}
	return nil
}
