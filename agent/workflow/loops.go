package workflow

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// loopItems returns the items of withItems, withParam (JSON list after
// substitution) or withSequence; ok is false when the step does not loop.
func loopItems(withItems []argov1.Item, withParam string, seq *argov1.Sequence, vars map[string]string) (items []argov1.Item, ok bool, err error) {
	switch {
	case len(withItems) > 0:
		return withItems, true, nil
	case withParam != "":
		s, err := expr.Replace(withParam, vars, expr.Options{})
		if err != nil {
			return nil, true, specError("withParam: %v", err)
		}
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, true, specError("withParam value %s is not a JSON list: %v", truncate(s, 200), err)
		}
		for _, raw := range list {
			items = append(items, argov1.Item{Value: raw})
		}
		return items, true, nil
	case seq != nil:
		items, err := expandSequence(seq, vars)
		return items, true, err
	}
	return nil, false, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// expandSequence lists withSequence's numbers, formatted.
func expandSequence(seq *argov1.Sequence, vars map[string]string) ([]argov1.Item, error) {
	num := func(field string, v interface{ String() string }) (int, error) {
		n, err := intOrStringValue(v, vars)
		if err != nil {
			return 0, specError("withSequence.%s: %v", field, err)
		}
		return n, nil
	}
	var start, end int
	var err error
	if seq.Start != nil {
		if start, err = num("start", seq.Start); err != nil {
			return nil, err
		}
	}
	switch {
	case seq.End != nil:
		if end, err = num("end", seq.End); err != nil {
			return nil, err
		}
	case seq.Count != nil:
		count, err := num("count", seq.Count)
		if err != nil {
			return nil, err
		}
		if count == 0 {
			return []argov1.Item{}, nil
		}
		end = start + count - 1
	default:
		return nil, specError("withSequence needs end or count")
	}
	format := "%d"
	if seq.Format != "" {
		format = seq.Format
	}
	var items []argov1.Item
	step := 1
	if start > end {
		step = -1
	}
	for i := start; ; i += step {
		it, _ := argov1.ItemOf(fmt.Sprintf(format, i))
		items = append(items, it)
		if i == end {
			break
		}
	}
	return items, nil
}

// itemVars are the {{item}} variables of one loop item and the name suffix
// of its node, as Argo's processItem makes them.
func itemVars(it argov1.Item) (map[string]string, string, error) {
	var v any
	if err := json.Unmarshal(it.Value, &v); err != nil {
		return nil, "", specError("loop item %s: %v", it.Value, err)
	}
	vars := map[string]string{}
	var desc string
	switch x := v.(type) {
	case string:
		vars["item"] = x
		desc = x
	case float64, bool:
		s := string(it.Value)
		vars["item"] = s
		desc = s
	case map[string]any:
		var vals []string
		for k, val := range x {
			s := fmt.Sprintf("%v", val)
			if inner, ok := val.(string); ok {
				s = inner
			} else if _, isNum := val.(float64); isNum {
				s = strings.TrimSpace(string(mustJSON(val)))
			}
			vars["item."+k] = s
			vals = append(vals, k+":"+s)
		}
		sort.Strings(vals)
		vars["item"] = string(mustJSON(x))
		desc = strings.Join(vals, ",")
	case []any:
		vars["item"] = string(mustJSON(x))
		desc = fmt.Sprint(x)
	default:
		return nil, "", specError("loop item %s: expected a string, number, boolean, list or map", it.Value)
	}
	desc = strings.NewReplacer("(", "", ")", "").Replace(desc)
	return vars, desc, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// loopNodeName is Argo's name for a loop item's node.
func loopNodeName(name string, i int, desc string) string {
	return name + "(" + strconv.Itoa(i) + ":" + desc + ")"
}
