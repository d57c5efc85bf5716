package auth

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Config is the basic-auth app's configuration: MLflow's basic_auth.ini
// ([mlflow] section), read from MLFLOW_AUTH_CONFIG_PATH, with
// MLFLOW_AUTH_ADMIN_USERNAME and MLFLOW_AUTH_ADMIN_PASSWORD taking
// precedence over the file when set.
type Config struct {
	// DefaultPermission applies where a user holds no grant (default READ).
	DefaultPermission string
	// DatabaseURI is where users and grants live (default
	// sqlite:///basic_auth.db, as MLflow); it may be the backend store.
	DatabaseURI string
	// AdminUsername and AdminPassword create the first admin when the user
	// store is empty.
	AdminUsername string
	AdminPassword string
	// BcryptCost is the cost of new password hashes (0: bcrypt's default;
	// tests use bcrypt.MinCost).
	BcryptCost int
}

// legacyAdminPassword is the password old MLflow versions shipped; MLflow
// refuses it for a new admin, and so does mlgate.
const legacyAdminPassword = "password1234"

// DefaultConfig is MLflow's shipped basic_auth.ini.
func DefaultConfig() Config {
	return Config{DefaultPermission: "READ", DatabaseURI: "sqlite:///basic_auth.db", AdminUsername: "admin"}
}

// LoadConfig reads the file named by MLFLOW_AUTH_CONFIG_PATH (MLflow's
// defaults when unset) and applies the admin variables.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	if path := getenv("MLFLOW_AUTH_CONFIG_PATH"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return c, fmt.Errorf("MLFLOW_AUTH_CONFIG_PATH: %w", err)
		}
		defer func() { _ = f.Close() }()
		if c, err = ParseConfig(f); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
	}
	if v, ok := lookup(getenv, "MLFLOW_AUTH_ADMIN_USERNAME"); ok {
		c.AdminUsername = v
	}
	if v, ok := lookup(getenv, "MLFLOW_AUTH_ADMIN_PASSWORD"); ok {
		c.AdminPassword = v
	}
	return c, c.validate()
}

func lookup(getenv func(string) string, k string) (string, bool) {
	if getenv == nil {
		return "", false
	}
	v := getenv(k)
	return v, v != ""
}

// ParseConfig reads the [mlflow] section of an ini file.
func ParseConfig(r io.Reader) (Config, error) {
	c := Config{}
	sc := bufio.NewScanner(r)
	section := ""
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return c, fmt.Errorf("line %d: want key = value", n)
		}
		if section != "mlflow" {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "default_permission":
			c.DefaultPermission = v
		case "database_uri":
			c.DatabaseURI = v
		case "admin_username":
			c.AdminUsername = v
		case "admin_password":
			c.AdminPassword = v
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if c.DefaultPermission == "" || c.DatabaseURI == "" {
		return c, fmt.Errorf("the [mlflow] section needs default_permission and database_uri")
	}
	return c, nil
}

func (c Config) validate() error {
	if _, ok := PermissionNamed(c.DefaultPermission); !ok || c.DefaultPermission == "DENY" {
		return fmt.Errorf("default_permission %q: want READ, USE, EDIT, MANAGE or NO_PERMISSIONS", c.DefaultPermission)
	}
	return nil
}
