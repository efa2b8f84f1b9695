package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/atrium-social/atrium/"

// transport libraries feature code must never see: HTTP framework, ActivityPub, signatures.
var transport = []string{"github.com/gofiber/", "github.com/go-ap/", "github.com/go-fed/", "github.com/valyala/fasthttp",
	module + "web", module + "federation", module + "internal/server", module + "internal/api", module + "internal/app"}

// feature packages and the feature packages each may not import (the one-way order
// accounts < groups < posts < feeds, chat, notify, search < admin, analytics).
var features = map[string][]string{
	"internal/accounts": {"internal/follows", "internal/posts", "internal/notify", "internal/groups", "internal/chat"},
	"internal/orgs":     {"internal/accounts", "internal/posts"},
	"internal/follows":  {"internal/posts", "internal/notify", "internal/groups"},
	"internal/posts":    {"internal/notify", "internal/chat", "internal/search"},
	"internal/notify":   {"internal/chat"},
	"internal/chat":     {"internal/notify", "internal/groups"},
	"internal/groups":   {"internal/chat", "internal/notify"},
	"internal/oauth":    {"internal/posts", "internal/groups", "internal/chat", "internal/notify"},
	"internal/markers":  {"internal/posts", "internal/notify"},
	"internal/lists":    {"internal/notify", "internal/chat"},
	"internal/filters":  {"internal/notify", "internal/chat"},
	"internal/discover": {"internal/notify", "internal/chat"},
	"internal/polls":    {"internal/notify", "internal/chat", "internal/groups"},
	"internal/reports":  {"internal/posts", "internal/follows", "internal/notify"},
	"internal/media":    {"internal/accounts", "internal/posts"},
	"internal/previews": {"internal/posts"},
	"internal/push":     {"internal/chat", "internal/groups"},
	"internal/jobs":     {"internal/posts", "internal/accounts"},
	"internal/markup":   {"internal/posts", "internal/accounts"},
	"internal/realtime": {"internal/posts", "internal/accounts"},
	"internal/outbound": {"internal/posts", "internal/accounts"},
	"internal/audit":    {"internal/accounts"},
	"internal/db":       {"internal/accounts"},
	"internal/config":   {"internal/db"},
	"internal/errs":     {"internal/db"},
}

func TestFeatureImports(t *testing.T) {
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, "internal/accounts")); err != nil {
		t.Fatalf("cannot find the source tree from %s: %v", root, err)
	}
	for pkg, forbidden := range features {
		dir := filepath.Join(root, pkg)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		imports := importsOf(t, dir)
		for imp, file := range imports {
			for _, bad := range transport {
				if strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s (%s): feature code must not depend on transport or outer layers", pkg, imp, file)
				}
			}
			for _, f := range forbidden {
				if imp == module+f || strings.HasPrefix(imp, module+f+"/") {
					t.Errorf("%s imports %s (%s): that reverses the feature order; use a hook or event instead", pkg, imp, file)
				}
			}
		}
	}
}

// importsOf lists the imports of the non-test Go files of one package directory.
func importsOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[p] = name
		}
	}
	return out
}
