package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestValidateOutput(t *testing.T) {
	report := NewReportPrintFlags
	objects := func() *genericclioptions.PrintFlags { return genericclioptions.NewPrintFlags("") }
	tests := []struct {
		name    string
		flags   func() *genericclioptions.PrintFlags
		text    []string
		output  string
		wantErr string
		// wantText is true when the command prints the format itself.
		wantText bool
	}{
		{name: "text", flags: report, output: "", wantText: true},
		{name: "json", flags: report, output: "json"},
		{name: "yaml", flags: report, output: "yaml"},
		{name: "jsonpath", flags: report, output: "jsonpath={.client.version}"},
		{name: "go-template", flags: report, output: "go-template={{.kind}}"},
		{name: "no name for reports", flags: report, output: "name", wantErr: `unknown output format "name"`},
		{name: "unknown", flags: report, output: "wide", wantErr: `unknown output format "wide": use one of json, yaml`},
		{name: "template without one", flags: report, output: "jsonpath", wantErr: "-o jsonpath: template format specified but no template given"},
		{name: "wide", flags: objects, text: []string{Wide}, output: "wide", wantText: true},
		{name: "name", flags: objects, text: []string{Wide}, output: "name"},
		{name: "unknown names the text formats", flags: objects, text: []string{Wide}, output: "table",
			wantErr: `unknown output format "table": use one of wide, json, yaml`},
		{name: "template without one, with text formats", flags: objects, text: []string{Wide}, output: "jsonpath",
			wantErr: "-o jsonpath: template format specified but no template given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := tt.flags()
			cmd := &cobra.Command{Use: "x"}
			AddPrintFlags(cmd, flags, tt.text...)
			if err := cmd.Flags().Set("output", tt.output); err != nil {
				t.Fatal(err)
			}
			err := ValidateOutput(flags, tt.text...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateOutput(-o %s) = %v", tt.output, err)
				}
				p, err := Printer(flags, tt.text...)
				if err != nil || (p == nil) != tt.wantText {
					t.Errorf("Printer(-o %s) = %v, %v", tt.output, p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateOutput(-o %s) = %v, want an error containing %q", tt.output, err, tt.wantErr)
			}
		})
	}
}

func TestAddPrintFlags(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	AddPrintFlags(cmd, genericclioptions.NewPrintFlags(""), Wide)
	if f := cmd.Flags().Lookup("show-managed-fields"); f == nil || !f.Hidden {
		t.Errorf("--show-managed-fields = %+v, want it hidden", f)
	}
	f := cmd.Flags().Lookup("output")
	if f == nil || !strings.HasPrefix(f.Usage, "Output format. One of: (wide, json, yaml,") {
		t.Errorf("-o = %+v, want its help to name wide first", f)
	}
}

func TestPrintList(t *testing.T) {
	list := &argov1.WorkflowList{Items: []argov1.Workflow{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "a"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "b"}},
	}}
	tests := []struct {
		output string
		want   string
	}{
		{output: "name", want: "workflow.argolite.dev/a\nworkflow.argolite.dev/b\n"},
		{output: "jsonpath={.kind} {.items[*].metadata.name}", want: "WorkflowList a b"},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			flags := genericclioptions.NewPrintFlags("")
			flags.OutputFormat = &tt.output
			p, err := Printer(flags)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := PrintList(p, flags, list, "Workflow", &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("printed %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestWithSelector(t *testing.T) {
	scope := []client.ListOption{client.InNamespace("team")}
	tests := []struct {
		selector string
		wantOpts int
		wantErr  string
	}{
		{selector: "", wantOpts: 1},
		{selector: "team=web,env in (prod,staging)", wantOpts: 2},
		{selector: "a=(b", wantErr: `-l "a=(b"`},
	}
	for _, tt := range tests {
		t.Run(tt.selector, func(t *testing.T) {
			opts, err := WithSelector(scope, tt.selector)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("WithSelector(%q) = %v, want an error containing %q", tt.selector, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(opts) != tt.wantOpts {
				t.Errorf("WithSelector(%q) = %v, %v; want %d options", tt.selector, opts, err, tt.wantOpts)
			}
		})
	}
}
