package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
)

// ReportAPIVersion is the apiVersion of the reports commands print with -o:
// they are the plugin's own documents, not objects the API server serves.
const ReportAPIVersion = "cli.argolite.dev/v1alpha1"

// NewReportPrintFlags returns the -o flags of a command whose structured
// output is a report: json, yaml and the template formats. There is no -o
// name, since a report names nothing in the cluster.
func NewReportPrintFlags() *genericclioptions.PrintFlags {
	flags := genericclioptions.NewPrintFlags("")
	flags.NamePrintFlags = nil
	return flags
}

// AddReportPrintFlags binds flags to cmd and completes -o values.
func AddReportPrintFlags(cmd *cobra.Command, flags *genericclioptions.PrintFlags) {
	flags.AddFlags(cmd)
	// Reports have no managed fields; the flag only confuses.
	_ = cmd.Flags().MarkHidden("show-managed-fields")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return flags.AllowedFormats(), cobra.ShellCompDirectiveNoFileComp
	})
}

// structured reports whether flags ask for -o output rather than text.
func structured(flags *genericclioptions.PrintFlags) bool {
	return flags.OutputFormat != nil && *flags.OutputFormat != ""
}

// ValidateOutput checks that -o names a format the command prints.
func ValidateOutput(flags *genericclioptions.PrintFlags) error {
	if !structured(flags) {
		return nil
	}
	// Building the printer is the one check that knows "jsonpath=..." forms.
	_, err := flags.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return fmt.Errorf("unknown output format %q: use one of %s", *flags.OutputFormat, strings.Join(flags.AllowedFormats(), ", "))
	}
	if err != nil {
		return fmt.Errorf("-o %s: %w", *flags.OutputFormat, err)
	}
	return nil
}

// ReportPrinter returns the printer for -o, or nil for the text output.
func ReportPrinter(flags *genericclioptions.PrintFlags) (printers.ResourcePrinter, error) {
	if !structured(flags) {
		return nil, nil
	}
	return flags.ToPrinter()
}
