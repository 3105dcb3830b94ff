package diff

import (
	"errors"
	"strconv"
	"strings"
)

// parsePointer splits an RFC 6901 JSON pointer into unescaped reference
// tokens (~1 is "/", ~0 is "~").
func parsePointer(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New(`the whole object cannot be ignored; a pointer starts with "/", such as /spec/replicas`)
	}
	if s[0] != '/' {
		return nil, errors.New(`a JSON pointer starts with "/", such as /spec/replicas`)
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		for j := 0; j < len(p); j++ {
			if p[j] == '~' && (j+1 == len(p) || (p[j+1] != '0' && p[j+1] != '1')) {
				return nil, errors.New(`"~" must be followed by 0 (for "~") or 1 (for "/")`)
			}
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// resolvePointer turns pointer tokens into the concrete path they name in
// root; ok is false when the path does not exist.
func resolvePointer(root any, tokens []string) (fieldPath, bool) {
	p := make(fieldPath, 0, len(tokens))
	node := root
	for _, t := range tokens {
		var e any = t
		if _, isList := node.([]any); isList {
			i, ok := listIndex(t)
			if !ok {
				return nil, false
			}
			e = i
		}
		next, ok := step(node, e)
		if !ok {
			return nil, false
		}
		p = append(p, e)
		node = next
	}
	return p, true
}

// listIndex parses an RFC 6901 array index: decimal without leading zeros.
func listIndex(t string) (int, bool) {
	if t == "" || (len(t) > 1 && t[0] == '0') {
		return 0, false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(t)
	return i, err == nil
}
