package main

import (
	"context"
	"errors"
)

func runQuickstart(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "quickstart", "mlgate quickstart [flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("quickstart: not built yet")
}
