// Package pyenv builds Python environments once and caches them: virtualenvs
// (with uv when it is on PATH, else venv and pip) and conda environments,
// each at a path the caller derives from a hash of its spec (Key). Builders
// of the same environment in several processes take turns on a lock file;
// an environment is marked ready only when every step succeeded, and a
// failed build leaves nothing behind. The python_function workers
// (flavors/pyfunc) and MLflow Projects (projects) share it. It knows
// nothing of models or projects.
package pyenv
