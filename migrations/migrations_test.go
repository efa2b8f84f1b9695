package migrations

import "testing"

// The two dialects must describe the same schema steps, or one engine silently lags.
func TestDialectsHaveSameMigrations(t *testing.T) {
	a, err := List(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := List(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			t.Errorf("migration %d: sqlite %q, postgres %q", i, a[i].Name, b[i].Name)
		}
		if n, m := len(splitStatements(a[i].SQL)), len(splitStatements(b[i].SQL)); n != m {
			t.Errorf("%s: sqlite has %d statements, postgres %d", a[i].Name, n, m)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- c\nCREATE TABLE a (x INT);\n\nCREATE INDEX i\n ON a (x);\n")
	if len(got) != 2 || got[1] != "CREATE INDEX i\n ON a (x);" {
		t.Fatalf("got %q", got)
	}
}
