package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// dedupeTags keeps the last value of each key, in first-seen key order.
func dedupeTags(tags []Tag) []Tag {
	idx := map[string]int{}
	var out []Tag
	for _, t := range tags {
		if i, ok := idx[t.Key]; ok {
			out[i].Value = t.Value
			continue
		}
		idx[t.Key] = len(out)
		out = append(out, t)
	}
	return out
}

// CreateRegisteredModel creates a registered model.
func (s *Store) CreateRegisteredModel(ctx context.Context, name string, tags []Tag, description string) (*RegisteredModel, error) {
	if err := ValidateModelName(name); err != nil {
		return nil, err
	}
	for _, t := range tags {
		if err := ValidateTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	tags = dedupeTags(tags)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.db.Q(tx).QueryRowContext(ctx, `SELECT COUNT(*) FROM registered_models WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return storeerr.Existsf("Registered Model (name=%s) already exists.", name)
		}
		seq, err := s.nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO registered_models (name, creation_time, last_updated_time, description, next_version, change_seq) VALUES (?, ?, ?, ?, 1, ?)`,
			name, now, now, description, seq); err != nil {
			if db.IsUniqueViolation(err) {
				return storeerr.Existsf("Registered Model (name=%s) already exists.", name)
			}
			return err
		}
		for _, t := range tags {
			if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)`, name, t.Key, t.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetRegisteredModel(ctx, name)
}

// GetRegisteredModel returns a registered model with its tags, aliases and
// latest version per stage.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	if err := ValidateModelName(name); err != nil {
		return nil, err
	}
	rm, err := s.getModelRow(ctx, s.db.Q(nil), name)
	if err != nil {
		return nil, err
	}
	if err := s.fillModels(ctx, s.db.Q(nil), []*RegisteredModel{rm}); err != nil {
		return nil, err
	}
	return rm, nil
}

// UpdateRegisteredModel sets a registered model's description.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*RegisteredModel, error) {
	if err := ValidateModelName(name); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.touch(ctx, tx, name, true); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `UPDATE registered_models SET description = ? WHERE name = ?`, description, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetRegisteredModel(ctx, name)
}

// RenameRegisteredModel renames a model; its versions, tags and aliases
// follow it.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*RegisteredModel, error) {
	if strings.TrimSpace(newName) == "" {
		return nil, missing("new_name")
	}
	if err := ValidateModelName(newName); err != nil {
		return nil, err
	}
	if err := ValidateModelName(name); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getModelRow(ctx, s.db.Q(tx), name); err != nil {
			return err
		}
		var n int
		if err := s.db.Q(tx).QueryRowContext(ctx, `SELECT COUNT(*) FROM registered_models WHERE name = ?`, newName).Scan(&n); err != nil {
			return err
		}
		if n > 0 && newName != name {
			return storeerr.Existsf("Registered Model (name=%s) already exists.", newName)
		}
		seq, err := s.nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := s.db.Q(tx).ExecContext(ctx, `UPDATE registered_models SET name = ?, last_updated_time = ?, change_seq = ? WHERE name = ?`, newName, now, seq, name); err != nil {
			if db.IsUniqueViolation(err) {
				return storeerr.Existsf("Registered Model (name=%s) already exists.", newName)
			}
			return err
		}
		_, err = s.db.Q(tx).ExecContext(ctx, `UPDATE model_versions SET last_updated_time = ? WHERE name = ?`, now, newName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetRegisteredModel(ctx, newName)
}

// DeleteRegisteredModel deletes a model with its versions, tags and aliases.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	if err := ValidateModelName(name); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.nextSeq(ctx, tx); err != nil {
			return err
		}
		// Explicit deletes keep the cascade independent of the foreign-key pragma.
		for _, q := range []string{
			`DELETE FROM model_version_tags WHERE name = ?`,
			`DELETE FROM registered_model_aliases WHERE name = ?`,
			`DELETE FROM registered_model_tags WHERE name = ?`,
			`DELETE FROM model_versions WHERE name = ?`,
		} {
			if _, err := s.db.Q(tx).ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		res, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM registered_models WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return modelNotFound(name)
		}
		return nil
	})
}

// SetRegisteredModelTag sets (or overwrites) a tag on a registered model.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name, key, value string) error {
	if err := ValidateModelName(name); err != nil {
		return err
	}
	if err := ValidateTag(key, value); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.touch(ctx, tx, name, false); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)
			ON CONFLICT (name, key) DO UPDATE SET value = excluded.value`, name, key, value)
		return err
	})
}

// DeleteRegisteredModelTag deletes a tag; deleting a missing tag is not an error.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	if err := ValidateModelName(name); err != nil {
		return err
	}
	if err := validateTagKey(key); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.touch(ctx, tx, name, false); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM registered_model_tags WHERE name = ? AND key = ?`, name, key)
		return err
	})
}
