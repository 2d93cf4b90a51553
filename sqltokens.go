package prefetch

import "strings"

// tokenize splits SQL into words for the raw-SQL classifier (rawsql.go).
// Unquoted words are upper-cased; quoted identifiers keep their case and
// quotes; a qualified name (schema.table) is one word. Punctuation that
// matters is kept as words of its own: ";", ",", "(", ")", and bind
// placeholders ("?", "$1"). String literals, comments, white space and
// operators are dropped. It fails on what it cannot read safely: where
// SQLite and PostgreSQL would read the text differently (a block comment
// holding "/*", which PostgreSQL nests; a line comment holding a carriage
// return, which ends it for PostgreSQL only; a string holding a backslash,
// an escape in PostgreSQL's E” strings), dollar quoting, an unterminated
// literal or comment. A name qualified with spaces or comments around its
// dots ("s . t") is one word, as the databases read it.
func tokenize(sql string) ([]string, bool) {
	var toks []string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				if sql[i] == '\r' {
					return nil, false
				}
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 || strings.Contains(sql[i+2:i+2+end], "/*") {
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
			if j >= len(sql) || strings.IndexByte(sql[i:j], '\\') >= 0 {
				return nil, false
			}
			// A literal stands in the token list as one word, a quote and
			// its text, so that the arguments of a call keep their positions.
			toks = append(toks, "'"+strings.ReplaceAll(sql[i+1:j], "''", "'"))
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
			toks = append(toks, sql[i:j])
			i = j
		case c == ';' || c == ',' || c == '(' || c == ')' || c == '?' || c == '.':
			toks = append(toks, string(c))
			i++
		case isIdentStart(c) || c >= '0' && c <= '9':
			j, ok := identEnd(sql, i)
			if !ok {
				return nil, false
			}
			w := sql[i:j]
			if !strings.ContainsAny(w, "\"`[") {
				w = strings.ToUpper(w)
			}
			toks = append(toks, w)
			i = j
		default:
			i++ // operators
		}
	}
	return joinQualified(toks), true
}

// joinQualified joins "a", ".", "b" into "a.b", and a word ending or
// starting with a dot with its neighbour.
func joinQualified(toks []string) []string {
	out := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		n := len(out)
		switch {
		case t == "." && n > 0 && isIdent(out[n-1]):
			out[n-1] += "."
		case n > 0 && strings.HasSuffix(out[n-1], ".") && isIdent(t):
			out[n-1] += t
		case n > 0 && strings.HasPrefix(t, ".") && isIdent(out[n-1]):
			out[n-1] += t
		default:
			out = append(out, t)
		}
	}
	return out
}

// identEnd returns the end of the word starting at sql[i]: letters, digits,
// "_", "$", ".", and quoted parts.
func identEnd(sql string, i int) (int, bool) {
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
				return 0, false
			}
			j += end + 2
			continue
		}
		if d == '_' || d == '.' || d == '$' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9' || d >= 0x80 {
			j++
			continue
		}
		break
	}
	return j, true
}

func isIdentStart(c byte) bool {
	return c == '"' || c == '`' || c == '[' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// isIdent reports whether a token names something (a table, a column).
func isIdent(t string) bool { return t != "" && isIdentStart(t[0]) }

// statements splits tokens at ";" into non-empty statements.
func statements(toks []string) [][]string {
	var out [][]string
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i == len(toks) || toks[i] == ";" {
			if i > start {
				out = append(out, toks[start:i])
			}
			start = i + 1
		}
	}
	return out
}
