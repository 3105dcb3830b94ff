package expr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONPath(t *testing.T) {
	const store = `{"store": {"book": [
		{"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
		{"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
		{"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
		{"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
	], "bicycle": {"color": "red", "price": 19.95}}, "expensive": 10}`
	const five = `["first", "second", "third", "forth", "fifth"]`
	const employees = `{"employees": [{"name": "Baris", "age":43},{"name": "Mo", "age": 42}, {"name": "Jai", "age" :44}]}`
	tests := []struct {
		path, data string
		want       string // JSON of the result
		wantErr    string
	}{
		{path: "$", data: `{"a":1}`, want: `{"a":1}`},
		{path: "$.a", data: `{"a":"1","b":"2"}`, want: `"1"`},
		{path: "$['a']", data: `{"a":"1"}`, want: `"1"`},
		{path: `$["a b"]`, data: `{"a b":1}`, want: `1`},
		{path: "$.a.b.c", data: `{"a":{"b":{"c":true}}}`, want: `true`},
		{path: "$[0].value", data: `[{"value":"true"}]`, want: `"true"`},
		{path: "$[-1]", data: five, want: `"fifth"`},
		{path: "$[1]", data: `{"b":2,"a":1}`, want: `2`}, // maps index by sorted key
		{path: "$.a[1]", data: `{"a":"xyz"}`, want: `"y"`},
		{path: "$.length", data: five, want: `5`},
		{path: "$.a.length", data: `{"a":{"length":"own"}}`, want: `"own"`},
		{path: "$.*", data: `{"b":2,"a":1}`, want: `[1,2]`},
		{path: "$[*]", data: `[1,2]`, want: `[1,2]`},
		{path: "$.store.book[*].author", data: store, want: `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{path: "$..author", data: store, want: `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{path: "$.store..price", data: store, want: `[19.95,8.95,12.99,8.99,22.99]`},
		{path: "$..book[2].title", data: store, want: `["Moby Dick"]`},
		{path: "$.store.book[?(@.isbn)].title", data: store, want: `["Moby Dick","The Lord of the Rings"]`},
		{path: "$.store.book[?(@.price < 10)].title", data: store, want: `["Sayings of the Century","Moby Dick"]`},
		{path: "$.store.book[?(@.price > $.expensive)].price", data: store, want: `[12.99,22.99]`},
		{path: "$.store.book[?(@.category == 'fiction' && @.price <= 12.99)].author", data: store, want: `["Evelyn Waugh","Herman Melville"]`},
		{path: "$.store.book[?(@.author =~ 'T.*n$')].title", data: store, want: `["The Lord of the Rings"]`},
		{path: "$.store.book[?(@.author =~ /^H/)].title", data: store, want: `["Moby Dick"]`},
		{path: "$.store.book[?(!@.isbn)].title", data: store, want: `[]`},
		{path: "$.store.book[?(@.price * 2 > 40 || @.title == 'Moby Dick')].title", data: store, want: `["Moby Dick","The Lord of the Rings"]`},
		{path: "$.store.book[?(@.category == 'fiction')][0].title", data: store, want: `"Sword of Honour"`},
		{path: "$.store.book[(@.length-1)].title", data: store, want: `"The Lord of the Rings"`},
		{path: "$.store.book[0,2].price", data: store, want: `[8.95,8.99]`},
		{path: "$.store.bicycle['color','price']", data: store, want: `["red",19.95]`},
		// Argo's examples.
		{path: `$.employees[?(@.name=="Baris")].age`, data: employees, want: `[43]`},
		{path: `$.employees[?(@.age>42 && @.age<44)].age`, data: employees, want: `[43]`},
		{path: "$.employees[0:1]", data: employees, want: `[{"age":43,"name":"Baris"}]`},
		{path: "$.employees[*].name", data: employees, want: `["Baris","Mo","Jai"]`},
		{path: "$.temps", data: `{"temps": [34, 27, 15, 57, 46]}`, want: `[34,27,15,57,46]`},
		// Ranges, as evilmonkeyinc/jsonpath's own tests.
		{path: "$[1:3]", data: five, want: `["second","third"]`},
		{path: "$[0:5]", data: five, want: `["first","second","third","forth","fifth"]`},
		{path: "$[1:]", data: five, want: `["second","third","forth","fifth"]`},
		{path: "$[:2]", data: five, want: `["first","second"]`},
		{path: "$[-2:]", data: five, want: `["forth","fifth"]`},
		{path: "$[0:3:2]", data: five, want: `["first","third"]`},
		{path: "$[0:3:-2]", data: five, want: `["third","first"]`},
		{path: "$[3:0:-2]", data: five, want: `[]`},
		{path: "$[2:1]", data: five, want: `[]`},
		{path: "$[-4:-3]", data: `[2, "a", 4, 5, 100, "nice"]`, want: `[4]`},
		{path: "$[1:3]", data: `{"a":1,"b":2,"c":3,"d":4}`, want: `[2,3]`},
		{path: "$.s[0:3]", data: `{"s":"string"}`, want: `"str"`},
		{path: "$[7:10]", data: five, wantErr: "out of range"},
		{path: "$[1:10]", data: `[1,2,3]`, wantErr: "out of range"},
		{path: "$[0:3:0]", data: five, wantErr: "step must not be 0"},
		{path: "$[:]", data: five, wantErr: "invalid range"},
		// Errors.
		{path: "$.missing", data: `{}`, wantErr: `key "missing" not found`},
		{path: "$.a.b", data: `{"a":1}`, wantErr: "cannot get key"},
		{path: "$[5]", data: five, wantErr: "out of range"},
		{path: "a", data: `{}`, wantErr: "must start with"},
		{path: "", data: `{}`, wantErr: "must start with"},
		{path: "$.", data: `{}`, wantErr: "a name must follow"},
		{path: "$[", data: `{}`, wantErr: "unclosed"},
		{path: "$[]", data: `{}`, wantErr: "empty subscript"},
		{path: "$[?(@.a ==)]", data: `[]`, wantErr: "invalid filter"},
		{path: "$[x]", data: `{}`, wantErr: "invalid subscript"},
		{path: "$x", data: `{}`, wantErr: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var data any
			if err := json.Unmarshal([]byte(tt.data), &data); err != nil {
				t.Fatal(err)
			}
			got, err := jsonPathQuery(tt.path, data)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got %s, want %s", out, tt.want)
			}
		})
	}
}

func TestJSONPathFunctionErrors(t *testing.T) {
	for _, tt := range []struct{ expr, wantErr string }{
		{`jsonpath('not json', '$')`, "invalid character"},
		{`jsonpath('{}', '$..')`, "a name must follow"},
	} {
		_, err := Eval(tt.expr, nil)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: got %v, want %q", tt.expr, err, tt.wantErr)
		}
	}
}
