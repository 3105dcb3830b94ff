package render

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a file and the file line it starts on,
// so that parse errors can point at the file's line, not the document's.
type document struct {
	data []byte
	line int // 1-based line of the document's first line in the file
}

// splitDocuments splits a YAML stream on "---" separator lines. A separator
// may carry a comment; content after it on the same line starts the next
// document, as YAML allows.
func splitDocuments(data []byte) []document {
	var docs []document
	var cur bytes.Buffer
	start := 1
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i+1], data[i+1:]
		} else {
			l, data = data, nil
		}
		if rest, ok := separator(l); ok {
			docs = append(docs, document{data: bytes.Clone(cur.Bytes()), line: start})
			cur.Reset()
			start = line
			if rest != nil {
				cur.Write(rest)
			} else {
				start = line + 1
			}
			continue
		}
		cur.Write(l)
	}
	docs = append(docs, document{data: cur.Bytes(), line: start})
	// A file that opens with "---" has an empty document before it; drop it so
	// that document numbers in messages count what the user sees.
	if len(docs) > 1 && len(bytes.TrimSpace(docs[0].data)) == 0 {
		docs = docs[1:]
	}
	return docs
}

// separator reports whether line is a document separator and returns content
// that follows it on the same line (nil if none but a comment).
func separator(line []byte) ([]byte, bool) {
	if !bytes.HasPrefix(line, []byte("---")) {
		return nil, false
	}
	rest := line[3:]
	trimmed := bytes.TrimSpace(rest)
	switch {
	case len(trimmed) == 0 || trimmed[0] == '#':
		return nil, true
	case rest[0] == ' ' || rest[0] == '\t':
		return rest, true
	default:
		return nil, false // e.g. "----" or "---foo": not a separator
	}
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlError rewrites a YAML parser error so that its line numbers count from
// the start of the file, and drops the JSON-conversion wrapper.
func yamlError(err error, offset int) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	if offset > 0 {
		msg = yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
			n, convErr := strconv.Atoi(m[len("line "):])
			if convErr != nil {
				return m
			}
			return "line " + strconv.Itoa(n+offset)
		})
	}
	return errors.New(msg)
}

// decodeManifests parses the YAML (or JSON) documents of one file into
// objects: empty documents are skipped, Lists are flattened, and every object
// must have apiVersion and kind. file names the file in errors. allowArray
// accepts a top-level array of objects (JSON files).
func decodeManifests(file string, data []byte, allowArray bool) ([]*unstructured.Unstructured, error) {
	docs := splitDocuments(data)
	var objs []*unstructured.Unstructured
	for i, doc := range docs {
		where := ""
		if len(docs) > 1 {
			where = fmt.Sprintf("document %d: ", i+1)
		}
		if len(bytes.TrimSpace(doc.data)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc.data)
		if err != nil {
			return nil, &Error{File: file, Err: fmt.Errorf("%s%w", where, yamlError(err, doc.line-1))}
		}
		var v any
		if err := utiljson.Unmarshal(j, &v); err != nil {
			return nil, &Error{File: file, Err: fmt.Errorf("%s%w", where, err)}
		}
		switch v := v.(type) {
		case nil:
			continue
		case map[string]any:
			got, err := toObjects(v, "")
			if err != nil {
				return nil, &Error{File: file, Err: fmt.Errorf("%s%w", where, err)}
			}
			objs = append(objs, got...)
		case []any:
			if !allowArray {
				return nil, &Error{File: file, Err: fmt.Errorf("%sis a list, not an object: write each object as its own document or use kind: List", where)}
			}
			for k, item := range v {
				m, ok := item.(map[string]any)
				if !ok {
					return nil, &Error{File: file, Err: fmt.Errorf("%s[%d] is not an object", where, k)}
				}
				got, err := toObjects(m, fmt.Sprintf("[%d]", k))
				if err != nil {
					return nil, &Error{File: file, Err: fmt.Errorf("%s%w", where, err)}
				}
				objs = append(objs, got...)
			}
		default:
			return nil, &Error{File: file, Err: fmt.Errorf("%sis a %T, not a Kubernetes object", where, v)}
		}
	}
	return objs, nil
}

// toObjects checks one decoded object and flattens it if it is a List. at
// names the object inside its document for messages ("" for the document).
func toObjects(m map[string]any, at string) ([]*unstructured.Unstructured, error) {
	if len(m) == 0 {
		return nil, nil
	}
	name := "object"
	if at != "" {
		name = "object " + at
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if apiVersion == "" {
		return nil, fmt.Errorf("%s has no apiVersion: every manifest needs apiVersion and kind", name)
	}
	if kind == "" {
		return nil, fmt.Errorf("%s has no kind: every manifest needs apiVersion and kind", name)
	}
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var objs []*unstructured.Unstructured
		for i, item := range items {
			im, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.items[%d] is not an object", name, i)
			}
			got, err := toObjects(im, fmt.Sprintf("%s.items[%d]", at, i))
			if err != nil {
				return nil, err
			}
			objs = append(objs, got...)
		}
		return objs, nil
	}
	return []*unstructured.Unstructured{{Object: m}}, nil
}
