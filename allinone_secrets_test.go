package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/saletest"
)

const testKey = "embedded-internal-key-0123456789abcdef"

// noSecrets is the env of a process that must generate all three secrets.
var noSecrets = []string{"FLASHSALE_JWT_SECRET=", "FLASHSALE_ADMIN_TOKEN=", "FLASHSALE_INTERNAL_KEY="}

// readKept returns the secrets file of data and checks its mode.
func readKept(t *testing.T, data string) map[string]string {
	t.Helper()
	path := filepath.Join(data, SecretsFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %04o, want 0600", path, st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	kept := map[string]string{}
	if err := json.Unmarshal(b, &kept); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return kept
}

// TestKeepSecrets: the secrets the environment leaves empty are generated
// once, kept (0600) and reused; supplied ones win and are never written;
// errors never repeat a secret.
func TestKeepSecrets(t *testing.T) {
	data := t.TempDir()
	var first Config
	sec, err := keepSecrets(&first, data)
	if err != nil {
		t.Fatal(err)
	}
	kept := readKept(t, data)
	for name, v := range map[string]string{"FLASHSALE_JWT_SECRET": first.JWTSecret, "FLASHSALE_ADMIN_TOKEN": first.AdminToken, "FLASHSALE_INTERNAL_KEY": first.InternalKey} {
		if v == "" || kept[name] != v || sec.From[name] != generated {
			t.Fatalf("%s: %q, kept %q, from %q", name, v, kept[name], sec.From[name])
		}
	}
	if len(first.InternalKey) < 32 {
		t.Fatalf("internal key of %d bytes", len(first.InternalKey))
	}

	again := Config{JWTSecret: testJWT}
	if sec, err = keepSecrets(&again, data); err != nil {
		t.Fatal(err)
	}
	if again.JWTSecret != testJWT || again.AdminToken != first.AdminToken || again.InternalKey != first.InternalKey ||
		sec.From["FLASHSALE_JWT_SECRET"] != fromEnv || sec.From["FLASHSALE_ADMIN_TOKEN"] != fromFile {
		t.Fatalf("second start: %+v from %v", again, sec.From)
	}
	if b, _ := os.ReadFile(sec.Path); bytes.Contains(b, []byte(testJWT)) || fmt.Sprint(readKept(t, data)) != fmt.Sprint(kept) {
		t.Fatalf("the secrets file changed:\n%s", b)
	}
	if line := sec.line("FLASHSALE_JWT_SECRET", testJWT); strings.Contains(line, testJWT) {
		t.Fatalf("a supplied secret shown: %s", line)
	}
	if got := sec.mintSecret(testJWT); got != `"$FLASHSALE_JWT_SECRET"` {
		t.Fatalf("mint hint -secret %s", got)
	}

	short := "too-short-internal-key"
	if _, err := keepSecrets(&Config{InternalKey: short}, data); err == nil || strings.Contains(err.Error(), short) {
		t.Fatalf("a short FLASHSALE_INTERNAL_KEY: %v", err)
	}
	os.Chmod(sec.Path, 0o644)
	if _, err := keepSecrets(&Config{}, data); err != nil {
		t.Fatal(err)
	}
	readKept(t, data) // made 0600 again
	os.WriteFile(sec.Path, []byte(`{"FLASHSALE_JWT_SECRET": "half`), 0o600)
	if _, err := keepSecrets(&Config{}, data); err == nil || strings.Contains(err.Error(), "half") {
		t.Fatalf("a broken secrets file: %v", err)
	}
	if b, _ := os.ReadFile(sec.Path); string(b) != `{"FLASHSALE_JWT_SECRET": "half` {
		t.Fatalf("a broken secrets file was replaced: %s", b)
	}
}

// TestEmbeddedSecretsKept: with no secret in the env, the process generates
// them, keeps them in data/secrets.json (0600), shows the token and the JWT
// secret but not the internal key, and reuses them after a restart: a
// shopper token minted before it still buys.
func TestEmbeddedSecretsKept(t *testing.T) {
	dir := t.TempDir()
	s := newSale(t, dir, noSecrets...)
	s.start()
	s.waitLine("more tokens:", 10*time.Second)
	kept := readKept(t, filepath.Join(dir, "data"))
	s.AdminToken, s.JWTSecret = kept["FLASHSALE_ADMIN_TOKEN"], kept["FLASHSALE_JWT_SECRET"]
	path := filepath.Join(dir, "data", SecretsFile)
	s.waitLine("FLASHSALE_JWT_SECRET="+s.JWTSecret+"  (generated; kept in "+path, time.Second)
	s.waitLine("FLASHSALE_ADMIN_TOKEN="+s.AdminToken+"  (generated; kept in "+path, time.Second)
	s.waitLine("-secret "+s.JWTSecret+" ", time.Second)
	act := s.NewActivity(5)
	tok := s.Token("ann")
	if code, e := s.Buy(act, "ben"); code != http.StatusAccepted {
		t.Fatalf("buy before the restart: %d %s", code, e)
	}
	s.stop()

	s.start()
	s.waitLine("FLASHSALE_JWT_SECRET="+s.JWTSecret+"  (generated at an earlier start", 10*time.Second)
	if fmt.Sprint(readKept(t, filepath.Join(dir, "data"))) != fmt.Sprint(kept) {
		t.Fatal("the secrets changed at the restart")
	}
	if code, e := s.BuyWith(act, tok, nil); code != http.StatusAccepted {
		t.Fatalf("a token minted before the restart buys after it: %d %s", code, e)
	}
	if st := s.Stats(act); saletest.RedisStock(st) != 3 {
		t.Fatalf("after two purchases: %s", saletest.JSON(st))
	}
	if log := s.proc.Tail(1 << 20); strings.Contains(log, kept["FLASHSALE_INTERNAL_KEY"]) || strings.Contains(log, "invalid log level") {
		t.Fatalf("the process printed the internal key or a stray log level line:\n%s", log)
	}
}

// TestEmbeddedCorruptJournal: with every secret supplied, none is printed
// and none is written; a journal with a bad record in its middle stops the
// next start (exit 1, the record's offset in the message) and stays as it
// is; moving it aside, as the message says, lets the sale start again with
// its stock re-derived.
func TestEmbeddedCorruptJournal(t *testing.T) {
	dir := t.TempDir()
	s := newSale(t, dir, "FLASHSALE_INTERNAL_KEY="+testKey)
	s.start()
	s.waitLine(`-secret "$FLASHSALE_JWT_SECRET" -user bob`, 10*time.Second)
	for _, name := range []string{"FLASHSALE_ADMIN_TOKEN", "FLASHSALE_JWT_SECRET", "FLASHSALE_INTERNAL_KEY"} {
		s.waitLine(name+" from the environment (not shown)", time.Second)
	}
	act := soldThree(t, s.Harness)
	s.stop()
	for _, secret := range []string{testJWT, testAdmin, testKey} {
		if strings.Contains(s.proc.Tail(1<<20), secret) {
			t.Fatalf("the process printed a supplied secret:\n%s", s.proc.Tail(4000))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", SecretsFile)); !os.IsNotExist(err) {
		t.Fatalf("a secrets file with every secret supplied: %v", err)
	}

	journal := filepath.Join(dir, "data", "redis.aof")
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, b)
	mid := offs[len(offs)/2]
	b[mid] = '#' // the record's header line no longer starts with *
	os.WriteFile(journal, b, 0o644)
	code, out := s.runToExit(30 * time.Second)
	for _, want := range []string{
		"record at byte offset " + strconv.Itoa(mid) + " is malformed",
		"mv " + journal + " " + journal + ".corrupt",
		"truncate -s " + strconv.Itoa(mid) + " " + journal,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if code != 1 || t.Failed() {
		t.Fatalf("start on a journal corrupt at %d of %d records: exit %d\n%s", len(offs)/2, len(offs), code, out)
	}
	if after, _ := os.ReadFile(journal); !bytes.Equal(after, b) {
		t.Fatalf("the journal changed: %d bytes, %d before", len(after), len(b))
	}

	if err := os.Rename(journal, journal+".corrupt"); err != nil {
		t.Fatal(err)
	}
	s.start()
	if st := s.Stats(act); saletest.RedisStock(st) != 7 || st.DBStock != 7 {
		t.Fatalf("stock after moving the journal aside: %s", saletest.JSON(st))
	}
}

// recordOffsets returns the offsets at which the RESP records of a journal
// start.
func recordOffsets(t *testing.T, b []byte) []int {
	t.Helper()
	number := func(i int, lead byte) (int, int) {
		end := bytes.Index(b[i:], []byte("\r\n"))
		if end < 0 || b[i] != lead {
			t.Fatalf("journal: no %c line at %d", lead, i)
		}
		v, err := strconv.Atoi(string(b[i+1 : i+end]))
		if err != nil {
			t.Fatalf("journal: line at %d: %v", i, err)
		}
		return v, i + end + 2
	}
	var offs []int
	for i := 0; i < len(b); {
		offs = append(offs, i)
		count, next := number(i, '*')
		for i = next; count > 0; count-- {
			size, next := number(i, '$')
			i = next + size + 2
		}
	}
	if len(offs) < 3 {
		t.Fatalf("journal of %d records", len(offs))
	}
	return offs
}
