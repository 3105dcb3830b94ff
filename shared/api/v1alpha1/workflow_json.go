package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// AnyString is a parameter value. Argo accepts numbers and booleans where a
// string is meant (`value: 5`), so the value keeps their text.
type AnyString string

// AnyStringPtr returns a pointer to s as an AnyString.
func AnyStringPtr(s string) *AnyString {
	a := AnyString(s)
	return &a
}

// String returns the value.
func (a AnyString) String() string { return string(a) }

// UnmarshalJSON accepts a string, a number or a boolean.
func (a *AnyString) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*a = AnyString(s)
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch v := v.(type) {
	case json.Number:
		*a = AnyString(v.String())
	case bool:
		*a = AnyString(strconv.FormatBool(v))
	case nil:
		*a = ""
	default:
		return fmt.Errorf("a parameter value must be a string, a number or a boolean, not %s", data)
	}
	return nil
}

// MarshalJSON writes the value as a string.
func (a AnyString) MarshalJSON() ([]byte, error) { return json.Marshal(string(a)) }

// Item is one loop item of withItems: any JSON value (a string, a number, a
// boolean, a map or a list).
type Item struct {
	// Value is the item's JSON.
	Value json.RawMessage `json:"-"`
}

// ItemOf returns the item holding v.
func ItemOf(v any) (Item, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Item{}, err
	}
	return Item{Value: b}, nil
}

// UnmarshalJSON keeps the raw value.
func (i *Item) UnmarshalJSON(data []byte) error {
	if !json.Valid(data) {
		return fmt.Errorf("invalid JSON in a loop item: %s", data)
	}
	i.Value = append(json.RawMessage(nil), bytes.TrimSpace(data)...)
	return nil
}

// MarshalJSON writes the raw value.
func (i Item) MarshalJSON() ([]byte, error) {
	if len(i.Value) == 0 {
		return []byte("null"), nil
	}
	return i.Value, nil
}

// String is the item as Argo substitutes it for {{item}}: strings as they
// are, numbers and booleans as written, maps and lists as JSON.
func (i Item) String() string {
	var s string
	if err := json.Unmarshal(i.Value, &s); err == nil {
		return s
	}
	return string(i.Value)
}

// Fields returns a map item's fields as strings, for {{item.KEY}}; nil when
// the item is not a map.
func (i Item) Fields() map[string]string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(i.Value, &m); err != nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = Item{Value: v}.String()
	}
	return out
}

// MarshalJSON writes the steps of a group as a list, as Argo does.
func (p ParallelSteps) MarshalJSON() ([]byte, error) {
	if p.Steps == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(p.Steps)
}

// UnmarshalJSON reads a group of steps from a list.
func (p *ParallelSteps) UnmarshalJSON(data []byte) error {
	return json.Unmarshal(data, &p.Steps)
}

// Amount is a number kept as written (histogram buckets).
type Amount struct {
	Value json.Number `json:"-"`
}

// UnmarshalJSON reads a number.
func (a *Amount) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(&a.Value)
}

// MarshalJSON writes the number.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.Value == "" {
		return []byte("0"), nil
	}
	return []byte(a.Value), nil
}
