// Package yamlsafe holds the guards the config and mapping parsers share
// against hostile YAML (SPEC §12 "YAML"): a bound on the file size, a
// budget on what aliases may expand to (an alias bomb is a few kilobytes
// that name millions of nodes) and clipping of user text in messages, so
// that no problem line grows past MaxLine.
package yamlsafe

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a config or mapping file. Both are hand-written and a
// few kilobytes long.
const MaxFileBytes = 1 << 20

// AliasBudget is how many nodes aliases may add to a document when every
// alias is expanded in place. Sharing a block a few times stays far below
// it; an alias bomb crosses it within its first levels.
const AliasBudget = 10_000

// MaxLine bounds one problem line (FILE:LINE:COL: message).
const MaxLine = 1024

// MaxQuote bounds a user value quoted in a message, in characters.
const MaxQuote = 80

// ErrTooLarge is what ReadFile wraps for a file over MaxFileBytes.
var ErrTooLarge = fmt.Errorf("larger than %d bytes (1 MiB)", MaxFileBytes)

// ReadFile reads a file of at most MaxFileBytes; a larger one is refused
// with an error wrapping ErrTooLarge without being read whole.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, &os.PathError{Op: "read", Path: path, Err: ErrTooLarge}
	}
	return data, nil
}

// TooLarge is the message for data over MaxFileBytes, "" when it fits.
func TooLarge(data []byte) string {
	if len(data) <= MaxFileBytes {
		return ""
	}
	return fmt.Sprintf("the file is %d bytes; at most %d (1 MiB) are read", len(data), MaxFileBytes)
}

// AliasBomb returns the alias at which expanding every alias of the tree
// under root in place would add more than AliasBudget nodes, nil when the
// tree stays within it. It takes time linear in the tree as parsed (each
// node's expanded size is computed once), however far the aliases would
// expand.
func AliasBomb(root *yaml.Node) *yaml.Node {
	w := &aliasWalk{sizes: map[*yaml.Node]int{}}
	return w.walk(root)
}

// AliasBombMessage is the problem reported at the node AliasBomb returns.
func AliasBombMessage() string {
	return fmt.Sprintf("aliases expand the document by more than %d nodes (an alias bomb?); write the values out", AliasBudget)
}

type aliasWalk struct {
	sizes map[*yaml.Node]int // expanded size by node; inProgress while being computed
	added int                // nodes aliases add so far
}

// inProgress marks a node whose size is being computed: an alias to it is
// a cycle.
const inProgress = -1

// walk visits the tree as parsed, adding each alias's expanded size, and
// returns the alias that crosses the budget.
func (w *aliasWalk) walk(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		w.added += w.size(n.Alias)
		if w.added > AliasBudget {
			return n
		}
		return nil
	}
	for _, c := range n.Content {
		if bad := w.walk(c); bad != nil {
			return bad
		}
	}
	return nil
}

// size is the number of nodes n stands for with aliases expanded, saturated
// just above the budget (a cycle counts as over it).
func (w *aliasWalk) size(n *yaml.Node) int {
	const over = AliasBudget + 1
	if n == nil {
		return 0
	}
	if s, ok := w.sizes[n]; ok {
		if s == inProgress {
			return over
		}
		return s
	}
	w.sizes[n] = inProgress
	s := 1
	if n.Kind == yaml.AliasNode {
		s = w.size(n.Alias)
	} else {
		for _, c := range n.Content {
			s = min(s+w.size(c), over)
		}
	}
	w.sizes[n] = s
	return s
}

// Clip shortens s to at most max characters, cut on a character boundary
// and ending in "…" when cut.
func Clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	i, n := 0, 0
	for i < len(s) && n < max-1 {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
		n++
	}
	return s[:i] + "…"
}

// ClipLine shortens a problem line to at most MaxLine bytes, on a
// character boundary.
func ClipLine(s string) string {
	if len(s) <= MaxLine {
		return s
	}
	const ell = "…"
	i := MaxLine - len(ell)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ell
}
