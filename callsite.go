package prefetch

import (
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Call sites. The N+1 report and strict mode name the line of user code that
// made a statement: the first frame of the stack outside GORM and this
// package. Taking the stack costs a runtime.Callers call, which is why it
// is only done when a request asks for it (see [WithReport]).

var (
	ownPkg  = reflect.TypeOf(ctxKey{}).PkgPath()  // this package, for its frames
	gormPkg = reflect.TypeOf(gorm.DB{}).PkgPath() // gorm.io/gorm and its subpackages
)

// maxDepth bounds the frames looked at: GORM's own frames between the user's
// call and the plugin's callback number about fifteen, more with nested
// Preload.
const maxDepth = 64

// pcs is a captured stack, resolved to a call site only when needed.
type pcs []uintptr

// callers captures the stack of its caller.
func callers() pcs {
	var buf [maxDepth]uintptr
	n := runtime.Callers(2, buf[:])
	return append(pcs(nil), buf[:n]...)
}

// callSite is a line of user code.
type callSite struct {
	file string
	line int
	fn   string
}

func (c callSite) known() bool { return c.file != "" }

// String returns the site as dir/file.go:line: enough to find it, short
// enough to read in a log line.
func (c callSite) String() string {
	if !c.known() {
		return "an unknown place"
	}
	dir, file := filepath.Split(c.file)
	return filepath.Join(filepath.Base(dir), file) + ":" + strconv.Itoa(c.line)
}

// site resolves a stack to its first frame outside GORM and this package.
// explicit reports whether the statement was made by GORM's Preload or by
// [Load]: loads the code asked for, never lazy ones.
func (p pcs) site() (c callSite, explicit bool) {
	if len(p) == 0 {
		return callSite{}, false
	}
	frames := runtime.CallersFrames(p)
	for {
		f, more := frames.Next()
		switch {
		case internalFunc(f.Function):
			explicit = explicit || explicitFunc(f.Function)
		case f.Function != "":
			return callSite{file: f.File, line: f.Line, fn: f.Function}, explicit
		}
		if !more {
			return callSite{}, explicit
		}
	}
}

// internalFunc reports whether a function belongs to GORM or to this package
// (not to its tests, examples or submodules, which are user code).
func internalFunc(fn string) bool {
	return inPkg(fn, ownPkg) || inPkg(fn, gormPkg) || strings.HasPrefix(fn, gormPkg+"/")
}

// inPkg reports whether fn, a function name as the runtime gives it
// ("path/pkg.Func", "path/pkg.(*T).Method"), belongs to package pkg itself.
func inPkg(fn, pkg string) bool {
	return len(fn) > len(pkg) && fn[len(pkg)] == '.' && strings.HasPrefix(fn, pkg)
}

// explicitFunc reports whether a function is GORM's preloading or [Load].
func explicitFunc(fn string) bool {
	rest, ok := strings.CutPrefix(fn, gormPkg+"/callbacks.")
	if ok {
		return strings.HasPrefix(rest, "preload") || strings.HasPrefix(rest, "Preload")
	}
	rest, ok = strings.CutPrefix(fn, ownPkg+".")
	return ok && (rest == "Load" || strings.HasPrefix(rest, "Load.") || strings.HasPrefix(rest, "load"))
}
