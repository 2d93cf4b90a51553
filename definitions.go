package prefetch

import (
	"slices"
	"strings"
)

// Definitions in raw SQL: views created or renamed, foreign keys with
// actions, inheritance and partitions, tables created by SELECT INTO.

// selectInto reports a SELECT ... INTO, which creates a table: an INTO
// whose nearest preceding statement keyword is SELECT.
func selectInto(s []string) bool {
	last := ""
	for _, w := range s {
		switch w {
		case "SELECT", "INSERT", "MERGE", "REPLACE":
			last = w
		case "INTO":
			if last == "SELECT" {
				return true
			}
		}
	}
	return false
}

// definition reads CREATE VIEW names and the foreign keys with actions that
// CREATE TABLE and ALTER TABLE declare.
func (e *effect) definition(head string, rest []string) {
	i := 0
	temp := false
	for i < len(rest) {
		switch rest[i] {
		case "OR", "REPLACE", "UNIQUE", "MATERIALIZED", "RECURSIVE", "UNLOGGED", "GLOBAL", "LOCAL", "IF", "NOT", "EXISTS":
			i++
			continue
		case "TEMP", "TEMPORARY":
			temp = true
			i++
			continue
		}
		break
	}
	if i >= len(rest) {
		return
	}
	kind := rest[i]
	name := ""
	for j := i + 1; j < len(rest); j++ {
		if w := rest[j]; w != "IF" && w != "NOT" && w != "EXISTS" && w != "ONLY" {
			if isIdent(w) {
				name = w
			}
			break
		}
	}
	if name == "" {
		if head == "ALTER" && (kind == "ROLE" || kind == "USER" || kind == "DATABASE") {
			e.alterDefaults(rest)
		}
		return
	}
	if schema, _, ok := strings.Cut(strings.ToLower(unquoteName(name)), "."); ok && (schema == "temp" || strings.HasPrefix(schema, "pg_temp")) {
		temp = true // CREATE TABLE temp.x, pg_temp.x: temporary all the same
	}
	if i := slices.Index(rest, "RENAME"); i >= 0 && i+2 < len(rest) && rest[i+1] == "TO" && isIdent(rest[i+2]) {
		e.renames = append(e.renames, [2]string{normTable(name), normTable(rest[i+2])})
	}
	if head == "ALTER" && (kind == "ROLE" || kind == "USER" || kind == "DATABASE") {
		e.alterDefaults(rest)
	}
	switch {
	case head == "CREATE" && kind == "VIEW":
		e.views = append(e.views, normTable(name))
		if temp {
			e.session = true
			e.set("*temp")
		}
	case kind == "TABLE":
		if head == "CREATE" && temp {
			e.session = true // a temporary table may hide a table of the same name
			e.set("*temp")
		}
		e.cascades = append(e.cascades, references(normTable(name), rest)...)
		e.linked = append(e.linked, inherited(normTable(name), rest)...)
	}
}

// inherited finds the tables an inheritance or partition clause ties
// together (INHERITS (p), PARTITION OF p, INHERIT p, ATTACH/DETACH
// PARTITION c), with the table defined.
func inherited(table string, toks []string) []string {
	var out []string
	for i, w := range toks {
		var next int
		switch {
		case w == "INHERITS" || w == "INHERIT":
			next = i + 1
		case w == "OF" && i > 0 && toks[i-1] == "PARTITION":
			next = i + 1
		case w == "PARTITION" && i > 0 && (toks[i-1] == "ATTACH" || toks[i-1] == "DETACH"):
			next = i + 1
		default:
			continue
		}
		j := next
		if j < len(toks) && toks[j] == "(" {
			j++
		}
		for j < len(toks) && isIdent(toks[j]) {
			out = append(out, normTable(toks[j]))
			if j+1 >= len(toks) || toks[j+1] != "," {
				break
			}
			j += 2
		}
	}
	if len(out) > 0 {
		out = append(out, table)
	}
	return out
}

// references finds "REFERENCES parent ... ON DELETE|UPDATE CASCADE|SET ..."
// in the definition of table child.
func references(child string, toks []string) []link {
	var out []link
	for i := 0; i < len(toks); i++ {
		if toks[i] != "REFERENCES" || i+1 >= len(toks) || !isIdent(toks[i+1]) {
			continue
		}
		l := link{child: child, parent: normTable(toks[i+1])}
		for j := i + 2; j+2 < len(toks) && toks[j] != "REFERENCES"; j++ {
			if toks[j] != "ON" || toks[j+2] != "CASCADE" && toks[j+2] != "SET" {
				continue
			}
			l.onDelete = l.onDelete || toks[j+1] == "DELETE"
			l.onUpdate = l.onUpdate || toks[j+1] == "UPDATE"
		}
		if l.onDelete || l.onUpdate {
			out = append(out, l)
		}
	}
	return out
}

// alterDefaults reads ALTER ROLE/USER/DATABASE ... SET/RESET: connections
// opened from then on start with other settings than those already in the
// pool, so the pool's connections no longer share one state.
func (e *effect) alterDefaults(rest []string) {
	if slices.Contains(rest, "SET") || slices.Contains(rest, "RESET") {
		e.session = true
		e.set("*defaults")
	}
}
