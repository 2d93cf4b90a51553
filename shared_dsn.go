package prefetch

import (
	"net/url"
	"slices"
	"strings"
)

// pgConnKeys are PostgreSQL DSN keys that say how to reach the server and
// how the driver behaves on the wire, not what a session reads: they stay
// out of the session identity, so that processes that connect differently
// (a unix socket, another host name for one server) still share rows.
var pgConnKeys = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "database": true, "dbname": true,
	"user": true, "password": true, "passfile": true, "connect_timeout": true,
	"sslmode": true, "sslkey": true, "sslcert": true, "sslrootcert": true, "sslpassword": true,
	"sslsni": true, "sslnegotiation": true, "sslcrl": true, "sslcrldir": true,
	"krbspn": true, "krbsrvname": true, "gssencmode": true, "gsslib": true,
	"channel_binding": true, "require_auth": true, "min_protocol_version": true, "max_protocol_version": true,
	"target_session_attrs": true, "load_balance_hosts": true, "service": true, "servicefile": true,
	"application_name": true, "fallback_application_name": true,
	"keepalives": true, "keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true,
	"tcp_user_timeout": true, "min_read_buffer_size": true,
	"statement_cache_capacity": true, "description_cache_capacity": true,
}

// pgDSNSettings returns, sorted as "key=value" items, what a PostgreSQL DSN
// (URL or keyword/value form) sets beyond how to connect: runtime
// parameters the driver sends at startup (app.tenant=..., timezone=...,
// search_path=...), settings in options (-c name=value), and driver modes
// (default_query_exec_mode). ok is false for a DSN it cannot read.
func pgDSNSettings(dsn string) (items []string, ok bool) {
	kv := map[string]string{}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, false
		}
		for k, vs := range u.Query() {
			if len(vs) > 0 {
				kv[k] = vs[0]
			}
		}
	} else if kv, ok = pgKeywordValues(dsn); !ok {
		return nil, false
	}
	if opts, has := kv["options"]; has {
		delete(kv, "options")
		for _, s := range pgOptionSettings(opts) {
			if k, v, found := strings.Cut(s, "="); found {
				kv[strings.ReplaceAll(k, "-", "_")] = v
			}
		}
	}
	for k, v := range kv {
		if !pgConnKeys[strings.ToLower(k)] {
			items = append(items, strings.ToLower(k)+"="+v)
		}
	}
	slices.Sort(items)
	return items, true
}

// pgKeywordValues reads a keyword/value DSN: key=value pairs separated by
// blanks, values optionally in single quotes, backslash escapes.
func pgKeywordValues(dsn string) (map[string]string, bool) {
	kv := map[string]string{}
	s := dsn
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return kv, true
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, false
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r")
		var val strings.Builder
		quoted := strings.HasPrefix(s, "'")
		if quoted {
			s = s[1:]
		}
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				val.WriteByte(s[i])
				continue
			}
			if (quoted && c == '\'') || (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
				break
			}
			val.WriteByte(c)
		}
		if quoted {
			if i >= len(s) {
				return nil, false // unterminated quote
			}
			i++
		}
		kv[key] = val.String()
		s = s[i:]
	}
}

// pgOptionSettings reads the settings of a startup options string:
// "-c name=value", "-cname=value" and "--name=value" items.
func pgOptionSettings(opts string) []string {
	var out []string
	fields := strings.Fields(opts)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "-c" && i+1 < len(fields):
			i++
			out = append(out, fields[i])
		case strings.HasPrefix(f, "-c"):
			out = append(out, f[2:])
		case strings.HasPrefix(f, "--"):
			out = append(out, f[2:])
		default:
			out = append(out, "option:"+f+"=") // another startup option: kept as it is
		}
	}
	return out
}
