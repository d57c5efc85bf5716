package main

import (
	"context"
	"errors"
)

func runModelsPackage(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models package", "mlgate models package [flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("models package: not built yet")
}
