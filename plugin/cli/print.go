package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Wide is the text format of -o that adds columns to a table.
const Wide = "wide"

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

// AddPrintFlags binds -o to cmd. text are the formats the command prints
// itself (such as wide), besides the printers' json, yaml, name and
// templates; the flag's help and completion name them first.
func AddPrintFlags(cmd *cobra.Command, flags *genericclioptions.PrintFlags, text ...string) {
	flags.AddFlags(cmd)
	// What the plugin prints is read by people and scripts, to whom managed
	// fields are noise; the flag still works for those who know it.
	_ = cmd.Flags().MarkHidden("show-managed-fields")
	formats := append(slices.Clone(text), flags.AllowedFormats()...)
	if f := cmd.Flags().Lookup("output"); f != nil {
		f.Usage = "Output format. One of: (" + strings.Join(formats, ", ") + ")."
	}
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// AddFilenameFlag binds -f, the files (or directories of them, or - for
// stdin) whose YAML or JSON documents a command reads; usage says what they
// hold. The shell completes .yaml, .yml and .json files.
func AddFilenameFlag(cmd *cobra.Command, files *[]string, usage string) {
	cmd.Flags().StringSliceVarP(files, "filename", "f", nil, usage)
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
}

// OutputIs reports whether -o is format.
func OutputIs(flags *genericclioptions.PrintFlags, format string) bool {
	return flags.OutputFormat != nil && *flags.OutputFormat == format
}

// Structured reports whether -o asks for a printer: it is set, and none of
// text, the formats the command prints itself.
func Structured(flags *genericclioptions.PrintFlags, text ...string) bool {
	return flags.OutputFormat != nil && *flags.OutputFormat != "" && !slices.Contains(text, *flags.OutputFormat)
}

// ValidateOutput checks that -o names a format the command prints: one of
// text, or a printer's.
func ValidateOutput(flags *genericclioptions.PrintFlags, text ...string) error {
	if !Structured(flags, text...) {
		return nil
	}
	// Building the printer is the one check that knows "jsonpath=..." forms.
	_, err := flags.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return fmt.Errorf("unknown output format %q: use one of %s", *flags.OutputFormat,
			strings.Join(append(slices.Clone(text), flags.AllowedFormats()...), ", "))
	}
	if err != nil {
		return fmt.Errorf("-o %s: %w", *flags.OutputFormat, err)
	}
	return nil
}

// Printer returns the printer for -o, or nil for text output: no -o, or one
// of the formats in text.
func Printer(flags *genericclioptions.PrintFlags, text ...string) (printers.ResourcePrinter, error) {
	if !Structured(flags, text...) {
		return nil, nil
	}
	return flags.ToPrinter()
}

// PrintList prints a list of argolite objects with p: whole for json and
// yaml, one object at a time for -o name (the name printer takes no list).
// kind is the kind of the items.
func PrintList(p printers.ResourcePrinter, flags *genericclioptions.PrintFlags, list client.ObjectList, kind string, out io.Writer) error {
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	list.GetObjectKind().SetGroupVersionKind(argov1.GroupVersion.WithKind(kind + "List"))
	for _, item := range items {
		item.GetObjectKind().SetGroupVersionKind(argov1.GroupVersion.WithKind(kind))
	}
	if !OutputIs(flags, "name") {
		return p.PrintObj(list, out)
	}
	for _, item := range items {
		if err := p.PrintObj(item, out); err != nil {
			return err
		}
	}
	return nil
}

// WithSelector adds the -l label selector to the options of a List, unless
// it is empty.
func WithSelector(opts []client.ListOption, selector string) ([]client.ListOption, error) {
	if selector == "" {
		return opts, nil
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("-l %q: %w; use a label selector such as team=web or env in (prod,staging)", selector, err)
	}
	return append(opts, client.MatchingLabelsSelector{Selector: sel}), nil
}
