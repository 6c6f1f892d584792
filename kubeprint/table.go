package kubeprint

import (
	"io"
	"strings"
	"unicode/utf8"
)

// kubectl's table layout (printers.GetNewTabWriter): every column but the last is padded by
// three spaces and at least six wide.
const (
	tableMinWidth = 6
	tablePadding  = 3
)

// Table lays rows out as kubectl's table printer does. Column widths are remembered across
// flushes (kubectl's tabwriter.RememberWidths), so that the rows `get -w` prints one at a
// time stay under the header of the first flush; a wider cell widens its column from then on.
type Table struct {
	w      io.Writer
	widths []int
	rows   [][]string
}

// NewTable returns a table writing to w.
func NewTable(w io.Writer) *Table { return &Table{w: w} }

// Add queues a row; cells are escaped (EscapeTerminal) and tabs and newlines in them become
// spaces.
func (t *Table) Add(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = EscapeTerminal(strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' {
				return ' '
			}
			return r
		}, c))
	}
	t.rows = append(t.rows, row)
}

// Flush writes the queued rows.
func (t *Table) Flush() error {
	for _, row := range t.rows {
		for i, c := range row[:max(len(row)-1, 0)] {
			w := max(utf8.RuneCountInString(c)+tablePadding, tableMinWidth)
			if i >= len(t.widths) {
				t.widths = append(t.widths, w)
			} else {
				t.widths[i] = max(t.widths[i], w)
			}
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = t.rows[:0]
	_, err := io.WriteString(t.w, b.String())
	return err
}

// terminalEscaper neutralizes what could drive a terminal, as kubectl's
// printers.EscapeTerminal: text in a table or a description may come from a container.
var terminalEscaper = strings.NewReplacer("\x1b", "^[", "\r", "\\r")

// EscapeTerminal returns s with terminal escapes and carriage returns made visible.
func EscapeTerminal(s string) string { return terminalEscaper.Replace(s) }
