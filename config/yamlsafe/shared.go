package yamlsafe

import (
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
)

// ExtraDocument reads what follows the first document of dec: the first
// later document that holds anything (an empty one, such as a trailing
// "---" that generators and editors leave, is harmless), nil at the end,
// or the syntax error met on the way.
func ExtraDocument(dec *yaml.Decoder) (*yaml.Node, error) {
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		switch {
		case errors.Is(err, io.EOF):
			return nil, nil
		case err != nil:
			return nil, err
		case len(extra.Content) > 0 && !(extra.Content[0].Kind == yaml.ScalarNode && extra.Content[0].ShortTag() == "!!null"):
			return &extra, nil
		}
	}
}

// EditDistance is the Levenshtein distance between a and b in runes, for
// "did you mean" suggestions; it gives up early and returns limit+1 once
// the distance must exceed limit.
func EditDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
