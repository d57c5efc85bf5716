package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/mlgate/mlgate/internal/storeerr"
)

// SetRegisteredModelAlias points alias at a version of the model, moving
// it atomically if it already points elsewhere.
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	if err := ValidateModelName(name); err != nil {
		return err
	}
	if err := ValidateAlias(alias); err != nil {
		return err
	}
	if err := validateAliasReserved(alias); err != nil {
		return err
	}
	v, err := ParseVersion(version)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getVersion(ctx, s.db.Q(tx), name, v); err != nil {
			return err
		}
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)
			ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`, name, alias, v); err != nil {
			return err
		}
		return s.touch(ctx, tx, name, false)
	})
}

// DeleteRegisteredModelAlias removes an alias; a missing alias is not an
// error, a missing model is.
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	if err := ValidateModelName(name); err != nil {
		return err
	}
	if err := ValidateAlias(alias); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.touch(ctx, tx, name, false); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?`, name, alias)
		return err
	})
}

// GetModelVersionByAlias returns the version an alias points at; the alias
// "latest" (any case) means the highest version.
func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	if err := ValidateModelName(name); err != nil {
		return nil, err
	}
	if err := ValidateAlias(alias); err != nil {
		return nil, err
	}
	if strings.EqualFold(alias, "latest") {
		latest, err := s.GetLatestVersions(ctx, name, nil)
		if err != nil {
			return nil, err
		}
		var best *ModelVersion
		for i := range latest {
			if best == nil || latest[i].Version > best.Version {
				best = &latest[i]
			}
		}
		if best == nil {
			return nil, storeerr.NotFoundf("Latest version not found for model %s.", name)
		}
		return best, nil
	}
	if _, err := s.getModelRow(ctx, s.db.Q(nil), name); err != nil {
		return nil, err
	}
	var v int64
	err := s.db.Q(nil).QueryRowContext(ctx, `SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?`, name, alias).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storeerr.Invalidf("Registered model alias %s not found.", alias)
	}
	if err != nil {
		return nil, err
	}
	mv, err := s.getVersion(ctx, s.db.Q(nil), name, v)
	if err != nil {
		return nil, err
	}
	return s.withAliases(ctx, s.db.Q(nil), mv)
}
