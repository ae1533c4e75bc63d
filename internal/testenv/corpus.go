package testenv

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The shared real-mail corpus (see its README) lies beside the module, at
// ../shared/corpus from the module root. It is not part of the repository:
// the tests that need it skip without it, and those that only add it to
// their inputs go on without it.

// CorpusDir returns the path of the shared real-mail corpus, found from
// the working directory, and whether it is there.
func CorpusDir() (dir string, ok bool) {
	root, err := moduleRoot()
	if err != nil {
		return "", false
	}
	dir = filepath.Join(filepath.Dir(root), "shared", "corpus")
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}

// Corpus returns the path of the shared real-mail corpus, or skips t,
// saying where it was looked for, when it is not there.
func Corpus(t testing.TB) string {
	t.Helper()
	dir, ok := CorpusDir()
	if !ok {
		t.Skipf("the shared real-mail corpus is not at %s (../shared/corpus beside the module): this test needs it", dir)
	}
	return dir
}

// CorpusEntry is one row of the corpus's MANIFEST.tsv.
type CorpusEntry struct {
	Path     string // the file, relative to the corpus, slash-separated
	Source   string // the project it comes from
	Kind     string
	Expected string // the file of its expectations, if any
}

// CorpusManifest reads the corpus's MANIFEST.tsv (skipping t like Corpus
// when the corpus is not there). A few files it lists may be absent.
func CorpusManifest(t testing.TB) []CorpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(Corpus(t), "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []CorpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for first := true; sc.Scan(); first = false {
		if first || sc.Text() == "" {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 10 {
			t.Fatalf("testenv: corpus manifest row with %d columns: %q", len(cols), sc.Text())
		}
		out = append(out, CorpusEntry{Path: cols[0], Source: cols[1], Kind: cols[2], Expected: cols[9]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ReadCorpus reads the file rel (slash-separated, relative to the corpus),
// skipping t like Corpus when the corpus is not there and failing it when
// the file is not.
func ReadCorpus(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Corpus(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CorpusFiles returns the paths of the mails under dir of the corpus
// (slash-separated, relative to it; "" for all of it), sorted: every file
// but manifests, expectations (.json), READMEs (.md), licences and the
// sources of the projects' tests. It skips t like Corpus when the corpus
// is not there.
func CorpusFiles(t testing.TB, dir string) []string {
	t.Helper()
	root := filepath.Join(Corpus(t), filepath.FromSlash(dir))
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := strings.ToLower(d.Name())
		for _, suffix := range []string{".json", ".tsv", ".md", ".py", ".pm", ".t"} {
			if strings.HasSuffix(base, suffix) {
				return nil
			}
		}
		if strings.HasPrefix(base, "license") || strings.HasPrefix(base, "copying") {
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
