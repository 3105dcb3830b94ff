package wfvalidate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
	"github.com/argolite/argolite/shared/strict"
)

// refScope is what the `{{...}}` tags of some fields may name.
type refScope struct {
	// global: the spec's own fields; only workflow.* is checked there.
	global bool
	// syntaxOnly: only the tags' syntax is checked (templateDefaults, whose
	// fields end up in every template).
	syntaxOnly bool
	tmpl       string          // the template, for messages
	params     map[string]bool // inputs.parameters.*
	arts       map[string]bool // inputs.artifacts.*
	steps      *visibleSet     // nil: steps.* is not set here
	tasks      *visibleSet     // nil: tasks.* is not set here
	item       *itemScope      // nil: not in a loop
}

func (s *refScope) clone() *refScope {
	c := *s
	return &c
}

// visibleSet are the steps or tasks whose results a field sees.
type visibleSet struct {
	kind       string // "step" or "task"
	tmpl       string
	owner      string // the step or task the field belongs to ("" for the template's own fields)
	ownerGroup int
	names      map[string]bool
	all        map[string]*callInfo
}

func (s *visibleSet) withSelf() *visibleSet {
	c := *s
	c.names = make(map[string]bool, len(s.names)+1)
	for k := range s.names {
		c.names[k] = true
	}
	c.names[s.owner] = true
	return &c
}

// itemScope is what {{item.*}} may name in a loop.
type itemScope struct {
	keys map[string]bool // nil: any key (withParam, withSequence, lists)
}

func itemScopeOf(items []argov1.Item, param string, seq *argov1.Sequence) *itemScope {
	if param != "" || seq != nil {
		return &itemScope{}
	}
	if len(items) == 0 {
		return nil
	}
	keys := map[string]bool{}
	for _, it := range items {
		var v any
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return &itemScope{}
		}
		switch x := v.(type) {
		case map[string]any:
			for k := range x {
				keys[k] = true
			}
		case []any:
			return &itemScope{}
		}
	}
	return &itemScope{keys: keys}
}

// templateScope is the scope of a template's fields: its inputs, and for an
// inline template also what the step or task around it sees (its fields are
// substituted with those first).
func templateScope(t *argov1.Template, outer *refScope) *refScope {
	sc := &refScope{tmpl: t.Name, params: map[string]bool{}, arts: map[string]bool{}}
	if outer != nil {
		sc.steps, sc.tasks, sc.item = outer.steps, outer.tasks, outer.item
		for k := range outer.params {
			sc.params[k] = true
		}
		for k := range outer.arts {
			sc.arts[k] = true
		}
		if sc.tmpl == "" {
			sc.tmpl = outer.tmpl
		}
	}
	for _, p := range t.Inputs.Parameters {
		sc.params[p.Name] = true
	}
	for _, a := range t.Inputs.Artifacts {
		sc.arts[a.Name] = true
	}
	return sc
}

// walkStrings checks the tags of every string in value (a struct, map,
// slice or string of the API types), except the top-level fields in skip.
func (v *validator) walkStrings(value any, path string, skip map[string]bool, sc *refScope) {
	rv := reflect.ValueOf(value)
	v.walkValue(rv, path, skip, sc)
}

func (v *validator) walkValue(rv reflect.Value, path string, skip map[string]bool, sc *refScope) {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return
		}
		rv = rv.Elem()
	}
	switch rv.Type() {
	case itemT:
		it := rv.Interface().(argov1.Item)
		v.checkString(path, it.String(), sc)
		return
	case intOrStringT:
		x := rv.Interface().(intstr.IntOrString)
		if x.Type == intstr.String {
			v.checkString(path, x.StrVal, sc)
		}
		return
	case parallelStepsT:
		steps := rv.Interface().(argov1.ParallelSteps).Steps
		for i := range steps {
			v.walkValue(reflect.ValueOf(&steps[i]), index(path, i), nil, sc)
		}
		return
	case quantityT, timeT, microTimeT, amountT:
		return
	}
	switch rv.Kind() {
	case reflect.String:
		v.checkString(path, rv.String(), sc)
	case reflect.Struct:
		for _, f := range strict.Fields(rv.Type()) {
			if skip[f.Name] {
				continue
			}
			fv, err := rv.FieldByIndexErr(f.Index)
			if err != nil {
				continue // through a nil embedded pointer
			}
			v.walkValue(fv, join(path, f.Name), nil, sc)
		}
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return
		}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			v.walkValue(rv.MapIndex(k), key(path, k.String()), nil, sc)
		}
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < rv.Len(); i++ {
			v.walkValue(rv.Index(i), index(path, i), nil, sc)
		}
	}
}

// checkString checks the tags of one string.
func (v *validator) checkString(path, s string, sc *refScope) {
	if !hasTag(s) {
		return
	}
	if err := expr.ValidateSyntax(s); err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if strings.HasPrefix(msg, "unclosed tag") {
			msg += ": close it with }}"
		}
		v.add(path, "%s", msg)
		return
	}
	if sc.syntaxOnly {
		return
	}
	for _, tag := range expr.Tags(s) {
		if expression, ok := strings.CutPrefix(tag, "="); ok {
			if err := compileExpression(expression); err != nil {
				v.add(path, "{{%s}} does not compile: %s", tag, err)
				continue
			}
			ids, err := expr.Identifiers(expression)
			if err != nil {
				continue
			}
			for _, id := range longest(ids) {
				v.checkRef(path, fmt.Sprintf("%s (in {{%s}})", id, abbreviate(tag, 60)), id, sc)
			}
			continue
		}
		name := tag
		if i := strings.LastIndex(name, "{{"); i >= 0 {
			name = name[i+2:] // {{outer-{{inner}}: the inner name resolves first
		}
		name = strings.TrimSpace(name)
		v.checkRef(path, "{{"+name+"}}", name, sc)
	}
}

// longest drops the identifiers that are a prefix of another (expr lists
// a, a.b and a.b.c for a.b.c).
func longest(ids []string) []string {
	var out []string
	for _, id := range ids {
		prefix := false
		for _, other := range ids {
			if strings.HasPrefix(other, id+".") {
				prefix = true
				break
			}
		}
		if !prefix {
			out = append(out, id)
		}
	}
	return out
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// workflowVariables are the names under workflow.* (Argo's, as the agent
// sets them).
var workflowVariables = []string{"name", "namespace", "uid", "mainEntrypoint", "serviceAccountName", "creationTimestamp",
	"duration", "priority", "labels", "annotations", "parameters", "outputs", "status", "failures", "scheduledTime"}

// nodeAttributes are what {{steps.X.*}} and {{tasks.X.*}} may name.
var nodeAttributes = []string{"id", "ip", "status", "exitCode", "startedAt", "finishedAt", "hostNodeName", "outputs"}

// checkRef checks the variable name (written as ref) used in a field.
func (v *validator) checkRef(path, ref, name string, sc *refScope) {
	parts := strings.Split(name, ".")
	switch parts[0] {
	case "workflow":
		if len(parts) < 2 {
			return
		}
		if !contains(workflowVariables, parts[1]) {
			v.add(path, "%s: workflow.%s is not a workflow variable%s", ref, parts[1], didYouMean(parts[1], workflowVariables))
			return
		}
		if parts[1] == "parameters" && len(parts) >= 3 && parts[2] != "json" && v.wfParams != nil && !v.wfParams[parts[2]] {
			v.add(path, "%s: the workflow has no parameter %q: add it to spec.arguments.parameters%s", ref, parts[2], didYouMean(parts[2], sortedKeys(v.wfParams)))
		}
		return
	}
	if sc.global {
		return
	}
	switch parts[0] {
	case "inputs":
		if len(parts) < 3 {
			return
		}
		switch parts[1] {
		case "parameters":
			if !sc.params[parts[2]] {
				v.add(path, "%s: template %q has no input parameter %q: declare it under inputs.parameters%s", ref, sc.tmpl, parts[2], didYouMean(parts[2], sortedKeys(sc.params)))
			}
		case "artifacts":
			if !sc.arts[parts[2]] {
				v.add(path, "%s: template %q has no input artifact %q: declare it under inputs.artifacts%s", ref, sc.tmpl, parts[2], didYouMean(parts[2], sortedKeys(sc.arts)))
			}
		}
	case "steps", "tasks":
		if len(parts) < 2 || (len(parts) == 2 && parts[1] == "name") {
			return
		}
		vis := sc.steps
		if parts[0] == "tasks" {
			vis = sc.tasks
		}
		if vis == nil {
			if parts[0] == "steps" {
				v.add(path, "%s: steps.* is only set in the steps of a steps template (and its outputs): pass the value to this template as an input parameter", ref)
			} else {
				v.add(path, "%s: tasks.* is only set in the tasks of a DAG template (and its outputs): pass the value to this template as an input parameter", ref)
			}
			return
		}
		v.checkNodeRef(path, ref, parts, vis)
	case "item":
		if sc.item == nil {
			v.add(path, "%s: item is only set in a step or task that loops (withItems, withParam or withSequence)", ref)
			return
		}
		if len(parts) >= 2 && sc.item.keys != nil && !sc.item.keys[parts[1]] {
			if len(sc.item.keys) == 0 {
				v.add(path, "%s: the items of withItems are not maps: use {{item}}", ref)
			} else {
				v.add(path, "%s: no item of withItems has the key %q%s", ref, parts[1], didYouMean(parts[1], sortedKeys(sc.item.keys)))
			}
		}
	}
}

// checkNodeRef checks {{steps.X.*}} or {{tasks.X.*}} (parts split at dots).
func (v *validator) checkNodeRef(path, ref string, parts []string, vis *visibleSet) {
	name := parts[1]
	info, exists := vis.all[name]
	if !vis.names[name] {
		switch {
		case !exists:
			v.add(path, "%s: template %q has no %s %q%s", ref, vis.tmpl, vis.kind, name, didYouMean(name, sortedKeys(vis.all)))
		case vis.kind == "step" && name == vis.owner:
			v.add(path, "%s: a step cannot use its own results, except in its hooks", ref)
		case vis.kind == "step" && info.group == vis.ownerGroup:
			v.add(path, "%s: step %q runs at the same time as this step (both in group %d): a step sees the results of the steps of earlier groups only; move %q to an earlier group",
				ref, name, info.group, name)
		case vis.kind == "step":
			v.add(path, "%s: step %q runs after this step (in group %d, this step in group %d): a step sees the results of the steps of earlier groups only; move %q to an earlier group",
				ref, name, info.group, vis.ownerGroup, name)
		case name == vis.owner:
			v.add(path, "%s: a task cannot use its own results, except in its hooks", ref)
		default:
			v.add(path, "%s: task %q does not depend on task %q, so its results may not exist yet: add %q to its depends (or dependencies)", ref, vis.owner, name, name)
		}
		return
	}
	if len(parts) < 3 {
		return
	}
	if !contains(nodeAttributes, parts[2]) {
		v.add(path, "%s: %s.%s has no %q%s", ref, parts[0], name, parts[2], didYouMean(parts[2], nodeAttributes))
		return
	}
	if parts[2] != "outputs" || len(parts) < 4 {
		return
	}
	switch parts[3] {
	case "result", "parameters", "artifacts":
	default:
		v.add(path, "%s: outputs has result, parameters and artifacts, not %q%s", ref, parts[3], didYouMean(parts[3], []string{"result", "parameters", "artifacts"}))
		return
	}
	if len(parts) < 5 || info == nil || info.tmpl == nil {
		return
	}
	var declared []string
	switch parts[3] {
	case "parameters":
		for _, p := range info.tmpl.Outputs.Parameters {
			declared = append(declared, p.Name)
		}
	case "artifacts":
		for _, a := range info.tmpl.Outputs.Artifacts {
			declared = append(declared, a.Name)
		}
	}
	if parts[3] != "result" && !contains(declared, parts[4]) {
		what := "output parameter"
		if parts[3] == "artifacts" {
			what = "output artifact"
		}
		v.add(path, "%s: the template %s %q calls has no %s %q: declare it under outputs.%s of that template%s",
			ref, vis.kind, name, what, parts[4], parts[3], didYouMean(parts[4], declared))
	}
}
