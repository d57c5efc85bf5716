package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/internal/db"
)

// Component is the migration component of the users and permissions schema.
const Component = "auth"

// Migrations is the versioned users and permissions schema. Append new
// versions; never edit a released one.
var Migrations = []db.Migration{{
	Version:  1,
	SQLite:   strings.ReplaceAll(schemaV1, "ID_KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"),
	Postgres: strings.ReplaceAll(schemaV1, "ID_KEY", "BIGSERIAL PRIMARY KEY"),
}}

const schemaV1 = `CREATE TABLE auth_users (
			id ID_KEY,
			username TEXT NOT NULL UNIQUE,
			password_hash TEXT NOT NULL,
			is_admin BOOLEAN NOT NULL DEFAULT FALSE);
		CREATE TABLE auth_grants (
			user_id BIGINT NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
			resource_type TEXT NOT NULL,
			resource_id TEXT NOT NULL,
			permission TEXT NOT NULL,
			PRIMARY KEY (user_id, resource_type, resource_id));
		CREATE INDEX auth_grants_resource ON auth_grants (resource_type, resource_id)`

// User is an account of the basic-auth app.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	IsAdmin  bool   `json:"is_admin"`
	hash     []byte
}

// Store keeps users and their per-resource grants in SQL (SQLite or
// PostgreSQL).
type Store struct {
	db   *db.DB
	q    map[string]string
	cost int // bcrypt cost of new hashes
}

// OpenStore migrates the users and permissions schema on d.
func OpenStore(ctx context.Context, d *db.DB) (*Store, error) {
	if err := d.Migrate(ctx, Component, Migrations); err != nil {
		return nil, fmt.Errorf("auth store: %w", err)
	}
	s := &Store{db: d, q: map[string]string{}, cost: bcrypt.DefaultCost}
	for k, q := range map[string]string{ //nolint:gosec // SQL text naming the password column, not a credential
		"user":      `SELECT id, username, password_hash, is_admin FROM auth_users WHERE username = ?`,
		"insert":    `INSERT INTO auth_users (username, password_hash, is_admin) VALUES (?, ?, ?)`,
		"password":  `UPDATE auth_users SET password_hash = ? WHERE username = ?`,
		"admin":     `UPDATE auth_users SET is_admin = ? WHERE username = ?`,
		"delete":    `DELETE FROM auth_users WHERE username = ?`,
		"ungrantu":  `DELETE FROM auth_grants WHERE user_id = ?`,
		"count":     `SELECT COUNT(*) FROM auth_users`,
		"grants":    `SELECT resource_type, resource_id, permission FROM auth_grants WHERE user_id = ?`,
		"grant":     `INSERT INTO auth_grants (user_id, resource_type, resource_id, permission) VALUES (?, ?, ?, ?)`,
		"revoke":    `DELETE FROM auth_grants WHERE user_id = ? AND resource_type = ? AND resource_id = ?`,
		"drop":      `DELETE FROM auth_grants WHERE resource_type = ? AND resource_id = ?`,
		"rename":    `UPDATE auth_grants SET resource_id = ? WHERE resource_type = ? AND resource_id = ?`,
		"usernames": `SELECT id, username, is_admin FROM auth_users ORDER BY id`,
	} {
		s.q[k] = d.Rebind(q)
	}
	return s, nil
}

func notFound(username string) error {
	return apierr.New(apierr.ResourceDoesNotExist, "User with username=%s not found", username)
}

// GetUser returns the user called username (RESOURCE_DOES_NOT_EXIST if none).
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	var u User
	var hash string
	err := s.db.QueryRowContext(ctx, s.q["user"], username).Scan(&u.ID, &u.Username, &hash, &u.IsAdmin)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, notFound(username)
	}
	u.hash = []byte(hash)
	return u, err
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, s.q["usernames"])
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Username, &u.IsAdmin); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// checkPassword is MLflow's password rule.
func checkPassword(p string) error {
	if len(p) < 12 {
		return apierr.New(apierr.InvalidParameterValue, "Password must be at least 12 characters.")
	}
	return nil
}

// CreateUser adds a user with a bcrypt hash of password.
func (s *Store) CreateUser(ctx context.Context, username, password string, admin bool) (User, error) {
	if username == "" {
		return User{}, apierr.New(apierr.InvalidParameterValue, "Username cannot be empty.")
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return User{}, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q["insert"], username, string(h), admin)
		return err
	})
	if db.IsUniqueViolation(err) {
		return User{}, apierr.New(apierr.ResourceAlreadyExists, "User (username=%s) already exists.", username)
	}
	if err != nil {
		return User{}, err
	}
	return s.GetUser(ctx, username)
}

// exec runs one statement that must change a row of username.
func (s *Store) exec(ctx context.Context, username, q string, args ...any) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(username)
		}
		return nil
	})
}

// UpdatePassword replaces a user's password.
func (s *Store) UpdatePassword(ctx context.Context, username, password string) error {
	if _, err := s.GetUser(ctx, username); err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return err
	}
	return s.exec(ctx, username, s.q["password"], string(h), username)
}

// UpdateAdmin sets a user's admin flag.
func (s *Store) UpdateAdmin(ctx context.Context, username string, admin bool) error {
	return s.exec(ctx, username, s.q["admin"], admin, username)
}

// DeleteUser removes a user and the user's grants.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	u, err := s.GetUser(ctx, username)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q["ungrantu"], u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q["delete"], username)
		return err
	})
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q["count"]).Scan(&n)
	return n, err
}

// Grants returns a user's grants as rows of resource type, resource id
// and permission name (grantSetOf lays them out for the check path).
func (s *Store) Grants(ctx context.Context, userID int64) ([][3]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q["grants"], userID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out [][3]string
	for rows.Next() {
		var g [3]string
		if err := rows.Scan(&g[0], &g[1], &g[2]); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Grant gives a user a permission on a resource; a second grant on the same
// resource is RESOURCE_ALREADY_EXISTS, as in MLflow.
func (s *Store) Grant(ctx context.Context, u User, typ, id, perm string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q["grant"], u.ID, typ, id, perm)
		return err
	})
	if db.IsUniqueViolation(err) {
		return apierr.New(apierr.ResourceAlreadyExists,
			"Permission for user=%s on resource_type=%s, resource_id=%s already exists.", u.Username, typ, id)
	}
	return err
}

// Revoke removes a user's grant on a resource (RESOURCE_DOES_NOT_EXIST if none).
func (s *Store) Revoke(ctx context.Context, u User, typ, id string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q["revoke"], u.ID, typ, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apierr.New(apierr.ResourceDoesNotExist,
				"Permission for user=%s on resource_type=%s, resource_id=%s not found.", u.Username, typ, id)
		}
		return nil
	})
}

// DropResource removes every grant on a resource (a deleted model).
func (s *Store) DropResource(ctx context.Context, typ, id string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q["drop"], typ, id)
		return err
	})
}

// RenameResource moves every grant on a resource to its new id (a renamed model).
func (s *Store) RenameResource(ctx context.Context, typ, from, to string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q["rename"], to, typ, from)
		return err
	})
}
