package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// The Android build of the app cannot be compiled here: its cgo needs the
// NDK. It can be type-checked, though, which is what rots unseen when only
// Linux is built: this file does it.

// androidEnv is the build the APK's arm64 code is made with.
var androidEnv = []string{"GOOS=android", "GOARCH=arm64", "CGO_ENABLED=1"}

// listedPackage is the part of `go list -json` that type-checking needs.
type listedPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	CgoFiles   []string
	ImportMap  map[string]string
	Error      *struct{ Err string }
}

// goListDeps returns pattern's packages and all they import, for the
// Android build, dependencies first (the order of go list -deps).
func goListDeps(t *testing.T, pattern string) []*listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-e", "-json=ImportPath,Dir,Standard,GoFiles,CgoFiles,ImportMap,Error", pattern)
	cmd.Env = append(os.Environ(), androidEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []*listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// typeCheck type-checks pkgs, which must come dependencies first, as the
// compiler for androidEnv would, with cgo's C package faked
// (types.Config.FakeImportC). It returns the errors found, and how many it
// set aside because they follow from the fake: see fromFakeC.
func typeCheck(pkgs []*listedPackage) (errs []error, fromC int) {
	fset := token.NewFileSet()
	checked := map[string]*types.Package{"unsafe": types.Unsafe}
	sizes := types.SizesFor("gc", "arm64")
	for _, p := range pkgs {
		if p.ImportPath == "unsafe" {
			continue
		}
		if p.Error != nil {
			errs = append(errs, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err))
			continue
		}
		var files []*ast.File
		for _, name := range slices.Concat(p.GoFiles, p.CgoFiles) {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			files = append(files, f)
		}
		check := func(info *types.Info) (*types.Package, []types.Error) {
			var found []types.Error
			conf := types.Config{
				FakeImportC: true,
				Sizes:       sizes,
				Importer: importerFunc(func(path string) (*types.Package, error) {
					if m, ok := p.ImportMap[path]; ok {
						path = m
					}
					if pkg := checked[path]; pkg != nil {
						return pkg, nil
					}
					return nil, fmt.Errorf("%s imports %s, which was not checked before it", p.ImportPath, path)
				}),
				Error: func(err error) { found = append(found, err.(types.Error)) },
			}
			// Errors reach conf.Error; an incomplete package is still
			// returned, so that its importers are checked too.
			pkg, _ := conf.Check(p.ImportPath, fset, files, info)
			return pkg, found
		}
		pkg, found := check(nil)
		checked[p.ImportPath] = pkg
		if len(found) == 0 {
			continue
		}
		// Check again, recording types, to tell the errors that come
		// from the fake C package.
		info := &types.Info{Types: make(map[ast.Expr]types.TypeAndValue)}
		check(info)
		for _, err := range found {
			if len(p.CgoFiles) > 0 || importsCgo(pkg) {
				if fromFakeC(err, files, info) {
					fromC++
					continue
				}
			}
			errs = append(errs, err)
		}
	}
	return errs, fromC
}

// importsCgo reports whether pkg imports a package whose types may come
// from C (the fake C package gives them the invalid type).
func importsCgo(pkg *types.Package) bool {
	for _, imp := range pkg.Imports() {
		for _, name := range imp.Scope().Names() {
			if tn, ok := imp.Scope().Lookup(name).(*types.TypeName); ok && fromC(tn.Type()) {
				return true
			}
		}
	}
	return false
}

// fromFakeC reports whether err, found with FakeImportC, may follow from
// C's types being unknown: whether the statement (or declaration) where it
// is, or the results of the function around a return statement, use a
// value or type that comes from C. Such code is what cgo alone can check;
// every other error is real.
func fromFakeC(err types.Error, files []*ast.File, info *types.Info) bool {
	var path []ast.Node // from the file down to the innermost node at err.Pos
	for _, f := range files {
		if f.FileStart <= err.Pos && err.Pos <= f.FileEnd {
			ast.Inspect(f, func(n ast.Node) bool {
				if n == nil || err.Pos < n.Pos() || err.Pos >= n.End() {
					return false
				}
				path = append(path, n)
				return true
			})
			break
		}
	}
	var scope []ast.Node // the statement or declaration, and for a return the function's type
outward:
	for i := len(path) - 1; i >= 0; i-- {
		if len(scope) == 0 {
			switch n := path[i].(type) {
			case ast.Stmt, ast.Decl, ast.Spec:
				scope = append(scope, n)
				if _, ok := n.(*ast.ReturnStmt); !ok {
					break outward
				}
			}
			continue
		}
		switch n := path[i].(type) {
		case *ast.FuncDecl:
			scope = append(scope, n.Type)
			break outward
		case *ast.FuncLit:
			scope = append(scope, n.Type)
			break outward
		}
	}
	tainted := false
	for _, n := range scope {
		ast.Inspect(n, func(n ast.Node) bool {
			if e, ok := n.(ast.Expr); ok && fromC(info.Types[e].Type) {
				tainted = true
			}
			return !tainted
		})
	}
	return tainted
}

// fromC reports whether t is, or is made of, a type that FakeImportC left
// unknown (the invalid type).
func fromC(t types.Type) bool {
	for range 8 { // deep enough for *[]*C.T
		if t == nil {
			return false
		}
		if b, ok := t.Underlying().(*types.Basic); ok && b.Kind() == types.Invalid {
			return true
		}
		switch u := t.Underlying().(type) {
		case *types.Pointer:
			t = u.Elem()
		case *types.Slice:
			t = u.Elem()
		case *types.Array:
			t = u.Elem()
		default:
			return false
		}
	}
	return false
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// TestAndroidTypeCheck type-checks the android/arm64 cgo build of this
// command and of everything it imports, standard library included, so that
// a mistake in Android-only code (lifecycle_android.go, Gio's and our
// *_android.go files) fails here rather than in the first APK build.
//
// Under -race it is skipped: the race detector adds nothing to it and makes
// it eight times slower; ./build.sh test runs it without.
func TestAndroidTypeCheck(t *testing.T) {
	if raceEnabled() {
		t.Skip("skipped under -race: ./build.sh test runs it without -race")
	}
	pkgs := goListDeps(t, ".")
	var android, cgo, ours int
	for _, p := range pkgs {
		if len(p.CgoFiles) > 0 {
			cgo++
		}
		if !p.Standard {
			ours++
		}
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles) {
			if strings.HasSuffix(f, "_android.go") {
				android++
				break
			}
		}
	}
	// The check means something only if it sees the Android code.
	if self := pkgs[len(pkgs)-1]; self.ImportPath != "peerchat/cmd/peerchat" || !slices.Contains(self.GoFiles, "lifecycle_android.go") {
		t.Fatalf("go list did not select the Android build of the app: last package %s, files %q", self.ImportPath, self.GoFiles)
	}
	if cgo == 0 || android == 0 {
		t.Fatalf("no cgo (%d) or Android (%d) package among the %d listed: is GOOS=android in effect?", cgo, android, len(pkgs))
	}
	errs, fromC := typeCheck(pkgs)
	for i, err := range errs {
		if i == 20 {
			t.Errorf("… and %d more", len(errs)-i)
			break
		}
		t.Error(err)
	}
	t.Logf("type-checked %d packages (%d outside the standard library, %d with cgo, %d with Android files): %d errors, %d set aside as following from C's types",
		len(pkgs), ours, cgo, android, len(errs), fromC)
}

// TestTypeCheckFails shows that typeCheck reports a type error in a file of
// the Android build, as in lifecycle_android.go, and sets aside only those
// that follow from C's types being unknown.
func TestTypeCheckFails(t *testing.T) {
	dir := t.TempDir()
	src := `//go:build android

package p

import "C"

type handle C.jobject

func valid(h handle) bool { return h == 0 } // a mismatch only for want of C's types

func typo() int { return C.int(1) + undefinedName } // a real error: reported
`
	if err := os.WriteFile(filepath.Join(dir, "p_android.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	errs, fromC := typeCheck([]*listedPackage{{ImportPath: "p", Dir: dir, CgoFiles: []string{"p_android.go"}}})
	var te types.Error
	if len(errs) != 1 || !errors.As(errs[0], &te) || te.Fset.Position(te.Pos).Line != 11 {
		t.Fatalf("errors %q, want one, on line 11", errs)
	}
	if fromC != 1 {
		t.Errorf("%d errors set aside as following from C, want 1 (line 9)", fromC)
	}
}
