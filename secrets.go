package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/flashsale/flashsale/internal/atomicfile"
	"github.com/flashsale/flashsale/internal/contract"
)

// SecretsFile is the file in the data directory that keeps the secrets the
// all-in-one process generated, so that the next start reuses them: a JSON
// object of the secrets' variable names and values, mode 0600, for example
// {"FLASHSALE_ADMIN_TOKEN": "...", "FLASHSALE_INTERNAL_KEY": "...",
// "FLASHSALE_JWT_SECRET": "..."}. It holds only the generated ones: a
// secret set in the environment is used as it is and never written there.
const SecretsFile = "secrets.json"

// Where a secret came from.
const (
	fromEnv   = "env"       // set in the environment by the user
	fromFile  = "kept"      // generated at an earlier start, read from SecretsFile
	generated = "generated" // generated at this start, now kept in SecretsFile
)

// secrets are the process's three secrets and where each came from.
type secrets struct {
	// Path is the SecretsFile in the data directory.
	Path string
	// From maps each secret's variable name to fromEnv, fromFile or
	// generated.
	From map[string]string
}

// keepSecrets fills every secret of cfg that the environment left empty:
// from the secrets file in data when it holds it, else generated and then
// kept in that file. It checks the internal key and returns where each
// secret came from; no error repeats a secret's value.
func keepSecrets(cfg *Config, data string) (secrets, error) {
	s := secrets{Path: filepath.Join(data, SecretsFile), From: map[string]string{}}
	kept, err := readSecrets(s.Path)
	if err != nil {
		return s, err
	}
	changed := false
	for _, sec := range []struct {
		name string
		p    *string
		gen  func() string
	}{
		{"FLASHSALE_JWT_SECRET", &cfg.JWTSecret, rand.Text},
		{"FLASHSALE_ADMIN_TOKEN", &cfg.AdminToken, rand.Text},
		{"FLASHSALE_INTERNAL_KEY", &cfg.InternalKey, contract.NewKeyText},
	} {
		switch {
		case *sec.p != "":
			s.From[sec.name] = fromEnv
		case kept[sec.name] != "":
			*sec.p, s.From[sec.name] = kept[sec.name], fromFile
		default:
			*sec.p, s.From[sec.name] = sec.gen(), generated
			kept[sec.name], changed = *sec.p, true
		}
	}
	if _, err := contract.ParseKey(cfg.InternalKey); err != nil {
		if s.From["FLASHSALE_INTERNAL_KEY"] == fromEnv {
			return s, fmt.Errorf("FLASHSALE_INTERNAL_KEY: %w", err)
		}
		return s, fmt.Errorf("%s: FLASHSALE_INTERNAL_KEY: %w (remove it from the file to have a new one generated)", s.Path, err)
	}
	if changed {
		if err := writeSecrets(s.Path, kept); err != nil {
			return s, err
		}
	}
	return s, nil
}

// readSecrets returns the secrets kept at path (none when it is missing).
// A file that others may read is made private (0600), with a warning.
func readSecrets(path string) (map[string]string, error) {
	kept := map[string]string{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return kept, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &kept); err != nil {
		// The file is left as it is: the tokens signed with its secrets
		// would not survive a new one.
		return nil, fmt.Errorf("%s is not a JSON object of secrets (fix it, or remove it to have new secrets generated): %v", path, syntaxOnly(err))
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(os.Stderr, "flashsale: %s had mode %04o: made 0600, as others may have read it\n", path, st.Mode().Perm())
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// syntaxOnly keeps what a JSON error says about the file's structure, not
// its contents (an UnmarshalTypeError names a type, never a value).
func syntaxOnly(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("invalid JSON at byte %d", syn.Offset)
	}
	return err
}

// writeSecrets replaces the file at path with kept, mode 0600, through a
// temporary file fsynced and renamed over it.
func writeSecrets(path string, kept map[string]string) error {
	b, err := json.MarshalIndent(kept, "", "  ")
	if err != nil {
		return err
	}
	err = atomicfile.Write(path, ".tmp", 0o600, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("keep the generated secrets in %s: %w", path, err)
	}
	return nil
}

// line is how the welcome shows the secret name of value: the value only
// when generated (now or at an earlier start), with where it is kept.
func (s secrets) line(name, value string) string {
	switch s.From[name] {
	case generated:
		return fmt.Sprintf("%s=%s  (generated; kept in %s for the next starts)", name, value, s.Path)
	case fromFile:
		return fmt.Sprintf("%s=%s  (generated at an earlier start; kept in %s)", name, value, s.Path)
	}
	return name + " from the environment (not shown)"
}

// keyLine is how the welcome shows the internal key: never its value.
func (s secrets) keyLine() string {
	switch s.From["FLASHSALE_INTERNAL_KEY"] {
	case generated:
		return "FLASHSALE_INTERNAL_KEY generated; kept in " + s.Path + " for the next starts (not shown)"
	case fromFile:
		return "FLASHSALE_INTERNAL_KEY generated at an earlier start; kept in " + s.Path + " (not shown)"
	}
	return "FLASHSALE_INTERNAL_KEY from the environment (not shown)"
}

// mintSecret is the -secret argument of the mint-token hint: the JWT
// secret when generated, the variable when the user supplied it.
func (s secrets) mintSecret(value string) string {
	if s.From["FLASHSALE_JWT_SECRET"] == fromEnv {
		return `"$FLASHSALE_JWT_SECRET"`
	}
	return value
}
