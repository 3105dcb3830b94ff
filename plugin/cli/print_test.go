package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestValidateOutput(t *testing.T) {
	tests := []struct {
		output  string
		wantErr string
	}{
		{output: ""},
		{output: "json"},
		{output: "yaml"},
		{output: "jsonpath={.client.version}"},
		{output: "go-template={{.kind}}"},
		{output: "name", wantErr: `unknown output format "name"`},
		{output: "wide", wantErr: `unknown output format "wide": use one of json, yaml`},
		{output: "jsonpath", wantErr: "template format specified but no template given"},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			flags := NewReportPrintFlags()
			cmd := &cobra.Command{Use: "x"}
			AddReportPrintFlags(cmd, flags)
			if err := cmd.Flags().Set("output", tt.output); err != nil {
				t.Fatal(err)
			}
			err := ValidateOutput(flags)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateOutput(-o %s) = %v", tt.output, err)
				}
				p, err := ReportPrinter(flags)
				if err != nil || (p == nil) != (tt.output == "") {
					t.Errorf("ReportPrinter(-o %s) = %v, %v", tt.output, p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateOutput(-o %s) = %v, want an error containing %q", tt.output, err, tt.wantErr)
			}
		})
	}
}

func TestAddReportPrintFlagsHidesManagedFields(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	AddReportPrintFlags(cmd, NewReportPrintFlags())
	f := cmd.Flags().Lookup("show-managed-fields")
	if f == nil || !f.Hidden {
		t.Errorf("--show-managed-fields = %+v, want it hidden", f)
	}
	if cmd.Flags().Lookup("output") == nil {
		t.Error("no -o flag")
	}
}
