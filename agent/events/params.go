package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// paramValue is a resolved parameter: its text, and whether it is JSON to
// set as such (an object, array, number or bool from the payload).
type paramValue struct {
	text string
	raw  bool
}

// resolveParam is Argo's ResolveParamValue: the dependency's event, then
// contextKey / contextTemplate / dataKey / dataTemplate (the whole payload
// when none is given), falling back to value when the key is not there.
func resolveParam(src *argov1.TriggerParameterSource, events map[string]*Event) (paramValue, error) {
	if src == nil {
		return paramValue{}, fmt.Errorf("src: give the dependency and key the value comes from")
	}
	fallback := func(why string) (paramValue, error) {
		if src.Value != nil {
			return paramValue{text: *src.Value}, nil
		}
		return paramValue{}, fmt.Errorf("dependency %q: %s and no value to fall back to", src.DependencyName, why)
	}
	ev, ok := events[src.DependencyName]
	if !ok {
		return fallback("no event")
	}
	switch {
	case src.ContextTemplate != "":
		return renderTemplate(src.ContextTemplate, ev.contextJSON())
	case src.ContextKey != "":
		return fromJSON(gjson.GetBytes(ev.contextJSON(), src.ContextKey), src.UseRawData, fallback, src.ContextKey)
	case src.DataTemplate != "":
		return renderTemplate(src.DataTemplate, ev.Data)
	case src.DataKey != "":
		return fromJSON(gjson.GetBytes(ev.Data, src.DataKey), src.UseRawData, fallback, src.DataKey)
	}
	return paramValue{text: string(ev.Data), raw: true}, nil
}

func fromJSON(v gjson.Result, useRaw bool, fallback func(string) (paramValue, error), key string) (paramValue, error) {
	if !v.Exists() {
		return fallback(fmt.Sprintf("key %q is not in the event", key))
	}
	if v.Type == gjson.String && !useRaw {
		return paramValue{text: v.String()}, nil
	}
	return paramValue{text: v.Raw, raw: v.Type != gjson.String || useRaw}, nil
}

// renderTemplate runs a Go template (with sprig) over a JSON document
// bound as .Input.
func renderTemplate(text string, doc []byte) (paramValue, error) {
	var input any
	if err := json.Unmarshal(doc, &input); err != nil {
		return paramValue{}, err
	}
	t, err := template.New("param").Funcs(safeFuncs()).Parse(text)
	if err != nil {
		return paramValue{}, fmt.Errorf("template %q: %w", text, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, map[string]any{"Input": input}); err != nil {
		return paramValue{}, fmt.Errorf("template %q: %w", text, err)
	}
	return paramValue{text: b.String()}, nil
}

// safeFuncs is sprig without the functions that read the agent's
// environment.
func safeFuncs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	return f
}

// applyParams sets each parameter's dest in doc (JSON), as Argo's
// ApplyParams: overwrite, append or prepend.
func applyParams(doc []byte, params []argov1.TriggerParameter, events map[string]*Event) ([]byte, error) {
	for i, p := range params {
		if p.Dest == "" {
			return nil, fmt.Errorf("parameters[%d].dest: name where the value goes (such as spec.arguments.parameters.0.value)", i)
		}
		v, err := resolveParam(p.Src, events)
		if err != nil {
			return nil, fmt.Errorf("parameters[%d]: %w", i, err)
		}
		switch p.Operation {
		case "", "overwrite":
		case "append", "prepend":
			cur := gjson.GetBytes(doc, p.Dest).String()
			if p.Operation == "append" {
				v.text = cur + v.text
			} else {
				v.text += cur
			}
			v.raw = false
		default:
			return nil, fmt.Errorf("parameters[%d].operation: %q is not one of overwrite, append, prepend", i, p.Operation)
		}
		if v.raw {
			doc, err = sjson.SetRawBytes(doc, p.Dest, []byte(v.text))
		} else {
			doc, err = sjson.SetBytes(doc, p.Dest, v.text)
		}
		if err != nil {
			return nil, fmt.Errorf("parameters[%d].dest %q: %w", i, p.Dest, err)
		}
	}
	return doc, nil
}
