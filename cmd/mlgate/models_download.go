package main

import (
	"context"
	"errors"
)

func runModelsDownload(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models download", "mlgate models download [flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("models download: not built yet")
}
