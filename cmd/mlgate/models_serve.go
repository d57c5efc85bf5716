package main

import (
	"context"
	"errors"
)

func runModelsServe(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models serve", "mlgate models serve [flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("models serve: not built yet")
}
