package wf

import (
	"fmt"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// ValidateOutput checks -o, accepting the text formats in text.
func ValidateOutput(flags *genericclioptions.PrintFlags, text ...string) error {
	return validateOutput(flags, text...)
}

// TextOrPrinter is the -o printer, or nil for text output (including the
// text formats in text, such as wide).
func TextOrPrinter(flags *genericclioptions.PrintFlags, text ...string) (printers.ResourcePrinter, error) {
	if flags.OutputFormat != nil && slices.Contains(text, *flags.OutputFormat) {
		return nil, nil
	}
	return cli.ReportPrinter(flags)
}

// PrintList prints a list with p: whole for json and yaml, one object at a
// time for -o name. kind is the kind of the items.
func PrintList(p printers.ResourcePrinter, flags *genericclioptions.PrintFlags, list client.ObjectList, kind string,
	items []client.Object, out io.Writer) error {
	list.GetObjectKind().SetGroupVersionKind(argov1.GroupVersion.WithKind(kind + "List"))
	for _, item := range items {
		item.GetObjectKind().SetGroupVersionKind(argov1.GroupVersion.WithKind(kind))
	}
	if flags.OutputFormat == nil || *flags.OutputFormat != "name" {
		return p.PrintObj(list, out)
	}
	for _, item := range items {
		if err := p.PrintObj(item, out); err != nil {
			return err
		}
	}
	return nil
}

// ParseSelector parses a -l label selector.
func ParseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-l %q: %w; use a label selector such as team=web or env in (prod,staging)", s, err)
	}
	return sel, nil
}
