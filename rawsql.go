package prefetch

import (
	"strings"
)

// parseWrites reads raw SQL for the tables it may write. It knows the
// statements that read or change nothing cached (SELECT, SAVEPOINT, SET...)
// and the ones that name the tables they write (INSERT INTO, UPDATE, DELETE
// FROM, REPLACE, MERGE, TRUNCATE, ALTER/DROP TABLE, COPY ... FROM), including
// inside WITH clauses and after other statements. Anything else, or SQL it
// cannot tokenize, may have written anything.
func parseWrites(sql string) change {
	var c change
	toks, ok := tokenize(sql)
	if !ok {
		c.all = true
		return c
	}
	start := true
	for i := 0; i < len(toks); i++ {
		w := toks[i]
		if w == ";" {
			start = true
			continue
		}
		if start {
			start = false
			if !knownStatement(w, toks[i+1:]) {
				c.all = true
				return c
			}
		}
		prev := ""
		if i > 0 {
			prev = toks[i-1]
		}
		var tables []string
		switch w {
		case "REPLACE":
			if prev == "OR" || i+1 >= len(toks) || toks[i+1] != "INTO" {
				continue // INSERT OR REPLACE, or the replace() function
			}
			tables = targetAfter(toks[i+1:], "INTO")
		case "INSERT", "MERGE":
			tables = targetAfter(toks[i+1:], "INTO")
		case "UPDATE":
			if prev == "FOR" || prev == "KEY" || prev == "ON" || prev == "DO" {
				continue // locking, constraint actions, upserts
			}
			tables = targetAfter(toks[i+1:], "")
		case "DELETE":
			if prev == "ON" {
				continue
			}
			if tables = targetAfter(toks[i+1:], "FROM"); tables == nil {
				c.all = true
				return c
			}
		case "TRUNCATE":
			tables = tableList(toks[i+1:])
		case "ALTER", "DROP":
			if i+1 < len(toks) && toks[i+1] == "TABLE" {
				tables = tableList(toks[i+2:])
			}
		case "COPY":
			if i+2 < len(toks) && toks[i+2] == "FROM" {
				tables = []string{toks[i+1]}
			}
		default:
			continue
		}
		if tables == nil {
			c.all = true
			return c
		}
		for _, t := range tables {
			c.addTable(t)
		}
	}
	return c
}

// knownStatement reports whether a statement starting with keyword w is one
// whose writes, if any, the parser finds by their keywords.
func knownStatement(w string, rest []string) bool {
	switch w {
	case "SELECT", "WITH", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE", "MERGE",
		"TRUNCATE", "ALTER", "DROP", "COPY", "SHOW", "PRAGMA", "SAVEPOINT", "RELEASE",
		"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SET", "RESET", "VACUUM", "ANALYZE",
		"LISTEN", "UNLISTEN", "NOTIFY", "DEALLOCATE", "DISCARD", "PREPARE":
		return true
	case "EXPLAIN":
		return len(rest) == 0 || rest[0] != "ANALYZE"
	case "CREATE":
		// New tables, views, indexes and the like hold nothing cached;
		// functions, rules and triggers change what later writes do, which
		// the parser cannot follow.
		for _, r := range rest {
			switch r {
			case "TABLE", "INDEX", "VIEW", "SEQUENCE", "SCHEMA", "TYPE", "EXTENSION", "DATABASE":
				return true
			case "FUNCTION", "PROCEDURE", "TRIGGER", "RULE":
				return false
			}
		}
	}
	return false
}

// targetAfter returns the table after an optional keyword (INTO, FROM),
// skipping SQLite's OR-conflict words and ONLY.
func targetAfter(toks []string, kw string) []string {
	i := 0
	if i+1 < len(toks) && toks[i] == "OR" {
		i += 2
	}
	if kw != "" {
		if i >= len(toks) || toks[i] != kw {
			return nil
		}
		i++
	}
	if i < len(toks) && toks[i] == "ONLY" {
		i++
	}
	if i >= len(toks) || !isIdent(toks[i]) {
		return nil
	}
	return []string{toks[i]}
}

// tableList reads "[IF EXISTS] [ONLY] t1, t2".
func tableList(toks []string) []string {
	i := 0
	if i+1 < len(toks) && toks[i] == "IF" && toks[i+1] == "EXISTS" {
		i += 2
	}
	if i < len(toks) && (toks[i] == "ONLY" || toks[i] == "TABLE") {
		i++
	}
	var out []string
	for i < len(toks) && isIdent(toks[i]) {
		out = append(out, toks[i])
		if i+1 >= len(toks) || toks[i+1] != "," {
			break
		}
		i += 2
	}
	return out
}

func isIdent(t string) bool {
	if t == "" {
		return false
	}
	c := t[0]
	return c == '"' || c == '`' || c == '[' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// tokenize splits SQL into upper-cased words (identifiers keep their case
// and quotes; a qualified name is one token), and punctuation that matters
// here: ";" and ",". String literals and comments are dropped. It fails on
// what it cannot read safely, such as PostgreSQL's dollar quoting.
func tokenize(sql string) ([]string, bool) {
	var toks []string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')':
			i++
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, false
			}
			i += end + 4
		case c == '\'':
			j := i + 1
			for ; j < len(sql); j++ {
				if sql[j] == '\'' {
					if j+1 < len(sql) && sql[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(sql) {
				return nil, false
			}
			i = j + 1
		case c == '$':
			// $1 placeholders are fine; $$ or $tag$ quoting is not.
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if j == i+1 {
				return nil, false
			}
			i = j
		case c == ';' || c == ',':
			toks = append(toks, string(c))
			i++
		case isIdent(string(c)) || c >= '0' && c <= '9':
			j := i
			for j < len(sql) {
				d := sql[j]
				if d == '"' || d == '`' || d == '[' {
					closer := d
					if d == '[' {
						closer = ']'
					}
					end := strings.IndexByte(sql[j+1:], closer)
					if end < 0 {
						return nil, false
					}
					j += end + 2
					continue
				}
				if d == '_' || d == '.' || d == '$' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9' {
					j++
					continue
				}
				break
			}
			w := sql[i:j]
			if !strings.ContainsAny(w, "\"`[") {
				if up := strings.ToUpper(w); isKeyword(up) {
					w = up
				}
			}
			toks = append(toks, w)
			i = j
		default:
			i++ // operators, placeholders
		}
	}
	return toks, true
}

var keywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`SELECT WITH VALUES INSERT REPLACE UPDATE DELETE MERGE TRUNCATE ALTER DROP COPY
		SHOW PRAGMA SAVEPOINT RELEASE BEGIN START COMMIT END ROLLBACK SET RESET VACUUM ANALYZE LISTEN UNLISTEN
		NOTIFY DEALLOCATE DISCARD PREPARE EXPLAIN CREATE TABLE INDEX VIEW SEQUENCE SCHEMA TYPE EXTENSION DATABASE
		FUNCTION PROCEDURE TRIGGER RULE INTO FROM ONLY OR IF EXISTS FOR KEY ON DO`) {
		keywords[k] = true
	}
}

func isKeyword(w string) bool { return keywords[w] }
