package main

import (
	"context"
	"fmt"
	"io"

	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/migrations"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	action := "up"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		action, args = args[0], args[1:]
	}
	cfg, _, err := loadConfig("migrate "+action, args, stderr, getenv, nil)
	if err != nil {
		return err
	}
	d, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	switch action {
	case "up":
		done, err := d.Migrate(ctx)
		if err != nil {
			return err
		}
		if len(done) == 0 {
			fmt.Fprintln(stdout, "database is up to date")
		}
		for _, n := range done {
			fmt.Fprintln(stdout, "applied", n)
		}
		return nil
	case "status":
		st, err := migrationStatus(ctx, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "engine: %s\n", d.Engine)
		for _, m := range st {
			at := "pending"
			if m.AppliedAt != nil {
				at = "applied " + m.AppliedAt.Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(stdout, "%-30s %s\n", m.Name, at)
		}
		return nil
	}
	return fmt.Errorf("migrate: unknown action %q: use up or status", action)
}

func migrationStatus(ctx context.Context, d *db.DB) ([]migrations.Migration, error) {
	return migrations.Status(ctx, d.DB, d.Engine)
}
