// Package migratecmd is the migrate command, run as `/app/ecsr migrate` in the image (cmd/ecsr) and as cmd/migrate
// locally. It applies the database migrations (package migrations) and, locally, gives the service roles
// their password. On AWS it runs as a one-off ECS task before each deploy, as the RDS master user.
//
// Usage:
//
//	migrate [up]            apply every pending migration (the default)
//	migrate status          list the migrations and when each was applied
//	migrate down-to VERSION roll back every migration above VERSION (0: all)
//
// Environment (docs/configuration.md): DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER,
// DATABASE_PASSWORD or DATABASE_IAM_AUTH with AWS_REGION, DATABASE_SSLMODE, DATABASE_CA_FILE, LOG_FORMAT,
// LOG_LEVEL, and locally DATABASE_SERVICE_PASSWORD.
package migratecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/connections"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbmigrate"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// Main runs the migrations as a process does, with args the arguments after the command's name
// (`/app/ecsr migrate [up | status | down-to VERSION]`), until done or SIGTERM or SIGINT, and returns the exit code.
func Main(args []string) int {
	return boot.Main("migrate", func(ctx context.Context) error { return Run(ctx, args, os.Getenv, os.Stdout) })
}

// connectTimeout bounds how long migrate waits for the database to answer.
const connectTimeout = 2 * time.Minute

// Run applies the migrations as args says (up, status or down-to), with its settings from getenv and its logs
// on stdout.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	command, downTo, err := parseArgs(args)
	if err != nil {
		return err
	}
	r := config.NewReader(getenv)
	logCfg := logging.ReadConfig(r)
	dbCfg := database.ReadConfig(r)
	// Only for local systems: on AWS the service roles authenticate with IAM and have no password.
	servicePassword := r.Secret("DATABASE_SERVICE_PASSWORD")
	if err := r.Err(); err != nil {
		return err
	}
	log := logging.New(stdout, logCfg).With("service", "migrate")
	log.Info("starting", "command", command, "env", r)

	if dbCfg.IAMAuth {
		// The same loading as the services' (boot.Start), so credentials resolve the same way in every task.
		awsCfg, err := messaging.LoadAWSConfig(ctx, dbCfg.Region)
		if err != nil {
			return err
		}
		dbCfg.Credentials = awsCfg.Credentials
	}
	dbCfg.MaxConns = connections.PerMigration
	openCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	pool, err := database.Open(openCtx, dbCfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()

	m, err := dbmigrate.New(pool, migrations.FS(), log)
	if err != nil {
		return err
	}
	defer m.Close()
	switch command {
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			applied := "pending"
			if !s.Pending() {
				applied = s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%05d  %-45s  %s\n", s.Version, s.Source, applied)
		}
		return nil
	case "down-to":
		n, err := m.DownTo(ctx, downTo)
		if err != nil {
			return err
		}
		log.Info("migrations rolled back", "count", n, "version", downTo)
		return nil
	}
	n, err := m.Up(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", n)
	if servicePassword != "" {
		if err := dbmigrate.SetPassword(ctx, pool, servicePassword.Reveal(), migrations.ServiceRoles()...); err != nil {
			return err
		}
		log.Info("service role passwords set", "roles", migrations.ServiceRoles())
	}
	return nil
}

func parseArgs(args []string) (command string, downTo int64, err error) {
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "up"):
		return "up", 0, nil
	case len(args) == 1 && args[0] == "status":
		return "status", 0, nil
	case len(args) == 2 && args[0] == "down-to":
		v, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || v < 0 {
			return "", 0, fmt.Errorf("down-to %q: want a migration version (0 or more)", args[1])
		}
		return "down-to", v, nil
	}
	return "", 0, errors.New("usage: migrate [up | status | down-to VERSION]")
}
